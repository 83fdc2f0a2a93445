"""Issue 14 item 2: the refresh reaches only what it is allowed to (file:// under a configured folder, public
addresses unless a network is allowed, checked at connect time and after every redirect), its errors never
echo what a file or a server holds, and refresh runs are for the code-set administrators only."""

import socket
import socketserver
import threading
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from codes import refresh
from codes import snapshot as k
from codes.models import RefreshRun, Source
from codes.refresh import download as fetch
from config.roles import BILLING_STAFF, CODESET_ADMINS, PRACTICE_MANAGERS

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "root:$6$SECRET-HASH-LINE:19000:0:99999:7:::"


@pytest.fixture(autouse=True)
def fast(settings):
    from config.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    settings.REFRESH_RETRY_BACKOFF = 0.01
    settings.REFRESH_DOWNLOAD_ATTEMPTS = 1
    settings.REFRESH_READ_TIMEOUT = 1
    settings.REFRESH_CONNECT_TIMEOUT = 1
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old


# --- addresses ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.9", "private"),
        ("192.168.1.20", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata address
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("224.0.0.251", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),  # shared address space (CGNAT)
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fd12:3456::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"),
        ("::ffff:10.0.0.1", "IPv4-mapped private"),
        ("::ffff:169.254.169.254", "IPv4-mapped link-local"),
        ("64:ff9b::7f00:1", "NAT64-mapped loopback"),
        ("2002:7f00:1::1", r"tunnelled \(6to4 or Teredo\)"),
    ],
)
def test_non_public_addresses_are_refused(address, why, settings):
    settings.REFRESH_ALLOWED_NETWORKS = []
    with pytest.raises(fetch.Refused, match=f"is a {why} address: refused"):
        fetch.check_ip("cms.example", address)


@pytest.mark.parametrize("address", ["8.8.8.8", "151.101.1.1", "2606:4700:4700::1111"])
def test_public_addresses_pass(address, settings):
    settings.REFRESH_ALLOWED_NETWORKS = []
    fetch.check_ip("cms.example", address)  # no exception


def test_an_allowed_network_lets_its_addresses_through_and_no_others(settings):
    settings.REFRESH_ALLOWED_NETWORKS = ["10.2.0.0/16"]
    fetch.check_ip("mirror.internal", "10.2.3.4")
    fetch.check_ip("mirror.internal", "::ffff:10.2.3.4")
    with pytest.raises(fetch.Refused):
        fetch.check_ip("mirror.internal", "10.3.0.1")


def test_the_local_server_is_refused_without_the_setting_and_fetched_with_it(cms_server, settings, tmp_path):
    cms_server.put("HCPC2020_ANWEB_small.txt", "data")
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    settings.REFRESH_ALLOWED_NETWORKS = []
    with pytest.raises(fetch.Refused, match=r"^127\.0\.0\.1 is a loopback address: refused"):
        fetch.download(url, tmp_path)
    assert cms_server.hits["/HCPC2020_ANWEB_small.txt"] == 0  # refused before any request was sent
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert fetch.download(url, tmp_path).path.read_text() == "data"


def test_the_name_is_checked_on_the_address_actually_connected(cms_server, settings, tmp_path, monkeypatch):
    """A name that resolves to an internal address (DNS rebinding: public when asked first, internal when
    connected) is refused at connect time: the resolution that is checked is the one the socket uses."""
    cms_server.put("f.txt", "data")
    port = cms_server.httpd.server_address[1]
    answers = {"cms.example.test": ["127.0.0.1"], "rebind.example.test": ["93.184.216.34", "127.0.0.1"]}
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(fetch.socket, "getaddrinfo", fake)
    settings.REFRESH_ALLOWED_NETWORKS = []
    with pytest.raises(fetch.Refused, match=r"cms\.example\.test \(127\.0\.0\.1\) is a loopback address"):
        fetch.download(f"http://cms.example.test:{port}/f.txt", tmp_path)
    with pytest.raises(fetch.Refused, match=r"rebind\.example\.test \(127\.0\.0\.1\) is a loopback address"):
        fetch.download(f"http://rebind.example.test:{port}/f.txt", tmp_path)
    assert cms_server.hits["/f.txt"] == 0
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    assert fetch.download(f"http://cms.example.test:{port}/f.txt", tmp_path).path.read_text() == "data"


