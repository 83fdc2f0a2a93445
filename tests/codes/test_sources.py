"""The shipped sources (CMS's addresses) and reading CMS's download pages, against a local copy of the pages
(tests/codes/cms_site.py on tests/cms_server.py): every kind loads from its page, a second run is unchanged, and
a page without the link, a zip without the member or a record count that disagrees fails and changes nothing."""

from __future__ import annotations

import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO
from urllib.request import ProxyHandler, build_opener

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from codes import kinds
from codes import snapshot as k
from codes.loading import IMPORT_KINDS
from codes.models import RefreshRun, Release, Source
from codes.refresh import download, page_rules, pages, sources
from codes.selectors import clear_cache
from tests.codes.cms_site import build_site, page_html, ptp_links

pytestmark = pytest.mark.django_db(transaction=True)

# Every kind a code set can be imported as, but the licensed cpt and the project's own fixture kinds, is one CMS
# publishes and has a default source: a kind added to codes.loading without one fails the tests below.
PROJECT_KINDS = {k.CPT, k.PROCEDURE_SUMMARIES, k.MODIFIERS, k.POS}
CMS_KINDS = set(IMPORT_KINDS) - PROJECT_KINDS


@pytest.fixture(autouse=True)
def eager(settings, monkeypatch):
    from config.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    settings.REFRESH_RETRY_BACKOFF = 0.05
    settings.REFRESH_DOWNLOAD_ATTEMPTS = 2
    settings.REFRESH_READ_TIMEOUT = 2
    settings.REFRESH_CONNECT_TIMEOUT = 2
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the local CMS copy is on loopback (issue 14's rule)
    settings.WATCHED_CODES = []
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    clear_cache()
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
    clear_cache()


def command(*args) -> list[dict]:
    out = StringIO()
    call_command("refresh_codesets", *args, stdout=out, stderr=StringIO())
    return [json.loads(line) for line in out.getvalue().splitlines()]


def local_sources(site) -> None:
    """The shipped sources, pointed at the local copy of cms.gov (same paths)."""
    sources.ensure_default_sources()
    for source in Source.objects.all():
        source.url = source.url.replace("https://www.cms.gov", site_base(site))
        source.save()


def site_base(site) -> str:
    return site.pages[k.HCPCS].split("/medicare/")[0]


@pytest.fixture
def site(cms_server):
    return build_site(cms_server, timezone.localdate())


# --- The shipped sources -----------------------------------------------------------------------------------


def test_every_cms_kind_has_a_default_source_page_rule_schedule_and_member_names():
    assert {"zip5", "ncci-addon", "icd10cm", "asc"} <= CMS_KINDS and k.CPT not in CMS_KINDS
    assert sorted(d.kind for d in sources.DEFAULT_SOURCES) == sorted(CMS_KINDS)  # each once
    for kind in CMS_KINDS:
        assert kind in page_rules.RULES, kind
        assert kinds.default_schedule(kind) != kinds.MANUAL, kind
        assert kinds.KINDS[kind].members or any(d.member for d in sources.DEFAULT_SOURCES if d.kind == kind)


def test_a_default_source_for_every_kind_but_cpt_once_and_listed():
    created = sources.ensure_default_sources()
    kinds = {s.kind for s in created}
    assert kinds == CMS_KINDS
    assert sources.ensure_default_sources() == []  # idempotent
    assert Source.objects.count() == len(kinds)
    listed = command("--list")
    assert {line["kind"] for line in listed} == kinds
    for line in listed:
        assert line["url"].startswith("https://www.cms.gov/medicare/"), line
        assert line["schedule"] in {"quarterly", "april-october", "yearly"}
    by_kind = {line["kind"]: line for line in listed}
    assert by_kind[k.PFS_RVU]["schedule"] == "quarterly" and by_kind[k.ICD10CM]["schedule"] == "april-october"
    assert by_kind[k.PTP_PRACTITIONER]["url"] == sources.PTP_PAGE
    assert by_kind[k.ZIP5]["schedule"] == by_kind[k.NCCI_ADDON]["schedule"] == "quarterly"
    assert command("--list", "--kind", k.GPCI) == [by_kind[k.GPCI]]
    # a kind whose source the administrator replaced keeps the replacement
    Source.objects.filter(kind=k.HCPCS).delete()
    Source.objects.create(name="our mirror", kind=k.HCPCS, url="https://mirror.example/hcpcs.zip")
    assert sources.ensure_default_sources() == []


def test_load_defaults_ships_the_sources():
    out = StringIO()
    call_command("load_defaults", stdout=out)
    assert Source.objects.filter(url__startswith="https://www.cms.gov/").count() == len(CMS_KINDS)
    assert json.loads(out.getvalue().splitlines()[-2])["sources"] == "ready"


# --- Every kind from its page --------------------------------------------------------------------------------


def test_refresh_all_loads_every_kind_from_the_pages_then_says_unchanged(cms_server, site):
    local_sources(site)
    lines = command("--all", "--wait")
    assert sorted(line["kind"] for line in lines) == sorted(CMS_KINDS)
    failed = [line for line in lines if line["status"] != "loaded"]
    assert failed == []
    today, q = site.on, site.current
    version = f"v{q.year - 1994}.{(q.month - 1) // 3}"
    releases = {r.kind: r for r in Release.objects.filter(status=Release.Status.LOADED)}
    ptp = releases[k.PTP_PRACTITIONER]
    assert ptp.label == f"NCCI PTP practitioner {version} ({q.year} Q{(q.month - 1) // 3 + 1})"
    assert ptp.row_count == site.records[k.PTP_PRACTITIONER] == 8  # the four parts, as the page states
    assert len(ptp.sources) == 4 and ptp.sources[0]["name"].startswith("ccipra-")
    assert releases[k.PTP_HOSPITAL].row_count == 8
    for kind in (k.HCPCS, k.MUE_PRACTITIONER, k.MUE_HOSPITAL, k.PFS_RVU, k.OPPS, k.ASC):
        assert releases[kind].effective_from == q, kind  # the current quarter, not the one before
    assert releases[k.PFS_RVU].sources[0]["name"].endswith("_nonQPP.csv")
    assert releases[k.GPCI].effective_from == date(today.year, 1, 1)
    assert releases[k.LOCALITY].row_count == 3
    icd = releases[k.ICD10CM]
    fiscal_year = today.year + 1 if today.month >= 10 else today.year
    start = date(fiscal_year - 1, 10, 1) if today.month >= 10 or today.month < 4 else date(fiscal_year, 4, 1)
    assert (icd.effective_from, icd.effective_to) == (start, date(fiscal_year, 9, 30))
    assert icd.sources == [
        {"name": f"icd10cm_order_{fiscal_year}.txt", **{x: icd.sources[0][x] for x in ("size", "sha256")}}
    ]
    addon = releases[k.NCCI_ADDON]  # AOC_V2026Q4-F-MCR.txt, not the Excel copy beside it
    assert (addon.effective_from, addon.row_count) == (q, site.records[k.NCCI_ADDON])
    assert addon.sources[0]["name"] == f"AOC_V{q.year}Q{(q.month - 1) // 3 + 1}-F-MCR.txt"
    zips = releases[k.ZIP5]  # the newest posted (its date written with slashes), not ZIP9 or the layout
    assert (zips.effective_from, zips.row_count) == (q, site.records[k.ZIP5])
    assert zips.sources[0]["name"] == f"ZIP5_{q.strftime('%b').upper()}{q.year}.txt"
    # the licence page was shown and accepted for each gated file: 8 PTP parts, the RVU zip x3, OPPS, ASC, AOC
    assert cms_server.hits["/license/ama"] == 8 + 3 + 1 + 1 + 1
    run = RefreshRun.objects.filter(kind=k.PTP_PRACTITIONER).get()
    assert "accepted the AMA licence" in run.note and "-f4.zip" in run.note
    again = command("--all", "--wait")
    assert {line["status"] for line in again} == {"unchanged"}
    assert Release.objects.count() == len(releases)


def test_the_newest_revision_of_the_quarter_wins(cms_server, site):
    local_sources(site)
    html = (cms_server.root / site.pages[k.PTP_PRACTITIONER].split("/", 3)[3]).read_text()
    revised = [(href.replace("r0-f", "r1-f"), text.replace("r0 (", "r1 (")) for href, text, _ in
               ptp_links(cms_server, site.current, "practitioner", "ccipra")]  # fmt: skip
    for href, _ in revised:  # the same parts as revision 1
        old = href.replace("r1-f", "r0-f").split("file=/", 1)[1]
        new = href.split("file=/", 1)[1]
        cms_server.put(new, (cms_server.root / old).read_bytes(), gated=True)
    extra = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in revised)
    cms_server.put(site.pages[k.PTP_PRACTITIONER].split("/", 3)[3], html.replace("</ul>", extra + "</ul>", 1))
    (line,) = command("--kind", k.PTP_PRACTITIONER, "--wait")
    assert line["status"] == "loaded"
    note = RefreshRun.objects.get(kind=k.PTP_PRACTITIONER).note
    assert note.count("r1-f") == 4 + 4 and "r0-f" not in note  # read (4 parts), licence accepted (4 parts)


