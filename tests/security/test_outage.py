"""A database, Redis or broker outage answers 503 with a plain message, never a traceback.

Faults injected: the database cursor raising OperationalError / InterfaceError (API and admin), the database
failing inside a middleware (outside any view), the cache pointed at a closed Redis port, and a task queued to a
broker on a closed port (a real kombu OperationalError)."""

from __future__ import annotations

import contextlib
from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.test import Client, override_settings
from django.urls import include, path

from tests.security.helpers import MODEL_BACKEND, contract_claim

DB_MESSAGE = "The database is unavailable, try again shortly."


@contextlib.contextmanager
def database_down(error=OperationalError):
    """Every query fails from here on, as when the server goes away."""
    message = "server closed the connection unexpectedly"
    with (
        mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=error(message)),
        mock.patch("django.db.backends.utils.CursorWrapper.executemany", side_effect=error(message)),
    ):
        yield


def _assert_plain_503(response, message, service):
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    text = response.content.decode()
    assert "Traceback" not in text and "server closed" not in text and 'File "' not in text
    if response["Content-Type"].startswith("application/json"):
        assert response.json() == {"detail": message, "service": service}
    else:
        assert message in text


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_database_down_on_the_api_is_503_json(world, api_for, error, faults):
    api = api_for("billing")
    with database_down(error):
        _assert_plain_503(api.get("/api/v1/claims/"), DB_MESSAGE, "database")
        _assert_plain_503(api.post("/api/v1/claims/check", contract_claim(), format="json"), DB_MESSAGE, "database")
    faults.extend([f"db {error.__name__} api list", f"db {error.__name__} api check"])
    assert api.get("/api/v1/claims/").status_code == 200  # and back once the database is


def test_database_down_on_an_admin_page_is_a_503_page(world, faults):
    web = Client(raise_request_exception=False)
    web.force_login(world.users["billing"], backend=MODEL_BACKEND)
    with database_down():
        for url in (
            "/admin/",
            "/admin/billing/draftclaim/",
            f"/admin/billing/draftclaim/{world.claims_a[0].pk}/change/",
        ):
            _assert_plain_503(web.get(url), DB_MESSAGE, "database")
            faults.append(f"db admin {url}")
    assert web.get("/admin/billing/draftclaim/").status_code == 200


def test_database_down_during_a_save_keeps_nothing_half_done(world, api_for, faults):
    claim = world.claims_a[0]
    api = api_for("billing")
    lines = [{"number": 1, "code": "0274T", "modifiers": [], "units": 1}]
    with mock.patch("billing.models.ClaimLine.objects.bulk_create", side_effect=OperationalError("gone")):
        response = api.patch(
            f"/api/v1/claims/{claim.pk}/", {"version": 1, "reference": "X", "lines": lines}, format="json"
        )
    _assert_plain_503(response, DB_MESSAGE, "database")
    claim.refresh_from_db()
    assert (claim.reference, claim.version) == ("DEMO-0001", 1)  # the version bump was rolled back with the rest
    assert list(claim.lines.values_list("code", flat=True)) == ["0275T"]
    faults.append("db during claim save")


class FailingMiddleware:
    """A middleware meeting the outage itself (outside any view): handler500 answers."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        raise OperationalError("could not connect to server")


def test_database_down_outside_a_view_is_503_too(world, settings, faults):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.security.test_outage.FailingMiddleware"]
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    _assert_plain_503(client.get("/admin/"), DB_MESSAGE, "database")
    _assert_plain_503(client.get("/api/v1/claims/"), DB_MESSAGE, "database")
    faults.extend(["db in middleware (page)", "db in middleware (api)"])


def test_other_errors_stay_plain_500s(world, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(world.users["billing"], backend=MODEL_BACKEND)
    with mock.patch("billing.api.DraftClaimViewSet.list", side_effect=ValueError("a bug")):
        response = client.get("/api/v1/claims/")
    assert response.status_code == 500 and "a bug" not in response.content.decode()


def test_redis_down_is_503_where_redis_is_needed(world, faults):
    """The cache on a closed Redis port, met by a view that needs it (the API's throttles no longer do: see
    test_throttle_without_redis.py)."""
    closed = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    with override_settings(CACHES=closed, ROOT_URLCONF="tests.security.test_outage"):
        _assert_plain_503(
            Client(raise_request_exception=False).get("/cache-something/", HTTP_ACCEPT="application/json"),
            "The cache (Redis) is unavailable, try again shortly.",
            "redis",
        )
    faults.append("redis closed port (cache)")


def _cache_view(request):
    from django.core.cache import cache

    return JsonResponse({"cached": cache.get("anything")})


# A view that queues a task, on a broker at a closed port.
def _queue_view(request):
    from celery import Celery

    # set_as_current=False: a new app becomes the current one by default, and every @shared_task would then send
    # to this dead broker for the rest of the session (the refresh and upload tests after this one failed so).
    dead = Celery("outage-test", broker="redis://127.0.0.1:1/0", set_as_current=False)
    dead.conf.update(
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        task_publish_retry=False,
        broker_connection_timeout=1,
        redis_socket_connect_timeout=1,
    )
    dead.send_task("billing.nothing", args=[1])
    return JsonResponse({"queued": True})


urlpatterns = [
    path("queue-something/", _queue_view),
    path("cache-something/", _cache_view),
    path("", include("config.urls")),
]


@pytest.mark.urls("tests.security.test_outage")
def test_broker_down_when_queuing_a_task_is_503(world, faults):
    response = Client(raise_request_exception=False).get("/queue-something/", HTTP_ACCEPT="application/json")
    _assert_plain_503(response, "The job queue is unavailable, try again shortly: nothing was queued.", "queue")
    faults.append("broker closed port (kombu)")
