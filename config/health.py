"""GET /health/: is the service up? JSON, 200 when every check passes, 503 when one fails. No login, no data.

Built on django-health-check 4.x (its checks run concurrently, each with a time limit): the database (SELECT 1),
and when REDIS_URL is set, Redis (PING) and the Celery workers (a broadcast ping with a short timeout; a worker
must serve the default queue). Those decide liveness: a load balancer takes the site out on a 503.

Our own check, ``CodeSetFreshness``, fails when a kind of code set that has been loaded has no release covering
today (``codes.selectors.freshness``): claims of today cannot be fully validated, but the site works and a 503
would take it out of the load balancer for a data problem. So it is a WARNING: on /health/ it shows under
``checks.codesets`` (``"warning: ..."``) and in ``warnings`` without changing the status or the 200; its own
endpoint /health/codesets/ answers ``{"status": "ok" | "warning", "stale": [kinds]}`` (200 either way; 503 only
when the database cannot be read) for monitoring to alert on.

The library's view answers 500 and names each check by its ``repr`` (host and port included); this one answers
503 and names checks by a fixed word, with the library's generic error text only: no host, no address, no
exception detail, no claim or user data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.checks import Database
from health_check.contrib.celery import Ping
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView

CELERY_PING_TIMEOUT = datetime.timedelta(seconds=1)


# Database work runs in the request's own thread (thread_sensitive), on its usual connection: no connection is left
# open in a pool thread, and a test's transaction is the one looked at.


@dataclasses.dataclass
class DatabaseCheck(Database):
    """SELECT 1 on the default database."""

    async def run(self):
        await sync_to_async(super().run, thread_sensitive=True)()


@dataclasses.dataclass
class CodeSetFreshness(HealthCheck):
    """Every kind of code set that was ever loaded has a release in force today."""

    async def run(self):
        stale = await sync_to_async(_stale_kinds, thread_sensitive=True)()
        if stale:
            raise ServiceUnavailable(f"no release in force today for: {', '.join(stale)}")


def _stale_kinds() -> list[str]:
    from codes.selectors import freshness

    return [row["kind"] for row in freshness(timezone.localdate()) if row["stale"]]


def _redis_client():
    from redis.asyncio import Redis as RedisClient

    return RedisClient.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)


NON_CRITICAL = frozenset({"codesets"})  # reported as a warning, never a 503


def configured_checks() -> list[tuple[str, HealthCheck]]:
    """(name, check) for this configuration: Redis and Celery only when REDIS_URL is set."""
    checks: list[tuple[str, HealthCheck]] = [("database", DatabaseCheck()), ("codesets", CodeSetFreshness())]
    if settings.REDIS_URL:
        from config.celery import app

        checks += [
            ("redis", Redis(client_factory=_redis_client)),
            ("celery", Ping(app=app, timeout=CELERY_PING_TIMEOUT)),
        ]
    return checks


class HealthView(HealthCheckView):
    """Always JSON: ``{"status": "ok" | "unavailable", "checks": {name: "ok" | "<why not>"}}``."""

    async def get(self, request, *args, **kwargs):
        named = configured_checks()
        with self.get_executor() as executor:
            results = await asyncio.gather(*(check.get_result(executor) for _, check in named))
        checks, warnings, healthy = {}, [], True
        for (name, _), result in zip(named, results):
            if result.error is None:
                checks[name] = "ok"
            elif name in NON_CRITICAL:
                checks[name] = f"warning: {_reason(result.error)}"
                warnings.append(name)
            else:
                checks[name] = str(result.error)
                healthy = False
        body = {"status": "ok" if healthy else "unavailable", "checks": checks}
        if warnings:
            body["warnings"] = warnings
        return JsonResponse(body, status=200 if healthy else 503)


def _reason(error) -> str:
    """The check's own words, without the library's "Unavailable: " prefix."""
    return str(getattr(error, "message", "") or error).removeprefix("Unavailable: ")


class CodeSetHealthView(HealthCheckView):
    """GET /health/codesets/: ``{"status": "ok" | "warning", "stale": [kinds]}``, 200; 503 when unreadable."""

    async def get(self, request, *args, **kwargs):
        try:
            stale = await sync_to_async(_stale_kinds, thread_sensitive=True)()
        except Exception:  # the database is down: say so without details (the main /health/ names it)
            return JsonResponse({"status": "unavailable", "stale": None}, status=503)
        return JsonResponse({"status": "warning" if stale else "ok", "stale": stale}, status=200)