# --- Bad input: the run fails, names what was wrong, the release in force stays -------------------------------


def page_path(site, kind) -> str:
    return site.pages[kind].split("/", 3)[3]


def test_a_page_without_the_link_fails_naming_page_and_pattern(cms_server, site):
    local_sources(site)
    assert command("--kind", k.HCPCS, "--wait")[0]["status"] == "loaded"
    in_force = Release.objects.get(kind=k.HCPCS, status=Release.Status.LOADED)
    cms_server.put(page_path(site, k.HCPCS), page_html("HCPCS Quarterly Update", [("/files/zip/x.zip", "Other")]))
    with pytest.raises(CommandError, match="1 of 1 refresh runs failed"):
        command("--kind", k.HCPCS, "--wait")
    run = RefreshRun.objects.filter(kind=k.HCPCS).order_by("-id").first()
    assert site.pages[k.HCPCS] in run.error and "'alpha-?numeric-hcpcs'" in run.error
    assert Release.objects.get(kind=k.HCPCS, status=Release.Status.LOADED) == in_force


def test_a_zip_without_the_member_fails_naming_the_pattern(cms_server, site):
    local_sources(site)
    q = site.current
    month = q.strftime("%B")
    path = f"files/zip/{month.lower()}-{q.year}-alpha-numeric-hcpcs-file.zip"
    from tests.codes.cms_site import zipped

    assert command("--kind", k.HCPCS, "--wait")[0]["status"] == "loaded"
    in_force = Release.objects.get(kind=k.HCPCS, status=Release.Status.LOADED)
    cms_server.put(path, zipped({"README.txt": "no data here\r\n"}))
    with pytest.raises(CommandError):
        command("--kind", k.HCPCS, "--wait")
    run = RefreshRun.objects.filter(kind=k.HCPCS).order_by("-id").first()
    assert "no member matching 'HCPC*ANWEB*.txt'" in run.error and "README.txt" in run.error
    assert list(Release.objects.filter(kind=k.HCPCS)) == [in_force] and in_force.status == Release.Status.LOADED


