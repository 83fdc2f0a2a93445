"""Downloads for the code-set refreshes, made safe: what may be fetched, from where, and what an error may say.

Every fetch of the project goes through here (``download`` for files, ``safe_get`` for a page; the refresh and
the CMS page reader call them), so the rules hold in one place:

- ``file://`` only under the folder of the setting ``REFRESH_FILE_ROOT`` (empty: no local files at all), after
  resolving links, so ``file:///etc/shadow`` or ``file:///srv/codes/../../etc/shadow`` is refused.
- ``http(s)://`` only to public addresses: loopback, private, link-local, unspecified, multicast, reserved,
  shared (CGNAT) and IPv4-mapped IPv6 forms of those are refused unless the address is in a network of the
  setting ``REFRESH_ALLOWED_NETWORKS`` (e.g. ``["10.2.0.0/16"]`` for an internal mirror; tests name
  ``127.0.0.1/32`` for their local server). The check is made on the address actually connected to: the host
  name is resolved once, every address it gives is checked, and the socket is opened to that very address (a
  DNS answer that changes between a check and the connection cannot slip through), and again for every redirect.
- Errors name the address, the HTTP status and its standard reason phrase, or the kind of network failure:
  never bytes the server or the file sent (a non-HTTP service answering on a port, a reason phrase of the
  server's own, a file's first line).

Hand-written on top of ``http.client`` because no kept library checks the connected address (``requests`` and
``urllib3`` resolve inside their connection pools); ``ipaddress`` classifies the addresses.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

from django.conf import settings

from codes.refresh.proxy import open_connection, proxy_headers, request_target

log = logging.getLogger(__name__)

CHUNK = 1 << 20
MAX_REDIRECTS = 5
USER_AGENT = "mild-billing-helper/1 (code-set refresh)"
REDIRECTS = (301, 302, 303, 307, 308)


class RefreshError(Exception):
    """A refresh step failed; the message is for people (what happened, where)."""


class TransientError(RefreshError):
    """Worth another try: no connection, a timeout, a 5xx answer, a transfer cut short."""


class Refused(RefreshError):
    """The address may not be fetched: a local file outside the configured folder, or a non-public address."""


@dataclass(frozen=True)
class Fetched:
    path: Path  # where it is on disk (a temporary folder)
    name: str  # its name at the source: the address's last part or the zip member's name
    size: int


@dataclass(frozen=True)
class Page:
    """What ``safe_get`` read: the address it ended at (after redirects), the content type and the body."""

    url: str
    content_type: str
    body: bytes


# --- What may be fetched ------------------------------------------------------------------------------------


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in getattr(settings, "REFRESH_ALLOWED_NETWORKS", []) or []]


def non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public one ("loopback", "private"...), or None when it is public."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            why = non_public(ip.ipv4_mapped)
            return f"IPv4-mapped {why}" if why else None
        if ip.sixtofour is not None or ip.teredo is not None:
            return "tunnelled (6to4 or Teredo)"
        if ip in NAT64:  # 64:ff9b::a.b.c.d reaches a.b.c.d through a NAT64 gateway
            why = non_public(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"NAT64-mapped {why}" if why else None
    checks = [
        ("unspecified", ip.is_unspecified),
        ("loopback", ip.is_loopback),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("private", ip.is_private),
        ("non-public", not ip.is_global),
    ]
    return next((name for name, hit in checks if hit), None)


def check_ip(host: str, address: str) -> None:
    """Refuse ``address`` (what ``host`` resolved to) unless it is public or in an allowed network."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    why = non_public(ip)
    if why is None:
        return
    if any(ip in net or (getattr(ip, "ipv4_mapped", None) or ip) in net for net in allowed_networks()):
        return
    shown = host if host == address else f"{host} ({address})"
    raise Refused(
        f"{shown} is a {why} address: refused (downloads reach public addresses only; an administrator can "
        "allow a network with the setting REFRESH_ALLOWED_NETWORKS)"
    )


def _connect_checked(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):  # noqa: SLF001
    """``socket.create_connection`` that resolves once, checks every address, and connects to a checked one."""
    host, port = address
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"the name {host} could not be resolved ({exc.strerror})") from None
    for *_, sockaddr in infos:
        check_ip(host, sockaddr[0])  # every address the name gives: no mix of a public and an internal one
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # noqa: SLF001
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            check_ip(host, sock.getpeername()[0])  # the address actually connected to
            return sock
        except Refused:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"no address for {host}")


class _CheckedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_checked


class _CheckedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._create_connection = _connect_checked


def file_root() -> Path | None:
    root = getattr(settings, "REFRESH_FILE_ROOT", "") or ""
    return Path(root).resolve() if str(root).strip() else None


def local_path(url: str) -> Path:
    """The file a ``file://`` address names, when it lies under ``REFRESH_FILE_ROOT`` (links resolved)."""
    parts = urlsplit(url)
    root = file_root()
    if root is None:
        raise Refused(f"{url}: local files are not fetched here (an administrator can name a folder for them "
                      "with the setting REFRESH_FILE_ROOT)")  # fmt: skip
    if parts.netloc not in ("", "localhost"):
        raise Refused(f"{url}: a file:// address names no host")
    path = Path(url2pathname(parts.path)).resolve()
    if not path.is_relative_to(root):
        raise Refused(f"{url}: outside the folder of local files (REFRESH_FILE_ROOT): refused")
    return path


