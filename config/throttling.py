"""API throttles that keep answering when the Redis cache is down.

DRF keeps its throttle histories in the default cache (Redis in production). With Redis down every call would
fail on the throttle (a 503 for calls that need nothing else from Redis). These throttles fall back to a cache in
the process's own memory (``THROTTLE_FALLBACK_CACHE``) while Redis is down: the limits still hold, per worker
process instead of across them, and nothing needing Redis stands between a user and a claim check. Failing open
(no limit at all) would let an outage switch the limits off; a per-process count keeps them, only looser by the
number of processes. Written here because DRF's throttles take one cache and have no fallback.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling

from config.outage import service_down

log = logging.getLogger("config.throttling")


class FallbackCacheMixin:
    """allow_request on the default cache; on a Redis outage, the same on the process-local cache."""

    def allow_request(self, request, view):
        self.cache = caches["default"]
        try:
            return super().allow_request(request, view)
        except Exception as exc:
            if service_down(exc) != "redis":
                raise
            log.warning("throttle %s: Redis unavailable (%s), counting in this process", self.scope, type(exc).__name__)
            self.cache = caches[settings.THROTTLE_FALLBACK_CACHE]
            return super().allow_request(request, view)


class AnonRateThrottle(FallbackCacheMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FallbackCacheMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FallbackCacheMixin, throttling.ScopedRateThrottle):
    pass
