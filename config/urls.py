from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from billing import api as billing_api
from codes import api as codes_api
from config.health import CodeSetHealthView, HealthView
from practice.urls import router as practice_router

router = SimpleRouter()
router.register("claims", billing_api.DraftClaimViewSet, basename="claim")
router.register("checks", billing_api.StoredCheckViewSet, basename="stored-check")
router.register("releases", codes_api.ReleaseViewSet, basename="release")

api_v1 = [
    path("claims/check", billing_api.ClaimCheckView.as_view(), name="claims-check"),
    path("codes/<str:system>/<str:code>", codes_api.CodeLookupView.as_view(), name="code-lookup"),
    *router.urls,
    *practice_router.urls,
]

urlpatterns = [
    path("", include("billing.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # logged-in users only (SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]); a browser without a session goes to log in
    path("api/docs/", login_required(SpectacularSwaggerView.as_view(url_name="schema")), name="api-docs"),
    path("health/", HealthView.as_view(), name="health"),
    path("health/codesets/", CodeSetHealthView.as_view(), name="health-codesets"),
]

handler500 = "config.outage.server_error"  # an outage met outside a view: 503 with a plain message
