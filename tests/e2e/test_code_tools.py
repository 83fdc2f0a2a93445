"""The code look-up and the claim form's code helpers in a real browser: search by code or words as of a date with
the answering release, autocomplete on diagnoses, line codes and modifiers, and the diagnosis-pointer picker."""

import re

import pytest

from tests.e2e.pages import login, submit

pytestmark = pytest.mark.e2e


def test_look_up_a_diagnosis_by_words_and_a_procedure_by_code_as_of_a_date(page, demo, shots):
    from playwright.sync_api import expect

    login(page, demo.url, "billing")
    page.get_by_role("link", name="Look up a code").first.click()
    expect(page).to_have_url(re.compile(r"/admin/codes/release/lookup/$"))
    page.select_option("#id_system", "icd10cm")
    page.fill("#id_q", "spinal stenosis lumbar")
    page.fill("#id_on", "2026-05-04")
    submit(page, "input[type=submit][value='Look up']")
    rows = page.locator("#lookup-results tbody tr")
    expect(page.locator("#lookup-results")).to_contain_text("M48.062")
    expect(rows.filter(has_text="M48.062")).to_contain_text(re.compile(r"ICD-10-CM|icd10cm|April 2026", re.I))
    expect(page.locator("h2", has_text="Results as of")).to_contain_text("2026")
    page.screenshot(path=shots / "code-lookup.png", full_page=True)

    page.fill("#id_on", "2026-03-02")  # before the only ICD-10-CM release the demo holds (April 2026)
    submit(page, "input[type=submit][value='Look up']")
    expect(page.locator(".uncovered")).to_contain_text("No release of ICD-10-CM")

    page.select_option("#id_system", "procedure")
    page.fill("#id_q", "0275T")
    submit(page, "input[type=submit][value='Look up']")
    first = page.locator("#lookup-results tbody tr").first
    expect(first).to_contain_text("0275T")
    expect(first.locator("td.release")).not_to_have_text("-")


def test_claim_form_autocomplete_and_pointer_picker(page, demo, shots):
    from playwright.sync_api import expect

    login(page, demo.url, "billing")
    page.goto(f"{demo.url}/admin/billing/draftclaim/add/")
    page.fill("#id_date_of_service", "2026-05-04")

    # Diagnoses: words or a code prefix, as of the claim's date; the choice is added to the list
    page.locator("#id_diagnoses").press_sequentially("M48.06", delay=30)
    suggest = page.locator(".code-suggest")
    expect(suggest).to_contain_text("M48.062")
    expect(suggest.locator(".code-suggest-head")).to_contain_text("As of 2026-05-04")
    page.screenshot(path=shots / "claim-form-autocomplete.png")
    suggest.locator(".code-suggest-item", has_text="M48.062").click()
    expect(page.locator("#id_diagnoses")).to_have_value("M48.062, ")
    page.locator("#id_diagnoses").press_sequentially("Z00.6", delay=30)
    expect(suggest.locator(".code-suggest-item").first).to_contain_text("Z00.6")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # chooses; does not submit the form
    expect(page).to_have_url(re.compile(r"/draftclaim/add/$"))
    expect(page.locator("#id_diagnoses")).to_have_value("M48.062, Z00.6, ")

    # The line's code and modifiers
    page.locator("#id_lines-0-code").press_sequentially("0275", delay=30)
    expect(suggest.locator(".code-suggest-item", has_text="0275T")).to_have_count(1)
    suggest.locator(".code-suggest-item", has_text="0275T").click()
    expect(page.locator("#id_lines-0-code")).to_have_value("0275T")
    page.locator("#id_lines-0-modifiers").press_sequentially("Q", delay=30)
    expect(suggest.locator(".code-suggest-item", has_text="Q0")).to_have_count(1)
    suggest.locator(".code-suggest-item", has_text="Q0").click()
    expect(page.locator("#id_lines-0-modifiers")).to_have_value("Q0, ")

    # The pointer picker: one button per diagnosis, the codes the pointers stand for, a pointer to nothing in red
    picker = page.locator("#lines-0 .pointer-picker")
    expect(picker.locator(".pointer-choice")).to_have_text(["1 M48.062", "2 Z00.6"])
    picker.locator(".pointer-choice", has_text="1 M48.062").click()
    picker.locator(".pointer-choice", has_text="2 Z00.6").click()
    expect(page.locator("#id_lines-0-diagnosis_pointers")).to_have_value("1, 2")
    expect(picker.locator(".pointer-codes")).to_have_text("1 → M48.062, 2 → Z00.6")
    expect(picker.locator(".pointer-choice.on")).to_have_count(2)
    page.screenshot(path=shots / "claim-form-code-helpers.png", full_page=True)
    page.fill("#id_lines-0-diagnosis_pointers", "1, 3")
    expect(picker.locator(".pointer-codes .bad")).to_have_text(", 3 → no diagnosis 3")

    # A line added on the page gets its picker and its suggestions too
    page.locator("#lines-group .add-row a").click()
    expect(page.locator("#lines-1 .pointer-picker .pointer-choice")).to_have_text(["1 M48.062", "2 Z00.6"])
    page.locator("#id_lines-1-code").press_sequentially("G027", delay=30)
    expect(suggest).to_contain_text("G0276")


def test_the_suggest_endpoint_needs_a_logged_in_reader_of_the_code_sets(client, db):
    from django.contrib.auth.models import User

    from codes.admin.lookup import SUGGESTIONS

    url = "/admin/codes/release/lookup/suggest/?system=modifier&q=Q"
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(User.objects.create_user("nobody", is_staff=True))
    assert client.get(url).status_code == 403
    client.force_login(User.objects.create_superuser("root"))
    assert client.get(url + "&on=9999-01-01").status_code == 400
    assert client.get("/admin/codes/release/lookup/suggest/?system=nope&q=Q").status_code == 400
    answer = client.get(url).json()
    assert len(answer["results"]) <= SUGGESTIONS