def test_a_record_count_that_disagrees_loads_nothing(cms_server, site):
    local_sources(site)
    html = (cms_server.root / page_path(site, k.PTP_PRACTITIONER)).read_text()
    version = f"v{site.current.year - 1994}{(site.current.month - 1) // 3}r0"
    said = f"Practitioner PTP Edits {version} (2 Records)"
    cms_server.put(page_path(site, k.PTP_PRACTITIONER), html.replace(said, said.replace("(2", "(3"), 1))
    with pytest.raises(CommandError):
        command("--kind", k.PTP_PRACTITIONER, "--wait")
    run = RefreshRun.objects.get(kind=k.PTP_PRACTITIONER)
    # both counts named (by the refresh, or by the loader given expected_rows: issue 14's whole-file checks)
    assert "8 rows" in run.error and "9" in run.error.replace("8 rows", ""), run.error
    assert not Release.objects.filter(kind=k.PTP_PRACTITIONER).exists()  # rolled back, not even held


def test_a_file_link_that_answers_a_page_without_accept_fails_plainly(cms_server, site):
    local_sources(site)
    q = site.current
    quarter, version = f"{q.year}q{(q.month - 1) // 3 + 1}", f"v{q.year - 1994}{(q.month - 1) // 3}r0"
    name = f"medicare-ncci-{quarter}-hospital-ptp-edits-ccioph-{version}-f1.zip"
    cms_server.put(f"files/zip/{name}", page_html("Sign in", []))  # a page where the zip should be
    cms_server.gated.discard(f"files/zip/{name}")
    cms_server.put(page_path(site, k.PTP_HOSPITAL), page_html("PTP", [(f"/files/zip/{name}", "Hospital PTP Edits")]))
    with pytest.raises(CommandError):
        command("--kind", k.PTP_HOSPITAL, "--wait")
    run = RefreshRun.objects.get(kind=k.PTP_HOSPITAL)
    assert run.error == f"the licence page {cms_server.base}/files/zip/{name} has no Accept form leading to the file"
    assert not Release.objects.filter(kind=k.PTP_HOSPITAL).exists()


