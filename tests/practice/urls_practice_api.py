"""URLconf for the API tests: the practice router under api/v1/, as the project mounts it."""

from django.urls import include, path

from practice.urls import router

urlpatterns = [path("api/v1/", include(router.urls))]
