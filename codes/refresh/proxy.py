"""The refresh's connection to a host, through the proxy the environment names (``HTTPS_PROXY``, ``HTTP_PROXY``,
``NO_PROXY``, in either case), as curl and urllib read them.

``http.client`` (the refresh's downloader: streaming, timeouts per phase, redirects checked one by one) does not
read the environment itself; urllib's ``getproxies_environment`` and ``proxy_bypass_environment`` do the reading,
and this module only opens the connection: a CONNECT tunnel for https, an absolute request target for http.
"""

from __future__ import annotations

import base64
import http.client
from collections.abc import Callable
from urllib.parse import SplitResult, unquote, urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment


def proxy_for(parts: SplitResult) -> SplitResult | None:
    """The proxy to use for this address, or None (no proxy set, or the host is in NO_PROXY)."""
    proxies = getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy:
        return None
    host = parts.hostname or ""
    if proxy_bypass_environment(host, proxies):
        return None
    if "://" not in proxy:
        proxy = f"http://{proxy}"
    return urlsplit(proxy)


def _auth(proxy: SplitResult) -> dict[str, str]:
    if proxy.username is None:
        return {}
    token = f"{unquote(proxy.username)}:{unquote(proxy.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(token).decode()}


def _plain(parts: SplitResult, timeout: float) -> http.client.HTTPConnection:
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return conn_class(parts.hostname or "", parts.port, timeout=timeout)


def open_connection(
    parts: SplitResult,
    timeout: float,
    *,
    direct: Callable[[SplitResult, float], http.client.HTTPConnection] = _plain,
    check_destination: Callable[[str, int], None] | None = None,
) -> tuple[http.client.HTTPConnection, bool]:
    """(connection, absolute) for an address; not yet connected. Without a proxy: ``direct(parts, timeout)`` (a
    downloader that checks the address it connects to passes its own connection classes). Through a proxy (the
    administrator's, so not itself checked): ``check_destination(host, port)`` first, then a CONNECT tunnel for
    https, or for plain http a connection to the proxy and ``absolute`` True: the request must then name the
    whole address (``request_target``) and send ``proxy_headers(conn)``."""
    https = parts.scheme == "https"
    proxy = proxy_for(parts)
    if proxy is None:
        return direct(parts, timeout), False
    if check_destination is not None:
        check_destination(parts.hostname or "", parts.port or (443 if https else 80))
    default_port = 443 if proxy.scheme == "https" else 8080
    if https:
        # TLS to the host inside a CONNECT tunnel: HTTPSConnection wraps the tunnelled socket for the host's name
        conn = http.client.HTTPSConnection(proxy.hostname or "", proxy.port or default_port, timeout=timeout)
        conn.set_tunnel(parts.hostname or "", parts.port or 443, headers=_auth(proxy))
        return conn, False
    proxy_class = http.client.HTTPSConnection if proxy.scheme == "https" else http.client.HTTPConnection
    conn = proxy_class(proxy.hostname or "", proxy.port or default_port, timeout=timeout)
    conn._mild_proxy_headers = _auth(proxy)  # noqa: SLF001 (read back by proxy_headers)
    return conn, True


def request_target(parts: SplitResult, absolute: bool) -> str:
    """The request line's target: the path and query, or the whole address (credentials left out) via a proxy."""
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{target}" if absolute else target


def proxy_headers(conn) -> dict[str, str]:
    return dict(getattr(conn, "_mild_proxy_headers", {}))
