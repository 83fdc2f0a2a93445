"""The code-set administrator's first page in a real browser: every kind of code set with its state and source, and
"Fetch now", which queues a refresh from CMS's page (a local copy, tests/codes/cms_site.py) without holding the page;
the row says "in force" once the run has loaded the current quarter."""

import pytest

from tests.cms_server import cms_server  # noqa: F401
from tests.e2e.pages import login, submit

pytestmark = pytest.mark.e2e


def test_the_administrator_sees_every_kind_and_fetches_hcpcs_now(page, demo, cms_server, settings, shots):  # noqa: F811
    from django.utils import timezone
    from playwright.sync_api import expect

    from codes import refresh
    from codes import snapshot as k
    from codes.models import RefreshRun, Source
    from tests.codes.cms_site import build_site

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("the embedded default's in-process run (a real worker keeps its own short test timeouts)")
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the local copy of cms.gov is on loopback
    settings.REFRESH_READ_TIMEOUT = 30
    settings.EAGER_JOBS_IN_THREADS = True  # as outside the tests (config.background): the fetch goes to a thread
    site = build_site(cms_server, timezone.localdate())
    source = Source.objects.get(kind=k.HCPCS)
    assert source.url.startswith("https://www.cms.gov/")  # shipped by load_defaults
    source.url = cms_server.url(site.pages[k.HCPCS].split("/", 3)[3], mode="slow/8")  # CMS takes its time
    source.save()

    login(page, demo.url, "admin")
    table = page.locator("#coding-status")
    expect(table).to_contain_text("Coding held today")
    for label in k.KIND_LABELS.values():
        expect(table).to_contain_text(label)
    row = page.locator(f"tr.coding-{k.HCPCS}")
    expect(row).to_have_attribute("data-state", "never loaded")
    expect(page.locator(f"tr.coding-{k.ASC} input[value='Fetch now']")).to_have_count(1)
    expect(page.locator(f"tr.coding-{k.CPT}")).to_contain_text("licensed AMA file")
    page.screenshot(path=str(shots / "coding-status.png"), full_page=True)

    submit(page, f"tr.coding-{k.HCPCS} input[value='Fetch now']")
    run = RefreshRun.objects.get(source=source)
    # the page answered before the 8-second download was over (a state, not a clock: a busy machine is slow)
    assert run.status in ("queued", "running"), run.status
    expect(page.locator("ul.messagelist")).to_contain_text(f"queued as run #{run.pk}")
    (run,) = refresh.wait_for([run.pk], timeout=60)
    assert run.status == "loaded", run.error
    page.reload()
    expect(page.locator(f"tr.coding-{k.HCPCS}")).to_have_attribute("data-state", "in force")
    expect(page.locator(f"tr.coding-{k.HCPCS}")).to_contain_text(f"#{run.pk}")