def test_a_page_cannot_lead_to_a_local_file(cms_server, site, tmp_path):
    local_sources(site)
    secret = tmp_path / "january-2026-alpha-numeric-hcpcs-file.zip"
    secret.write_bytes(b"local")
    cms_server.put(page_path(site, k.HCPCS), page_html("HCPCS", [(secret.as_uri(), "January 2026 HCPCS")]))
    with pytest.raises(CommandError):
        command("--kind", k.HCPCS, "--wait")
    run = RefreshRun.objects.get(kind=k.HCPCS)
    assert run.error.endswith(f"links {secret.as_uri()}: only http or https links are followed from it")


# --- Reading pages (pure) ------------------------------------------------------------------------------------


def test_links_through_the_licence_hop_and_their_periods():
    base = "https://www.cms.gov/medicare/x/ptp"
    html = page_html(
        "PTP",
        [
            ("/license/ama?file=/files/zip/medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f1.zip",
             "Practitioner PTP Edits v322r0 (675,037 Records) 0001A/0591T -- 25441/G0471"),
            ("/license/ama?file=/files/zip//medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f2.zip",
             "Practitioner PTP Edits v322r0 (650,000 Records)"),
            ("/license/ama?file=/files/zip/medicare-ncci-2026q4-practitioner-ptp-edits-ccipra-v323r0-f1.zip",
             "Practitioner PTP Edits v323r0 (1 Records)"),
            ("/files/zip/medicare-ncci-2026q3-practitioner-quarterly-additions-deletions-revisions-ptp.zip", "Delta"),
        ],
    )  # fmt: skip
    links = pages.read_page(html, base).links
    assert links[0].gated and links[0].target == (
        "https://www.cms.gov/files/zip/medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f1.zip"
    )
    assert links[1].name == "medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f2.zip"
    rule = page_rules.RULES[k.PTP_PRACTITIONER]
    choice = pages.choose(links, rule, date(2026, 9, 30), base)
    assert [x.name[-6:] for x in choice.links] == ["f1.zip", "f2.zip"] and choice.start == date(2026, 7, 1)
    assert choice.expected_rows == 1_325_037
    assert pages.choose(links, rule, date(2026, 10, 1), base).start == date(2026, 10, 1)
    with pytest.raises(pages.PageError, match=r"https://www.cms.gov/medicare/x/ptp: no link matching .* 2026-06-30"):
        pages.choose(links, rule, date(2026, 6, 30), base)
    with pytest.raises(pages.PageError, match=r"lacks part\(s\) \[1\]"):
        pages.choose(links[1:2], rule, date(2026, 9, 30), base)


