"""API throttles that keep answering when the Redis cache is down.

DRF keeps its throttle histories in the default cache (Redis in production). With Redis down every call would
fail on the throttle (a 503 for calls that need nothing else from Redis). These throttles fall back to a cache in
the process's own memory (``FALLBACK``) while Redis is down: the limits still hold, per worker
process instead of across them, and nothing needing Redis stands between a user and a claim check. Failing open
(no limit at all) would let an outage switch the limits off; a per-process count keeps them, only looser by the
number of processes. Written here because DRF's throttles take one cache and have no fallback.
"""

from __future__ import annotations

import logging
import time
from array import array

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling

from config.outage import service_down

log = logging.getLogger("config.throttling")

RETRY_REDIS_AFTER_SECONDS = 30  # after a failure, the next calls go straight to the fallback for this long
_redis_down_until = 0.0  # per process: a Redis that does not answer is not waited for on every call
FALLBACK = LocMemCache("throttle-fallback", {"MAX_ENTRIES": 10_000})  # this process's counts while Redis is down


class FallbackCacheMixin:
    """allow_request on the default cache; on a Redis outage, the same on the process-local cache."""

    def allow_request(self, request, view):
        global _redis_down_until
        if time.monotonic() >= _redis_down_until:
            self.cache = caches["default"]
            try:
                return super().allow_request(request, view)
            except Exception as exc:
                if service_down(exc) != "redis":
                    raise
                _redis_down_until = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
                log.warning(
                    "throttle %s: Redis unavailable (%s), counting in this process for %d s",
                    self.scope,
                    type(exc).__name__,
                    RETRY_REDIS_AFTER_SECONDS,
                )
        self.cache = FALLBACK
        return super().allow_request(request, view)

    def throttle_success(self):
        """DRF's, with the history kept as an array of floats: the cache pickles it as one block of bytes, where a
        list of floats is pickled float by float (a user's history holds up to the rate's number of requests, and
        was read and written whole twice on every API call). A list read from an older process is converted."""
        if not isinstance(self.history, array):
            self.history = array("d", self.history)
        return super().throttle_success()


def redis_back() -> None:
    """Forget a Redis failure and the counts kept meanwhile (tests): the next call tries Redis again."""
    global _redis_down_until
    _redis_down_until = 0.0
    FALLBACK.clear()


class AnonRateThrottle(FallbackCacheMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(FallbackCacheMixin, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(FallbackCacheMixin, throttling.ScopedRateThrottle):
    pass
