"""The refresh runs page in a real browser: live progress while a run works, then the finished run."""

import shutil

import pytest
from django.contrib.auth.models import User

from codes import snapshot as k
from codes.models import RefreshRun

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium"),
    pytest.mark.django_db(transaction=True),
]


def test_the_runs_page_shows_live_progress_and_reloads_when_a_run_ends(live_server, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM beside Playwright's event loop
    User.objects.create_superuser("root", "root@example.org", "pw-for-tests-only")
    run = RefreshRun.objects.create(kind=k.HCPCS, url="http://x/y", status="running", step="download", percent=5)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto(f"{live_server.url}/admin/login/?next=/admin/codes/refreshrun/")
        page.fill("#id_username", "root")
        page.fill("#id_password", "pw-for-tests-only")
        page.click("input[type=submit]")
        cell = page.locator(f'.refresh-progress[data-run="{run.pk}"]')
        assert cell.inner_text() == "download 5%"
        RefreshRun.objects.filter(pk=run.pk).update(step="load", percent=40, progress_note="80,000 rows")
        page.wait_for_function(
            f"document.querySelector('.refresh-progress[data-run=\"{run.pk}\"]').textContent.startsWith('load 40%')",
            timeout=10_000,
        )
        assert cell.inner_text() == "load 40% (80,000 rows)"
        RefreshRun.objects.filter(pk=run.pk).update(status="loaded", step="", percent=None)
        page.wait_for_selector("text=Loaded and in force", timeout=10_000)  # the page reloaded
        browser.close()