def test_a_redirect_to_an_internal_address_or_a_local_file_is_refused(cms_server, settings, tmp_path):
    cms_server.put("f.txt", "data")
    port = cms_server.httpd.server_address[1]
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the server only, not the rest of loopback
    ok = cms_server.base + "/redirect?to=" + quote(cms_server.url("f.txt"), safe="")
    assert fetch.download(ok, tmp_path).path.read_text() == "data"
    inside = f"http://127.0.0.2:{port}/f.txt"
    with pytest.raises(fetch.Refused, match=r"^127\.0\.0\.2 is a loopback address: refused"):
        fetch.download(cms_server.base + "/redirect?to=" + quote(inside, safe=""), tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    settings.REFRESH_FILE_ROOT = str(tmp_path)  # even where local files are allowed, a redirect cannot reach one
    with pytest.raises(fetch.Refused, match="a redirect may only lead to another https:// or http:// address"):
        fetch.download(cms_server.base + "/redirect?to=" + quote(secret.as_uri(), safe=""), tmp_path / "x")


# --- local files --------------------------------------------------------------------------------------------


def test_local_files_only_under_the_configured_folder(tmp_path, settings):
    root = tmp_path / "codes"
    root.mkdir()
    (root / "GPCI2026.csv").write_text("ok")
    secret = tmp_path / "shadow"
    secret.write_text(SECRET)
    (root / "link.csv").symlink_to(secret)
    out = tmp_path / "out"
    out.mkdir()
    settings.REFRESH_FILE_ROOT = ""
    with pytest.raises(fetch.Refused, match="local files are not fetched here"):
        fetch.download((root / "GPCI2026.csv").as_uri(), out)
    with pytest.raises(fetch.Refused, match="local files are not fetched here"):
        fetch.download("file:///etc/shadow", out)
    settings.REFRESH_FILE_ROOT = str(root)
    assert fetch.download((root / "GPCI2026.csv").as_uri(), out).path.read_text() == "ok"
    for url in [secret.as_uri(), f"{root.as_uri()}/../shadow", (root / "link.csv").as_uri(), "file:///etc/shadow"]:
        with pytest.raises(fetch.Refused, match="outside the folder of local files") as info:
            fetch.download(url, out)
        assert "SECRET" not in str(info.value)
    assert not (out / "shadow").exists() and not (out / "link.csv").exists()


def test_the_admin_refuses_a_source_outside_the_folder(settings, admin_client):
    settings.REFRESH_FILE_ROOT = ""
    page = admin_client.post(
        reverse("admin:codes_source_add"),
        {"name": "bad", "kind": k.GPCI, "url": "file:///etc/shadow", "dates": "file", "schedule": "manual",
         "enabled": "on"},
    )  # fmt: skip
    assert page.status_code == 200 and "local files are not fetched here" in page.content.decode()
    assert not Source.objects.exists()


def test_a_run_from_a_refused_address_fails_without_showing_anything(settings, tmp_path):
    secret = tmp_path / "shadow"
    secret.write_text(SECRET + "\n")
    settings.REFRESH_FILE_ROOT = ""
    run = refresh.enqueue(kind=k.GPCI, url=secret.as_uri())
    run.refresh_from_db()
    assert run.status == "failed" and "local files are not fetched here" in run.error
    assert "SECRET" not in run.error + run.note + run.progress_note


# --- errors never echo contents -----------------------------------------------------------------------------


class _Raw(socketserver.BaseRequestHandler):
    reply = b""

    def handle(self):
        self.request.recv(4096)
        self.request.sendall(self.reply)


@pytest.fixture
def raw_server():
    """A TCP server on loopback answering every connection with ``reply`` (a Redis-like or odd HTTP service)."""
    servers = []

    def start(reply: bytes) -> str:
        handler = type("Handler", (_Raw,), {"reply": reply})
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_errors_name_address_status_and_reason_only(raw_server, settings, tmp_path):
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    not_http = raw_server(f"-ERR {SECRET}\r\n".encode())  # e.g. Redis answering on its port
    with pytest.raises(fetch.TransientError) as info:
        fetch.download(not_http + "/x", tmp_path)
    assert str(info.value) == f"127.0.0.1 did not answer in HTTP (BadStatusLine) for {not_http}/x"
    odd_reason = raw_server(f"HTTP/1.1 403 {SECRET}\r\nContent-Length: 6\r\n\r\nSECRET".encode())
    with pytest.raises(fetch.RefreshError) as info:
        fetch.download(odd_reason + "/x", tmp_path)
    assert str(info.value) == f"the server answered 403 Forbidden for {odd_reason}/x"


def test_a_load_error_names_the_place_not_the_bytes(cms_server):
    cms_server.put("GPCI2026.csv", f"{SECRET}\n{SECRET}\n")
    run = refresh.enqueue(kind=k.GPCI, url=cms_server.url("GPCI2026.csv"))
    run.refresh_from_db()
    assert run.status == "failed" and run.error.startswith("GPCI2026.csv"), run.error
    assert "SECRET" not in run.error and "root" not in run.error


def test_without_contents_keeps_the_place():
    message = "HCPC.txt, line 14, field ADD DT: '2021XX01' is not a date (\"x\")"
    assert fetch.without_contents(message) == "HCPC.txt, line 14, field ADD DT: (a value) is not a date ((a value))"


# --- who sees refresh runs ----------------------------------------------------------------------------------


def _staff(name: str, group: str | None) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.mark.parametrize(("group", "allowed"), [(CODESET_ADMINS, True), (BILLING_STAFF, False),
                                                (PRACTICE_MANAGERS, False)])  # fmt: skip
def test_refresh_runs_are_for_the_code_set_administrators(client, group, allowed):
    run = RefreshRun.objects.create(kind=k.GPCI, url="https://cms.example/x.zip", status="failed", error="404")
    client.force_login(_staff(f"u-{group[:4]}", group))
    pages = [
        reverse("admin:codes_refreshrun_changelist"),
        reverse("admin:codes_refreshrun_change", args=[run.pk]),
        reverse("admin:codes_refreshrun_progress") + f"?ids={run.pk}",
    ]
    for page in pages:
        answer = client.get(page)
        assert (answer.status_code == 200) is allowed, (page, answer.status_code)
        if not allowed:
            assert answer.status_code in (302, 403) and b"cms.example" not in answer.content
    index = client.get(reverse("admin:index")).content.decode()
    assert ("/admin/codes/refreshrun/" in index) is allowed
    assert User.objects.get(username=f"u-{group[:4]}").has_perm("codes.view_refreshrun") is allowed


def test_safe_get_reads_a_page_under_the_same_rules(cms_server, settings, tmp_path):
    cms_server.put("page.html", "<html>x</html>")
    page = fetch.safe_get(cms_server.base + "/redirect?to=" + quote(cms_server.url("page.html"), safe=""))
    assert (page.url, page.body) == (cms_server.url("page.html"), b"<html>x</html>")
    with pytest.raises(fetch.RefreshError, match="over the limit of 5 bytes"):
        fetch.safe_get(cms_server.url("page.html"), max_bytes=5)
    settings.REFRESH_ALLOWED_NETWORKS = []
    with pytest.raises(fetch.Refused, match="loopback address: refused"):
        fetch.safe_get(cms_server.url("page.html"))
    with pytest.raises(fetch.Refused, match="local files are not fetched here"):
        fetch.safe_get("file:///etc/passwd")
