"""The client's address behind our trusted reverse proxies (settings.TRUSTED_PROXY_COUNT), for the login lock-out.

Each of our N proxies appends the address it was connected from to X-Forwarded-For, so the N-th entry from the
right is the client's, as our first proxy saw it; anything left of it was written by the client and is ignored
(a stranger cannot choose the address their failures count against). With N = 0, or a request that did not pass
through the proxies (fewer entries than N), the connecting address (REMOTE_ADDR) is the client's. This is DRF's
NUM_PROXIES rule, so the lock-out and the API throttle key on the same address.

Written here rather than through django-ipware (which django-axes can use): ipware's proxy count expects the
proxies' own addresses inside the header, and in strict mode returns no address when the client adds entries,
outside it prefers a public address from anywhere in the header, which a client can write.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return remote
    entries = [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    if len(entries) < proxies:
        return remote
    return _address(entries[-proxies]) or remote