def check_url(url: str) -> str:
    """The scheme of an address that may be fetched (``file``, ``http``, ``https``); Refused otherwise. Only what
    can be said without a connection: the addresses of a host are checked when connecting."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "file":
        local_path(url)
    elif scheme not in ("http", "https"):
        raise Refused(f"{url}: only https://, http:// and file:// addresses can be fetched")
    elif not urlsplit(url).hostname:
        raise Refused(f"{url}: the address names no host")
    return scheme


# --- HTTP ---------------------------------------------------------------------------------------------------


def _answer(status: int, url: str) -> str:
    try:
        phrase = HTTPStatus(status).phrase  # the standard phrase, not the server's own words
    except ValueError:
        phrase = "(non-standard status)"
    return f"the server answered {status} {phrase} for {url}"


def _connection(parts, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """The (not yet connected) connection for an address: the checked classes above, so the address the socket
    reaches is the one checked. A proxy, when one is added, is the one place to change: the proxy is the
    administrator's; the destination's addresses are then checked with ``socket.getaddrinfo`` + ``check_ip``."""

    def direct(parts, timeout):
        conn_class = _CheckedHTTPSConnection if parts.scheme.lower() == "https" else _CheckedHTTPConnection
        return conn_class(parts.hostname or "", parts.port, timeout=timeout)

    def check_destination(host: str, port: int) -> None:
        try:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise OSError(f"the name {host} could not be resolved ({exc.strerror})") from None
        for *_, sockaddr in infos:
            check_ip(host, sockaddr[0])

    return open_connection(parts, timeout, direct=direct, check_destination=check_destination)


@contextmanager
def open_http(url: str, connect_timeout: float, read_timeout: float) -> Iterator[tuple[str, http.client.HTTPResponse]]:
    """Follow redirects (each hop checked like the first) to a 200 answer: yields (final address, response)."""
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https"):
            raise Refused(f"{url}: a redirect may only lead to another https:// or http:// address")
        host = parts.hostname or ""
        try:
            conn, absolute = _connection(parts, connect_timeout)
        except OSError as exc:  # the destination checked before a proxy: its name did not resolve
            raise TransientError(f"could not connect to {host} ({exc.strerror or exc}) for {url}") from None
        try:
            try:
                conn.connect()
            except Refused:
                raise
            except TimeoutError:
                raise TransientError(f"no connection to {host} within {connect_timeout:g} s ({url})") from None
            except ssl.SSLError as exc:
                raise RefreshError(f"the secure connection to {host} failed: {exc.reason or 'TLS error'}") from None
            except OSError as exc:
                raise TransientError(f"could not connect to {host} ({exc.strerror or exc}) for {url}") from None
            conn.sock.settimeout(read_timeout)
            target = request_target(parts, absolute)
            try:
                conn.request("GET", target, headers={"User-Agent": USER_AGENT, **proxy_headers(conn)})
                resp = conn.getresponse()
            except TimeoutError:
                raise TransientError(f"{host} did not answer within {read_timeout:g} s ({url})") from None
            except http.client.HTTPException as exc:  # its text may quote what the server sent: name the kind only
                raise TransientError(f"{host} did not answer in HTTP ({type(exc).__name__}) for {url}") from None
            except OSError as exc:
                raise TransientError(f"the connection to {host} failed ({exc.strerror or type(exc).__name__}) "
                                     f"for {url}") from None  # fmt: skip
            if resp.status in REDIRECTS and resp.getheader("Location"):
                url = urljoin(url, resp.getheader("Location"))
                continue
            if resp.status >= 500 or resp.status == 429:
                raise TransientError(_answer(resp.status, url))
            if resp.status != 200:
                raise RefreshError(_answer(resp.status, url))
            yield url, resp
            return
        finally:
            conn.close()
    raise RefreshError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _retrying(fetch: Callable[[], object], attempts: int, backoff: float):
    for attempt in range(1, attempts + 1):
        try:
            return fetch()
        except TransientError as exc:
            if attempt == attempts:
                tries = f" (tried {attempts} times)" if attempts > 1 else ""
                raise TransientError(f"{exc}{tries}") from None
            wait = backoff * 2 ** (attempt - 1)
            log.warning("download attempt %d failed, again in %.1fs: %s", attempt, wait, exc)
            time.sleep(wait)
    raise AssertionError("unreachable")


def _options(connect_timeout, read_timeout, attempts, backoff):
    return (
        connect_timeout or settings.REFRESH_CONNECT_TIMEOUT,
        read_timeout or settings.REFRESH_READ_TIMEOUT,
        max(1, attempts or settings.REFRESH_DOWNLOAD_ATTEMPTS),
        settings.REFRESH_RETRY_BACKOFF if backoff is None else backoff,
    )


# --- Files --------------------------------------------------------------------------------------------------


def file_name(url: str, disposition: str | None) -> str:
    """The file's name: from Content-Disposition, else the address's last part; never a path."""
    name = ""
    if disposition:
        match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", disposition, re.I)
        if match:
            name = Path(unquote(match[1]).replace("\\", "/")).name
    name = name or Path(unquote(urlsplit(url).path)).name
    return name if name not in ("", ".", "..") else "download"


def _copy(src, target: Path, url: str, total: int | None, max_bytes: int, progress) -> int:
    done = 0
    with open(target, "wb") as dst:
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            done += len(chunk)
            if done > max_bytes:
                raise RefreshError(f"{url} sent more than the limit of {max_bytes:,} bytes: stopped")
            dst.write(chunk)
            if progress:
                progress(done, total)
    return done


def _fetch_file_url(url: str, dest: Path, max_bytes: int, progress) -> Fetched:
    path = local_path(url)
    if not path.is_file():
        raise RefreshError(f"there is no file at {url}")
    size = path.stat().st_size
    if size > max_bytes:
        raise RefreshError(f"{url} is {size:,} bytes, over the limit of {max_bytes:,}")
    target = dest / path.name
    with open(path, "rb") as src:
        done = _copy(src, target, url, size, max_bytes, progress)
    return Fetched(target, path.name, done)


def _fetch_http_once(url: str, dest: Path, max_bytes: int, connect_timeout: float, read_timeout: float, progress):
    with open_http(url, connect_timeout, read_timeout) as (url, resp):
        host = urlsplit(url).hostname
        length = resp.getheader("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise RefreshError(f"{url} is {total:,} bytes, over the limit of {max_bytes:,}")
        name = file_name(url, resp.getheader("Content-Disposition"))
        try:
            done = _copy(resp, dest / name, url, total, max_bytes, progress)
        except TimeoutError:
            raise TransientError(f"{host} stopped sending for {read_timeout:g} s ({url})") from None
        except (OSError, http.client.HTTPException) as exc:
            raise TransientError(f"the download of {url} was cut off ({type(exc).__name__})") from None
        if total is not None and done != total:
            raise TransientError(f"the download of {url} stopped after {done:,} of {total:,} bytes")
        return Fetched(dest / name, name, done)


def download(
    url: str,
    dest: str | Path,
    *,
    progress: Callable[[int, int | None], None] | None = None,
    max_bytes: int | None = None,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    attempts: int | None = None,
    backoff: float | None = None,
) -> Fetched:
    """Stream ``url`` (https, http or file, as allowed above) into ``dest``, named as at the source. Connection
    failures, timeouts and 5xx answers are tried again (``attempts`` in all, waiting ``backoff`` seconds, doubled
    each time); a 4xx answer and a refused address are final. Raises RefreshError in plain words."""
    dest = Path(dest)
    max_bytes = max_bytes or settings.REFRESH_MAX_BYTES
    if check_url(url) == "file":
        return _fetch_file_url(url, dest, max_bytes, progress)
    connect_timeout, read_timeout, attempts, backoff = _options(connect_timeout, read_timeout, attempts, backoff)
    return _retrying(
        lambda: _fetch_http_once(url, dest, max_bytes, connect_timeout, read_timeout, progress), attempts, backoff
    )


def safe_get(
    url: str,
    *,
    max_bytes: int = 5 * 1024 * 1024,
    connect_timeout: float | None = None,
    read_timeout: float | None = None,
    attempts: int | None = None,
    backoff: float | None = None,
) -> Page:
    """A small document (a download page) read into memory under the same rules as ``download``: at most
    ``max_bytes``, retried on transient failures. ``file://`` addresses under ``REFRESH_FILE_ROOT`` too."""
    if check_url(url) == "file":
        path = local_path(url)
        if not path.is_file():
            raise RefreshError(f"there is no file at {url}")
        if path.stat().st_size > max_bytes:
            raise RefreshError(f"{url} is over the limit of {max_bytes:,} bytes")
        return Page(url, "", path.read_bytes())
    connect_timeout, read_timeout, attempts, backoff = _options(connect_timeout, read_timeout, attempts, backoff)

    def once() -> Page:
        with open_http(url, connect_timeout, read_timeout) as (final, resp):
            try:
                body = resp.read(max_bytes + 1)
            except TimeoutError:
                raise TransientError(f"{urlsplit(final).hostname} stopped sending ({final})") from None
            except (OSError, http.client.HTTPException) as exc:
                raise TransientError(f"the download of {final} was cut off ({type(exc).__name__})") from None
            if len(body) > max_bytes:
                raise RefreshError(f"{final} is over the limit of {max_bytes:,} bytes")
            return Page(final, resp.getheader("Content-Type") or "", body)

    return _retrying(once, attempts, backoff)


# --- Errors of the later steps ------------------------------------------------------------------------------

_QUOTED = re.compile(r"""(?<![\w])(?:'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")""")


def without_contents(message: str) -> str:
    """A load error with the quoted values taken out: it keeps the file, line and field (where to look) but
    not the file's bytes (which may be anything an address answered)."""
    return _QUOTED.sub("(a value)", message)
