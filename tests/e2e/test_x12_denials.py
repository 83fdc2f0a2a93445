"""X12 in a real browser: the biller uploads the 837P and the payer's 835 in the admin; the practice manager
opens the denial report from the claim payments and sees the trial-number denial mapped to the rule that had
said so before the claim went out, then downloads the workbook."""

import pytest

from tests.billing.downloads_data import workbook
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.billing.x12.x12_data import DATA, ROUND_TRIP_837, load_ptp, x12_practice
from tests.e2e.pages import login

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager_celery")]


def _upload(page, base, path):
    from playwright.sync_api import expect

    page.goto(f"{base}/admin/billing/x12upload/add/")
    page.set_input_files("#id_file", str(path))
    page.locator("input[name=_save]").click()
    row = page.locator("#result_list tbody tr", has_text=path.name)
    expect(row).to_contain_text("Done")
    return row


def test_biller_uploads_x12_and_manager_reads_the_denials(page, demo, shots, tmp_path):
    from playwright.sync_api import expect

    x12_practice()
    load_ptp(tmp_path)
    base = demo.url
    login(page, base, "billing")
    claims = _upload(page, base, ROUND_TRIP_837)
    expect(claims).to_contain_text("2 error")
    remit = _upload(page, base, DATA / "835_mild_denial.txt")
    expect(remit).to_contain_text("1 unmatched")
    page.screenshot(path=shots / "x12-uploads.png", full_page=True)

    page.context.clear_cookies()
    login(page, base, "manager")
    page.goto(f"{base}/admin/billing/claimpayment/?matched=no")
    expect(page.locator("#result_list")).to_contain_text("OTHER-0099")
    page.locator("#denial-report-link").click()
    row = page.locator("#denial-table tbody tr", has_text="CO-16")
    expect(row).to_contain_text("MA50")
    expect(row).to_contain_text("PAYER_REQUIRES_TRIAL_NUMBER")
    expect(row).to_contain_text("yes")
    page.screenshot(path=shots / "x12-denials.png", full_page=True)
    with page.expect_download() as info:
        page.locator("#denial-xlsx").click()
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    rows = [[c.value for c in r] for r in workbook(saved)["Denials"].iter_rows(min_row=4)]
    assert any(r[2] == "16" and r[11] == "PAYER_REQUIRES_TRIAL_NUMBER" for r in rows)
