"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

They skip cleanly when /usr/bin/chromium (or the playwright package) is absent. Nothing is downloaded:
`playwright install` is never needed, the system browser is launched by path.
"""

import os
from io import StringIO
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
# Without the background-networking flags Chromium phones home at start-up; on a closed network those
# connections are refused and slow everything down.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def _playwright():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium): browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api")
    # Playwright's sync API keeps an asyncio loop running in this thread; Django refuses ORM calls from a thread
    # with a running loop unless told it is safe (it is: the loop only talks to the browser). Restored after.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_api.sync_playwright() as p:
            yield p
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, transactional_db):
    """A fresh browser context. It asks for the database first so that it is closed first: the context (and any
    request the page still makes, such as a progress poll) ends before pytest-django flushes the tables, which on
    SQLite's shared in-memory database otherwise fails with "database table is locked"."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def demo(live_server):
    """The default data and the demo practice/users, loaded into the live server's (transactional) database;
    pytest-django flushes it after the test."""
    from django.core.management import call_command

    call_command("load_defaults", "--demo", stdout=StringIO())
    return live_server


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where screenshots go (E2E_SCREENSHOTS=dir keeps them, otherwise a pytest tmp dir)."""
    target = Path(os.environ["E2E_SCREENSHOTS"]) if os.environ.get("E2E_SCREENSHOTS") else tmp_path / "shots"
    target.mkdir(parents=True, exist_ok=True)
    return target
