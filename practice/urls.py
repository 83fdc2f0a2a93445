"""API routes of the practice app. The project mounts ``router.urls`` under ``api/v1/``."""

from rest_framework.routers import SimpleRouter

from practice import api

router = SimpleRouter()
router.register("payers", api.PayerViewSet, basename="payer")
router.register("payer-rules", api.PayerRuleViewSet, basename="payer-rule")
router.register("procedure-profiles", api.ProcedureProfileViewSet, basename="procedure-profile")

urlpatterns = router.urls
