"""A local stand-in for the CMS web site: http.server in a thread on 127.0.0.1, serving files from a folder, and
able to misbehave on request. Used by the refresh tests; import ``cms_server`` into a conftest to use the fixture.

Paths:
  /<name>                    the file (a folder: its index.html; a page, HTML, is served as text/html)
  /license/ama?file=/<name>  CMS's AMA licence page: an Accept form (GET, agree=yes) leading to /<name>; a file
                             put with ``gated=True`` is served only with ``agree=yes`` in the query (else 403)
  /status/<code>/<name>      answers <code> (404, 500...) with a short body
  /slow/<seconds>/<name>     waits before answering (a read timeout on the client side)
  /flaky/<n>/<name>          answers 500 to the first n requests for that path, then the file
  /truncated/<name>          promises the whole file (Content-Length) but sends half, then hangs up
  /redirect?to=<address>     answers 302 to that address
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest


class CmsServer:
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits: Counter[str] = Counter()
        self.gated: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):  # noqa: N802
                if self._licence_or_gate():
                    return None
                path = unquote(self.path.split("?", 1)[0])
                server.hits[path] += 1
                parts = path.strip("/").split("/")
                if parts[0] == "redirect":
                    self.send_response(302)
                    self.send_header("Location", parse_qs(urlsplit(self.path).query)["to"][0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                if parts[0] == "status":
                    return self._answer(int(parts[1]), b"no")
                if parts[0] == "slow":
                    time.sleep(float(parts[1]))
                    return self._file("/".join(parts[2:]))
                if parts[0] == "flaky":
                    if server.hits[path] <= int(parts[1]):
                        return self._answer(500, b"try later")
                    return self._file("/".join(parts[2:]))
                if parts[0] == "truncated":
                    data = (server.root / "/".join(parts[1:])).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return None
                return self._file("/".join(parts))

            def _answer(self, code: int, body: bytes):
                self.send_response(code)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _licence_or_gate(self) -> bool:
                """CMS's licence page, or a gated file asked without ``agree=yes``: answered here (True)."""
                path = unquote(self.path.split("?", 1)[0])
                query = parse_qs(urlsplit(self.path).query)
                if path == "/license/ama":
                    server.hits[path] += 1
                    self._licence(query.get("file", [""])[0])
                    return True
                if path.strip("/") in server.gated and query.get("agree") != ["yes"]:
                    server.hits[path] += 1
                    self._answer(403, b"accept the licence first")
                    return True
                return False

            def _licence(self, target: str):
                """The shape of CMS's licence page: two GET forms, Accept (agree=yes) and Don't Accept."""
                from html import escape

                body = (
                    "<!DOCTYPE html><html><body><h1>License for Use of Current Procedural Terminology</h1>"
                    "<p>End user point and click agreement (test copy).</p>"
                    f'<form action="{escape(target)}" style="display: inline;">'
                    '<input type="hidden" name="agree" value="yes">'
                    '<input type="submit" data-license="ama" class="btn" name="next" value="Accept"></form>'
                    '<form action="" style="display: inline;"><input type="hidden" name="ReferURL" value="/">'
                    '<input type="submit" name="Cancel" value="Don\'t Accept"></form></body></html>'
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _file(self, name: str):
                target = server.root / name
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    return self._answer(404, b"not found")
                data = target.read_bytes()
                self.send_response(200)
                html = data[:64].lstrip().lower().startswith(b"<!doctype html")
                self.send_header("Content-Type", "text/html; charset=utf-8" if html else "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.block_on_close = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, name: str, mode: str = "") -> str:
        prefix = f"/{mode.strip('/')}" if mode else ""
        return f"{self.base}{prefix}/{quote(name)}"

    def put(self, name: str, data: bytes | str, *, gated: bool = False) -> Path:
        target = self.root / name.strip("/")
        for parent in reversed(target.relative_to(self.root).parents[:-1]):  # a page with pages under it
            folder = self.root / parent
            if folder.is_file():
                data_before = folder.read_bytes()
                folder.unlink()
                folder.mkdir()
                (folder / "index.html").write_bytes(data_before)
        if target.is_dir():
            target = target / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        if gated:
            self.gated.add(name.strip("/"))
        target.write_bytes(data.encode("latin-1") if isinstance(data, str) else data)
        return target

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


LOOPBACK = "127.0.0.1/32"  # the server's network: downloads refuse it unless REFRESH_ALLOWED_NETWORKS names it


@pytest.fixture
def cms_server(tmp_path, settings):
    """The server, with its loopback address allowed for downloads in this process (a worker process needs
    ``REFRESH_ALLOWED_NETWORKS`` in its environment: see tests/codes/conftest.py)."""
    settings.REFRESH_ALLOWED_NETWORKS = [LOOPBACK]
    server = CmsServer(tmp_path / "www")
    yield server
    server.close()
