"""The guide form says, before the download, which amounts the guide will lack for the chosen year and locality,
and says it again when the year changes."""

import pytest

from tests.e2e.pages import login

pytestmark = pytest.mark.e2e


def test_the_guide_form_says_beforehand_which_amounts_are_missing(page, demo, shots):
    from playwright.sync_api import expect

    login(page, demo.url, "manager")
    page.goto(f"{demo.url}/billing/guide/")
    form = page.locator("#guide-form")
    expect(form.locator("#id_locality")).to_have_value("10112-00")
    said = page.locator("#guide-availability")
    form.locator("#id_year").fill("2030")  # nothing loaded covers 2030
    expect(said).to_contain_text("The guide for 2030 and locality 10112-00 will say not loaded for")
    expect(said.locator(".missing-amounts li", has_text="Physician national amounts (PFS)")).to_contain_text(
        "no PFS RVU file loaded for 2030"
    )
    expect(said.locator(".missing-amounts li", has_text="Hospital outpatient rates (OPPS)")).to_have_count(1)
    page.screenshot(path=shots / "guide-form.png", full_page=True)

    form.locator("#id_year").fill("2025")  # the starter data's PFS year
    expect(said).to_contain_text("The guide for 2025")
    expect(said.locator(".missing-amounts li", has_text="Physician national amounts (PFS)")).to_have_count(0)

    form.locator("#id_locality").fill("99999-99")
    expect(said.locator(".errornote")).to_contain_text("99999-99")
