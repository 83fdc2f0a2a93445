"""The billing specialist's day in a real browser: log in, enter a draft mild® claim, check it, read the findings,
fix the claim, check again and see it clean (tests/admin_pages/test_claim_admin.py does the same with the test
client; this one clicks through the admin as she would)."""

import re

import pytest

from tests.e2e.pages import login, submit

pytestmark = pytest.mark.e2e


def _finding(page, rule: str):
    return page.locator("tr.finding", has=page.locator("code", has_text=rule))


def test_billing_enters_checks_fixes_and_rechecks_a_claim(page, demo, shots):
    from playwright.sync_api import expect

    base = demo.url
    login(page, base, "billing")
    expect(page.locator("#work-panel")).to_contain_text("What needs you today")
    expect(page.locator("#work-panel")).to_contain_text("not checked yet")

    # Draft claims -> Add
    page.get_by_role("link", name="Draft claims").first.click()
    expect(page).to_have_url(re.compile(r"/admin/billing/draftclaim/$"))
    page.locator(".object-tools a.addlink").first.click()  # not the sidebar's first "Add" (batch uploads)
    expect(page).to_have_url(re.compile(r"/admin/billing/draftclaim/add/$"))
    expect(page.locator("#check-claim")).to_have_count(0)  # nothing to check before the first save

    # A Medicare mild® claim, as entered from yesterday's case: no Q0, no Z00.6
    expect(page.locator("#id_practice option:checked")).not_to_have_text(re.compile(r"^-+$"))
    page.fill("#id_reference", "E2E-0001")
    page.select_option("#id_payer", label="Medicare Part B (fee-for-service)")
    page.select_option("#id_claim_type", "professional")
    page.fill("#id_place_of_service", "24")
    page.fill("#id_date_of_service", "2026-05-04")
    page.fill("#id_rendering_npi", "1234567893")
    page.fill("#id_diagnoses", "M48.062")
    page.fill("#id_clinical_trial_number", "NCT03072927")
    page.fill("#id_lines-0-number", "1")
    page.fill("#id_lines-0-code", "0275T")
    page.fill("#id_lines-0-modifiers", "")
    page.fill("#id_lines-0-units", "1")
    page.fill("#id_lines-0-diagnosis_pointers", "1")
    page.fill("#id_lines-0-charge", "9500.00")
    submit(page, "input[name=_continue]")

    expect(page).to_have_url(re.compile(r"/admin/billing/draftclaim/\d+/change/$"))
    expect(page.locator(".errornote")).to_have_count(0)
    expect(page.locator("ul.messagelist")).to_contain_text("was added successfully")
    expect(page.locator(".field-findings_panel")).to_contain_text("Not checked yet")
    change_url = page.url

    # Check -> status Errors, with the two payer findings and what to do about them
    submit(page, "#check-claim")
    expect(page).to_have_url(change_url)
    expect(page.locator("ul.messagelist")).to_contain_text("Checked: error")
    expect(page.locator(".field-status_badge")).to_contain_text("Errors")
    modifier = _finding(page, "PAYER_REQUIRES_MODIFIER")
    expect(modifier).to_have_count(1)
    expect(modifier).to_have_class(re.compile(r"\bfinding-error\b"))
    expect(modifier).to_contain_text("Add modifier Q0 to line 1")
    diagnosis = _finding(page, "PAYER_REQUIRES_DIAGNOSIS")
    expect(diagnosis).to_have_count(1)
    expect(diagnosis).to_contain_text("Z00.6")
    expect(page.locator(".findings")).to_contain_text("NCD 150.13")
    page.screenshot(path=shots / "1-findings.png", full_page=True)

    # Fix it: Z00.6 as the second diagnosis, Q0 on the line, the line points at both diagnoses
    page.fill("#id_diagnoses", "M48.062, Z00.6")
    page.fill("#id_lines-0-modifiers", "Q0")
    page.fill("#id_lines-0-diagnosis_pointers", "1, 2")
    submit(page, "input[name=_continue]")
    expect(page).to_have_url(change_url)
    expect(page.locator(".errornote")).to_have_count(0)
    expect(page.locator("ul.messagelist")).to_contain_text("was changed successfully")
    expect(page.locator(".field-status_badge")).to_contain_text("Not checked")  # a saved edit needs a new check
    expect(page.locator("#id_diagnoses")).to_have_value("M48.062, Z00.6")
    expect(page.locator("#id_lines-0-modifiers")).to_have_value("Q0")

    # Check again -> Clean, no error rows
    submit(page, "#check-claim")
    expect(page.locator("ul.messagelist")).to_contain_text("Checked: clean")
    expect(page.locator(".field-status_badge")).to_contain_text("Clean")
    expect(page.locator("tr.finding-error")).to_have_count(0)
    scroll_width, viewport_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= viewport_width, "the claim page scrolls sideways (the lines table is too wide)"
    page.screenshot(path=shots / "2-clean.png", full_page=True)

    # and the list shows it clean too
    page.goto(f"{base}/admin/billing/draftclaim/?q=E2E-0001")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody tr")).to_contain_text("0275T-Q0")
    expect(page.locator("#result_list tbody tr")).to_contain_text("Clean")