def test_the_zip5_and_addon_rules_on_cms_shaped_links():
    base = "https://www.cms.gov/medicare/payment/fee-schedules"
    html = page_html(
        "Fee Schedules - General Information",
        [
            ("/files/zip/zip-code-carrier-locality-file-revised-08/14/2025.zip", "Zip Code to Carrier Locality File"),
            ("/files/zip/zip-code-carrier-locality-file-revised-02-18-2026.zip", "Zip Code to Carrier Locality File"),
            ("/files/zip/zip-code-carrier-locality-file-end-year-12-01-2025.zip", "End of Year carrier locality"),
        ],
    )
    links = pages.read_page(html, base).links
    rule = page_rules.RULES[k.ZIP5]
    assert links[0].name == "2025.zip"  # the slashes make the date part of the path, not of the name
    choice = pages.choose(links, rule, date(2026, 1, 10), base)  # the end-of-year file is not taken
    assert choice.start == date(2025, 8, 14) and choice.links[0].href.endswith("08/14/2025.zip")
    assert pages.choose(links, rule, date(2026, 2, 18), base).links[0].name.endswith("02-18-2026.zip")
    addon = pages.read_page(
        page_html(
            "Medicare NCCI Add-on Code Edits",
            [
                ("/files/zip/aoc-a.zip", "Add-On Code Edits for Medicare Effective 04012026 (ZIP)"),
                ("/files/zip/aoc-b.zip", "Add-On Code Edits for Medicare Effective 07012026 (ZIP)"),
                ("/files/document/aoc-file-structure.pdf", "Add-on Code Edit File Structure 01012022 (PDF)"),
            ],
        ),
        "https://www.cms.gov/x",
    ).links
    picked = pages.choose(addon, page_rules.RULES[k.NCCI_ADDON], date(2026, 6, 30), "p")
    assert [x.name for x in picked.links] == ["aoc-a.zip"] and picked.start == date(2026, 4, 1)


@pytest.mark.parametrize(
    ("parse", "text", "start"),
    [
        (page_rules.period_ncci, "medicare-ncci-2026-q3-practitioner-services-mue-table.zip", date(2026, 7, 1)),
        (page_rules.period_month, "october-2026-alpha-numeric-hcpcs-file.zip", date(2026, 10, 1)),
        (page_rules.period_month, "cy-2026-april-opps-addendum.zip", date(2026, 4, 1)),
        (page_rules.period_rvu, "rvu26c-updated-06-30-2026.zip", date(2026, 7, 1)),
        (page_rules.period_rvu, "RVU25AR", date(2025, 1, 1)),
        (page_rules.period_icd10, "2027-code-descriptions-tabular-order.zip", date(2026, 10, 1)),
        (page_rules.period_icd10, "april-1-2026-code-descriptions-in-tabular-order.zip", date(2026, 4, 1)),
        (page_rules.period_ncci, "nothing here", None),
        (page_rules.period_addon, "Add-On Code Edits for Medicare Effective 07012026 (ZIP)", date(2026, 7, 1)),
        (page_rules.period_addon, "AOC_V2026Q2-F-MCR.txt", date(2026, 4, 1)),
        (page_rules.period_addon, "Effective July 1, 2026", date(2026, 7, 1)),
        (page_rules.period_posted, "zip-code-carrier-locality-file-revised-02-18-2026.zip", date(2026, 2, 18)),
        (
            page_rules.period_posted,
            "/files/zip/zip-code-carrier-locality-file-revised-08/14/2025.zip",
            date(2025, 8, 14),
        ),
        (page_rules.period_posted, "zip-code-carrier-locality-file-revised-13-45-2026.zip", None),
    ],
)
def test_periods(parse, text, start):
    assert parse(text) == start


