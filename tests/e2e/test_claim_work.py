"""Issue 17, the claim side, in a real browser (Chromium): "Check" keeps unsaved edits, findings overridden with a
reason, the claim form without internal sections or time-zone notes, the draft list at 1,400 px, marking ready
with an override reason, the work queue, and a check's page without raw JSON. Screenshots of each."""

import re

import pytest

from tests.e2e.pages import login, submit

pytestmark = pytest.mark.e2e


@pytest.fixture
def far_page(browser):
    """A browser five hours away from the practice (London vs New York), as the issue's user was."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, timezone_id="Europe/London")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def _fits(page, selector: str) -> None:
    width = page.evaluate("window.innerWidth")
    for cell in page.locator(selector).all():
        box = cell.bounding_box()
        assert box is not None and box["x"] + box["width"] <= width, f"{selector} is off screen at {width}px"


def test_claim_day_check_with_unsaved_edits_override_ready_and_queue(far_page, demo, shots):
    from playwright.sync_api import expect

    from billing.models import DraftClaim

    page, base = far_page, demo.url
    login(page, base, "billing")
    expect(page.locator("#work-panel")).to_contain_text("times in America/New_York")

    # the draft list fits 1,400 px with codes and status on screen
    page.goto(f"{base}/admin/billing/draftclaim/")
    expect(page.locator("#result_list tbody tr")).to_have_count(2)
    scroll_width, viewport_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= viewport_width, "the draft-claim list scrolls sideways at 1,400 px"
    inner, shown = page.evaluate(
        "(e => [e.scrollWidth, e.clientWidth])(document.querySelector('#changelist .results'))"
    )
    assert inner <= shown, "the draft-claim table is cut off (it scrolls inside its box) at 1,400 px"
    _fits(page, "#result_list td.field-codes")
    _fits(page, "#result_list td.field-status_badge")
    page.screenshot(path=shots / "claims-list.png", full_page=True)

    claim = DraftClaim.objects.get(reference="DEMO-0002")  # Medicare mild claim without Q0 and Z00.6
    page.goto(f"{base}/admin/billing/draftclaim/{claim.pk}/change/")
    expect(page.locator("body")).not_to_contain_text("Concurrency")
    expect(page.locator("#id_expected_version")).to_be_hidden()
    expect(page.locator(".timezonewarning")).to_have_count(0)  # dates of service have no hour to warn about
    submit(page, "#check-claim")
    expect(page.locator("ul.messagelist")).to_contain_text("Checked: error")
    expect(page.locator(".findings")).to_contain_text(re.compile(r"Checked \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T"))
    page.screenshot(path=shots / "claims-findings.png", full_page=True)

    # override one finding with a reason: kept as a claim note (who, when), shown on the finding
    page.select_option("#id_override_rule", "PAYER_REQUIRES_DIAGNOSIS")
    page.fill("#id_override_reason", "Z00.6 is on the secondary claim per the trial sponsor")
    submit(page, "input[name=_continue]")
    expect(page.locator(".errornote")).to_have_count(0)
    row = page.locator("tr.finding", has=page.locator("code", has_text="PAYER_REQUIRES_DIAGNOSIS"))
    expect(row).to_contain_text("Overridden by billing")
    expect(page.locator(".claim-notes")).to_contain_text("per the trial sponsor")
    expect(page.locator(".field-status_badge")).to_contain_text("Errors")  # a note is not an edit

    # unsaved edits, then "Check": the edits are saved and checked, never dropped
    page.fill("#id_diagnoses", "M48.062, Z00.6")
    page.fill("#id_lines-0-modifiers", "Q0")
    page.fill("#id_lines-0-diagnosis_pointers", "1, 2")
    submit(page, "#check-claim")
    expect(page.locator("ul.messagelist")).to_contain_text("Checked: clean")
    expect(page.locator("#id_diagnoses")).to_have_value("M48.062, Z00.6")
    expect(page.locator("#id_lines-0-modifiers")).to_have_value("Q0")
    expect(page.locator(".field-status_badge")).to_contain_text("Clean")
    page.screenshot(path=shots / "claims-form.png", full_page=True)

    # the check's own page: findings as a table, no raw JSON, the same clock
    page.goto(f"{base}/admin/billing/claimcheck/")
    expect(page.locator("#result_list")).to_contain_text("DEMO-0002: error")
    expect(page.locator("#result_list")).not_to_contain_text("check #")
    page.locator("#result_list a", has_text="DEMO-0002: error").first.click()
    expect(page.locator("table.finding-table")).to_be_visible()
    expect(page.locator("body")).not_to_contain_text('"findings"')
    page.screenshot(path=shots / "claims-check-detail.png", full_page=True)

    # select every claim, mark ready: DEMO-0001 was never checked, so a reason is asked for
    page.goto(f"{base}/admin/billing/draftclaim/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "mark_ready")
    submit(page, "button[name=index]")
    expect(page.locator("#not-validated")).to_contain_text("DEMO-0001")
    expect(page.locator("#not-validated")).to_contain_text("not checked")
    page.fill("#id_override_reason", "Re-keyed from the paper claim, checked by hand")
    page.screenshot(path=shots / "claims-mark-ready.png", full_page=True)
    submit(page, "#mark-with-reason")
    message = page.locator("ul.messagelist")
    expect(message).to_contain_text("2 claim(s) marked ready (1 with your override reason")
    expect(message).not_to_contain_text("-1")

    # the work queue: a new claim waiting, unassigned, with its age
    page.goto(f"{base}/admin/billing/draftclaim/add/")
    page.fill("#id_reference", "E2E-Q1")
    page.select_option("#id_payer", label="Medicare Part B (fee-for-service)")
    page.fill("#id_place_of_service", "24")
    page.fill("#id_date_of_service", "2026-05-05")
    page.fill("#id_diagnoses", "M48.062")
    page.fill("#id_lines-0-number", "1")
    page.fill("#id_lines-0-code", "0275T")
    page.fill("#id_lines-0-units", "1")
    page.fill("#id_note", "Doctor to confirm the level")
    submit(page, "input[name=_continue]")
    expect(page.locator(".claim-notes")).to_contain_text("Doctor to confirm the level")
    page.goto(f"{base}/admin/billing/draftclaim/")
    page.click("#work-queue-link")
    queue = page.locator('.queue-group[data-assignee="Unassigned"]')
    expect(queue).to_contain_text("E2E-Q1")
    expect(queue).to_contain_text("not checked")
    expect(queue).to_contain_text("Doctor to confirm the level")
    expect(queue.locator("td.age").first).to_have_text(re.compile(r"\d+ day"))
    page.screenshot(path=shots / "claims-work-queue.png", full_page=True)
