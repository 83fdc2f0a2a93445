"""The billing specialist's day in the admin: the first page, a draft claim, Check, the findings, fix, re-check."""

import pytest
from django.test import Client

from billing.models import ClaimCheck, DraftClaim

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(defaults_db) -> Client:
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(username="billing"))
    return client


def test_first_page_says_what_needs_her(billing):
    page = billing.get("/admin/").content.decode()
    assert "What needs you today" in page
    assert "not checked yet" in page
    # the shipped ICD-10-CM release ends 2026-09-30: after that the first page says plainly it is stale
    from datetime import date

    from django.utils import timezone

    if timezone.localdate() > date(2026, 9, 30):
        assert "ICD-10-CM diagnoses" in page and "STALE" in page
    else:
        assert "ICD-10-CM April 2026" in page


def test_check_button_shows_findings_with_their_fix_then_clean_after_the_fix(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0002")  # Medicare mild claim without Q0 and Z00.6
    response = billing.post(f"/admin/billing/draftclaim/{claim.pk}/check/", follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "PAYER_REQUIRES_MODIFIER" in page and "Q0" in page
    assert "PAYER_REQUIRES_DIAGNOSIS" in page and "Z00.6" in page
    assert "NCD 150.13" in page
    claim.refresh_from_db()
    assert claim.status == "error"

    # fix it the way billing staff would: add Q0 to the line and Z00.6 as the second diagnosis
    line = claim.lines.get()
    line.modifiers, line.diagnosis_pointers = ["Q0"], [1, 2]
    line.save()
    claim.diagnoses = ["M48.062", "Z00.6"]
    claim.save()
    billing.post(f"/admin/billing/draftclaim/{claim.pk}/check/")
    claim.refresh_from_db()
    assert claim.status == "clean"
    assert ClaimCheck.objects.filter(claim=claim).count() == 2


def test_bulk_check_action(billing):
    ids = list(DraftClaim.objects.values_list("pk", flat=True))
    response = billing.post(
        "/admin/billing/draftclaim/", {"action": "check_selected", "_selected_action": ids}, follow=True
    )
    assert "Checked 2 claim(s)" in response.content.decode()
    assert set(DraftClaim.objects.values_list("status", flat=True)) == {"clean", "error"}


def test_claim_list_filters_by_status_and_finding(billing):
    billing.post(
        "/admin/billing/draftclaim/",
        {"action": "check_selected", "_selected_action": list(DraftClaim.objects.values_list("pk", flat=True))},
    )
    page = billing.get("/admin/billing/draftclaim/?rule=PAYER_REQUIRES_MODIFIER").content.decode()
    assert "DEMO-0002" in page and "DEMO-0001" not in page


def test_create_claim_with_lines_in_the_admin(billing, defaults_db):
    from practice.models import Payer, Practice

    data = {
        "practice": Practice.objects.get(key="demo").pk,
        "reference": "NEW-1",
        "payer": Payer.objects.get(key="medicare").pk,
        "claim_type": "professional",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "submitted_on": "",
        "rendering_npi": "1234567893",
        "diagnoses": "M48.062, Z00.6",
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": "",
        "condition_codes": "",
        "version": 1,
        "lines-TOTAL_FORMS": 1,
        "lines-INITIAL_FORMS": 0,
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 50,
        "lines-0-number": 1,
        "lines-0-code": "0275t",
        "lines-0-modifiers": "q0",
        "lines-0-units": 1,
        "lines-0-diagnosis_pointers": "1, 2",
        "lines-0-charge": "9500.00",
    }
    response = billing.post("/admin/billing/draftclaim/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    claim = DraftClaim.objects.get(reference="NEW-1")
    assert claim.diagnoses == ["M48.062", "Z00.6"]
    line = claim.lines.get()
    assert (line.code, line.modifiers, line.diagnosis_pointers) == ("0275T", ["Q0"], [1, 2])
    billing.post(f"/admin/billing/draftclaim/{claim.pk}/check/")
    claim.refresh_from_db()
    assert claim.status == "clean"


def test_manager_reads_claims_but_cannot_check(defaults_db):
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(username="manager"))
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    assert client.get("/admin/billing/draftclaim/").status_code == 200
    client.post(f"/admin/billing/draftclaim/{claim.pk}/check/")
    assert not ClaimCheck.objects.filter(claim=claim).exists()


def test_code_lookup_page(billing):
    page = billing.get("/admin/codes/release/lookup/?system=icd10cm&q=M48.06&on=2026-05-04").content.decode()
    assert "M48.062" in page and "M48.061" in page


def test_edit_claim_with_the_blank_extra_line_as_the_browser_sends_it(billing):
    """The change page carries one blank extra line; saving must ignore it, not require its number and code."""
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    line = claim.lines.get()
    data = {
        "practice": claim.practice_id,
        "reference": claim.reference,
        "payer": claim.payer_id,
        "claim_type": claim.claim_type,
        "place_of_service": claim.place_of_service,
        "date_of_service": "2026-05-04",
        "submitted_on": "2026-05-11",
        "rendering_npi": claim.rendering_npi,
        "diagnoses": "M48.062, Z00.6",
        "clinical_trial_number": claim.clinical_trial_number,
        "prior_authorization_number": "",
        "condition_codes": "",
        "expected_version": claim.version,  # the hidden field the change page sends back (optimistic locking)
        "lines-TOTAL_FORMS": 2,
        "lines-INITIAL_FORMS": 1,
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 50,
        "lines-0-id": line.pk,
        "lines-0-claim": claim.pk,
        "lines-0-number": 1,
        "lines-0-code": "0275T",
        "lines-0-modifiers": "Q0",
        "lines-0-units": 1,
        "lines-0-diagnosis_pointers": "1, 2",
        "lines-0-charge": "9500.00",
        "lines-1-claim": claim.pk,
        "lines-1-number": "",
        "lines-1-code": "",
        "lines-1-modifiers": "",
        "lines-1-units": 1,
        "lines-1-diagnosis_pointers": "",
        "lines-1-charge": "",
        "_continue": "Save and continue editing",
    }
    response = billing.post(f"/admin/billing/draftclaim/{claim.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    line.refresh_from_db()
    assert (line.modifiers, line.diagnosis_pointers) == (["Q0"], [1, 2])
    assert claim.lines.count() == 1
