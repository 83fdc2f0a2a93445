"""A database, Redis or broker outage answers 503 with a plain message, never a traceback.

``ServiceUnavailableMiddleware`` turns the outage errors a view raises (django.db OperationalError and
InterfaceError, redis ConnectionError and TimeoutError, kombu OperationalError when queuing a task) into a 503:
JSON ``{"detail": ..., "service": ...}`` for the API (or a client asking for JSON), a small HTML page otherwise,
with ``Retry-After``. ``server_error`` (the project's handler500) does the same for an outage raised outside a
view (in a middleware), and is Django's plain 500 page for anything else. The log line names the service, the
error's class and the path only.
"""

from __future__ import annotations

import logging
import sys

from django import db
from django.http import HttpResponse, JsonResponse
from django.utils.html import escape
from django.views import defaults

log = logging.getLogger("config.outage")

RETRY_AFTER_SECONDS = 30
MESSAGES = {
    "database": "The database is unavailable, try again shortly.",
    "redis": "The cache (Redis) is unavailable, try again shortly.",
    "queue": "The job queue is unavailable, try again shortly: nothing was queued.",
    "queue-saved": "The job queue is unavailable: your job was saved and starts by itself when the queue is back.",
}


def _outage_errors() -> list[tuple[type[BaseException], str]]:
    from config.jobs import JobNotQueued  # before kombu's OperationalError, its base

    errors: list[tuple[type[BaseException], str]] = [
        (JobNotQueued, "queue-saved"),
        (db.OperationalError, "database"),
        (db.InterfaceError, "database"),
    ]
    try:
        from kombu.exceptions import OperationalError as KombuOperationalError

        errors.append((KombuOperationalError, "queue"))
    except ImportError:  # pragma: no cover (kombu comes with celery)
        pass
    try:
        from redis import exceptions as redis_exceptions

        errors += [(redis_exceptions.ConnectionError, "redis"), (redis_exceptions.TimeoutError, "redis")]
    except ImportError:  # pragma: no cover (redis is a requirement)
        pass
    return errors


OUTAGE_ERRORS = _outage_errors()


def service_down(exc: BaseException | None) -> str | None:
    """Which service an exception says is down ("database", "redis", "queue"), or None."""
    for error_class, service in OUTAGE_ERRORS:
        if isinstance(exc, error_class):
            return service
    return None


def wants_json(request) -> bool:
    accept = request.headers.get("accept", "")
    return request.path.startswith("/api/") or "application/json" in accept


def unavailable_response(request, service: str):
    message = MESSAGES[service]
    if wants_json(request):
        response = JsonResponse({"detail": message, "service": service}, status=503)
    else:
        # No template and no context processor: rendering must not need the service that is down.
        response = HttpResponse(
            "<!doctype html><html><head><title>Service unavailable</title></head>"
            f"<body><h1>Service unavailable</h1><p>{escape(message)}</p></body></html>",
            status=503,
        )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _log(request, service: str, exc: BaseException) -> None:
    log.error("%s unavailable (%s) on %s %s", service, type(exc).__name__, request.method, request.path)


class ServiceUnavailableMiddleware:
    """503 with a plain message when a view meets a database, Redis or broker outage."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        service = service_down(exception)
        if service is None:
            return None
        _log(request, service, exception)
        return unavailable_response(request, service)


def server_error(request, *args, **kwargs):
    """handler500: an outage raised outside a view is a 503 too; anything else is Django's plain 500 page."""
    exc = sys.exc_info()[1]
    service = service_down(exc)
    if service is not None:
        _log(request, service, exc)
        return unavailable_response(request, service)
    return defaults.server_error(request, *args, **kwargs)
