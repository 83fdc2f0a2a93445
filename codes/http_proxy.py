"""The refresh's connection to a host, through the proxy the environment names (``HTTPS_PROXY``, ``HTTP_PROXY``,
``NO_PROXY``, in either case), as curl and urllib read them.

``http.client`` (the refresh's downloader: streaming, timeouts per phase, redirects checked one by one) does not
read the environment itself; urllib's ``getproxies_environment`` and ``proxy_bypass_environment`` do the reading,
and this module only opens the connection: a CONNECT tunnel for https, an absolute request target for http.
"""

from __future__ import annotations

import base64
import http.client
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


def open_connection(parts: SplitResult, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """(connection, absolute): ``absolute`` is True when the request must name the whole URL (plain http through a
    proxy). The connection is not yet connected."""
    https = parts.scheme == "https"
    proxy = proxy_for(parts)
    if proxy is None:
        conn_class = http.client.HTTPSConnection if https else http.client.HTTPConnection
        return conn_class(parts.hostname or "", parts.port, timeout=timeout), False
    proxy_class = http.client.HTTPSConnection if proxy.scheme == "https" else http.client.HTTPConnection
    default_port = 443 if proxy.scheme == "https" else 8080
    if https:
        # TLS to the host inside a CONNECT tunnel: HTTPSConnection wraps the tunnelled socket for the host's name
        conn = http.client.HTTPSConnection(proxy.hostname or "", proxy.port or default_port, timeout=timeout)
        conn.set_tunnel(parts.hostname or "", parts.port or 443, headers=_auth(proxy))
        return conn, False
    conn = proxy_class(proxy.hostname or "", proxy.port or default_port, timeout=timeout)
    conn._mild_proxy_headers = _auth(proxy)  # sent with the request (see codes.refresh)
    return conn, True