def test_the_accept_form_of_the_licence_page():
    html = (
        '<html><body><form action="/files/zip/rvu26d.zip"><input type="hidden" name="agree" value="yes">'
        '<input type="submit" data-license="ama" name="next" value="Accept"></form>'
        '<form action=""><input type="hidden" name="ReferURL" value="/x">'
        '<input type="submit" name="Cancel" value="Don\'t Accept"></form></body></html>'
    )
    url = pages.accept_url(html, "https://www.cms.gov/license/ama?file=/files/zip/rvu26d.zip")
    assert url == "https://www.cms.gov/files/zip/rvu26d.zip?agree=yes&next=Accept"
    with pytest.raises(pages.PageError, match="has no Accept form"):
        pages.accept_url("<html><form action=''><input type=submit value=\"Don't Accept\"></form></html>", "u")


# --- HTTPS_PROXY / HTTP_PROXY --------------------------------------------------------------------------------


class _Proxy:
    """A forward proxy on loopback that records what it was asked: CONNECT (https) is refused with 502, an
    absolute http:// request is fetched and passed on."""

    def __init__(self):
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_CONNECT(self):  # noqa: N802
                proxy.seen.append(f"CONNECT {self.path} {self.headers.get('Proxy-Authorization', '')}")
                self.send_response(502)
                self.end_headers()

            def do_GET(self):  # noqa: N802
                proxy.seen.append(f"GET {self.path}")
                direct = build_opener(ProxyHandler({}))  # not through itself (HTTP_PROXY names this proxy)
                with direct.open(self.path.replace(FAKE_HOST, proxy.upstream), timeout=5) as resp:
                    body = resp.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.upstream = ""
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"


FAKE_HOST = "http://127.0.0.1:2"  # nothing listens there: only the proxy can answer for it


def test_https_proxy_is_used_for_cms_and_http_proxy_for_plain_addresses(cms_server, site, monkeypatch, tmp_path):
    proxy = _Proxy()
    proxy.upstream = cms_server.base
    try:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url.replace("http://", "http://user:pw@"))
        with pytest.raises(download.RefreshError):
            download.download("https://127.0.0.1:1/files/zip/rvu26d.zip", tmp_path, attempts=1)
        assert proxy.seen[0].startswith("CONNECT 127.0.0.1:1 Basic ")  # the tunnel, with the proxy's credentials
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        page = f"{FAKE_HOST}/" + page_path(site, k.HCPCS)
        fetched = download.download(page, tmp_path)
        assert b"Alpha-Numeric HCPCS File" in fetched.path.read_bytes()
        assert proxy.seen[-1] == f"GET {page}"
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with pytest.raises(download.RefreshError):
            download.download(page, tmp_path, attempts=1)  # no proxy: nothing listens on port 2
        assert proxy.seen[-1] == f"GET {page}" and len(proxy.seen) == 2
    finally:
        proxy.httpd.shutdown()
        proxy.httpd.server_close()


def test_a_proxied_destination_is_checked_and_no_proxy_goes_direct(monkeypatch):
    from urllib.parse import urlsplit

    from codes.refresh import proxy as http_proxy

    seen = []
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    conn, absolute = http_proxy.open_connection(
        urlsplit("https://www.cms.gov/files/zip/x.zip"),
        5,
        check_destination=lambda host, port: seen.append((host, port)),
    )
    assert seen == [("www.cms.gov", 443)] and absolute is False
    assert (conn.host, conn.port, conn._tunnel_host, conn._tunnel_port) == ("proxy.internal", 3128, "www.cms.gov", 443)
    monkeypatch.setenv("HTTP_PROXY", "http://u:p@proxy.internal:3128")
    conn, absolute = http_proxy.open_connection(urlsplit("http://cms.test/a?b=1"), 5)
    assert (
        absolute and http_proxy.request_target(urlsplit("http://x:y@cms.test/a?b=1"), True) == "http://cms.test/a?b=1"
    )
    assert http_proxy.proxy_headers(conn) == {"Proxy-Authorization": "Basic dTpw"}
    monkeypatch.setenv("NO_PROXY", ".cms.gov,cms.test")
    direct = http_proxy.open_connection(urlsplit("https://www.cms.gov/x"), 5, direct=lambda parts, timeout: "direct")
    assert direct == ("direct", False) and len(seen) == 1
