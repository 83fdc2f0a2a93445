"""Issue 17, the claim side, through the admin with the test client: ready means validated (with an override
reason kept as a claim note), right counts, save-and-check, notes and finding overrides counted by the report,
the work queue, one time zone per practice, no internal sections or raw JSON."""

import re
from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client

from billing.models import ClaimCheck, ClaimNote, DraftClaim

pytestmark = pytest.mark.django_db


@pytest.fixture
def billing(defaults_db) -> Client:
    client = Client()
    client.force_login(User.objects.get(username="billing"))
    return client


def check_all(client):
    ids = list(DraftClaim.objects.values_list("pk", flat=True))
    client.post("/admin/billing/draftclaim/", {"action": "check_selected", "_selected_action": ids})


def mark_ready(client, claims, **extra):
    data = {"action": "mark_ready", "_selected_action": [c.pk for c in claims], **extra}
    return client.post("/admin/billing/draftclaim/", data, follow=True).content.decode()


def change_data(claim, **changes) -> dict:
    """What the change page posts back for ``claim`` (its line and the blank extra line), with ``changes``."""
    line = claim.lines.get()
    data = {
        "practice": claim.practice_id,
        "reference": claim.reference,
        "payer": claim.payer_id,
        "claim_type": claim.claim_type,
        "place_of_service": claim.place_of_service,
        "date_of_service": claim.date_of_service.isoformat(),
        "submitted_on": claim.submitted_on.isoformat() if claim.submitted_on else "",
        "rendering_npi": claim.rendering_npi,
        "diagnoses": ", ".join(claim.diagnoses),
        "clinical_trial_number": claim.clinical_trial_number,
        "prior_authorization_number": "",
        "condition_codes": "",
        "assigned_to": "",
        "note": "",
        "override_rule": "",
        "override_reason": "",
        "expected_version": claim.version,
        "lines-TOTAL_FORMS": 1,
        "lines-INITIAL_FORMS": 1,
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 50,
        "lines-0-id": line.pk,
        "lines-0-claim": claim.pk,
        "lines-0-number": line.number,
        "lines-0-code": line.code,
        "lines-0-modifiers": ", ".join(line.modifiers),
        "lines-0-units": line.units,
        "lines-0-diagnosis_pointers": ", ".join(str(p) for p in line.diagnosis_pointers),
        "lines-0-charge": str(line.charge or ""),
        "_continue": "Save and continue editing",
    }
    data.update(changes)
    return data


def test_marking_clean_claims_ready_counts_right_never_minus_one(billing):
    check_all(billing)
    clean = list(DraftClaim.objects.filter(status="clean"))
    assert [c.reference for c in clean] == ["DEMO-0001"]
    page = mark_ready(billing, clean)
    assert "1 claim(s) marked ready." in page and "-1 skipped" not in page
    assert DraftClaim.objects.get(reference="DEMO-0001").status == "ready"
    page = mark_ready(billing, clean)  # again: already ready, nothing skipped
    assert "0 claim(s) marked ready; 1 already ready." in page


def test_a_claim_with_errors_is_not_marked_ready_without_a_reason_and_the_reason_is_kept(billing):
    check_all(billing)
    claims = list(DraftClaim.objects.order_by("reference"))
    page = mark_ready(billing, claims)  # DEMO-0002 has errors: the user is asked why
    assert "not-validated" in page and "DEMO-0002" in page and "errors in its last check" in page
    assert set(DraftClaim.objects.values_list("status", flat=True)) == {"clean", "error"}

    page = mark_ready(billing, claims, validated_only="1")
    assert "1 claim(s) marked ready; 1 not marked (1 errors in its last check)" in page
    assert DraftClaim.objects.get(reference="DEMO-0002").status == "error"

    page = mark_ready(billing, claims, confirm="1", override_reason="Payer confirmed by phone: Q0 not needed")
    assert "1 claim(s) marked ready (1 with your override reason" in page and "1 already ready" in page
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    assert claim.status == "ready" and claim.ready_by.username == "billing" and claim.ready_at is not None
    note = claim.notes.get()
    assert (note.kind, note.author.username) == ("ready", "billing")
    assert note.text.startswith("Payer confirmed by phone") and "errors in its last check" in note.text
    page = billing.get(f"/admin/billing/draftclaim/{claim.pk}/change/").content.decode()
    assert "Payer confirmed by phone" in page and "Marked ready without a clean check" in page


def test_a_claim_changed_after_its_check_or_never_checked_is_not_validated(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0001")
    assert "not checked" in mark_ready(billing, [claim])
    check_all(billing)
    claim.refresh_from_db()
    assert claim.status == "clean"
    # an edit in the admin (the claim's own field) makes the check stale: the claim is a draft again
    response = billing.post(
        f"/admin/billing/draftclaim/{claim.pk}/change/", change_data(claim, prior_authorization_number="PA-1")
    )
    assert response.status_code == 302
    claim.refresh_from_db()
    assert claim.status == "draft" and claim.edited_at > claim.checks.latest("id").checked_at
    claim.status = "clean"  # even if a status said clean, the stale check is what counts
    claim.save(update_fields=["status"])
    page = mark_ready(billing, [claim])
    assert "changed since its last check" in page
    assert DraftClaim.objects.get(pk=claim.pk).status == "clean"


def test_a_check_that_could_not_validate_the_codes_does_not_make_a_claim_ready(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0001")
    # the ICD-10-CM release held ends 2026-09-30: the diagnoses of an October claim cannot be checked
    DraftClaim.objects.filter(pk=claim.pk).update(date_of_service=date(2026, 10, 15), submitted_on=date(2026, 10, 20))
    check_all(billing)
    claim.refresh_from_db()
    findings = claim.checks.latest("id").result["findings"]
    assert ("CODING_NOT_LOADED", "warning") in {(f["rule"], f["severity"]) for f in findings}, findings
    assert claim.status == "warning", findings  # warnings only: before issue 17 this one could be marked ready
    page = mark_ready(billing, [claim])
    assert "codes not validated" in page
    assert DraftClaim.objects.get(pk=claim.pk).status != "ready"


def test_check_with_unsaved_edits_saves_them_then_checks(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0002")  # no Q0, no Z00.6
    data = change_data(
        claim, diagnoses="M48.062, Z00.6", **{"lines-0-modifiers": "Q0", "lines-0-diagnosis_pointers": "1, 2"}
    )
    del data["_continue"]
    data["_check"] = "1"  # the "Save and check this claim" button belongs to the claim's form
    response = billing.post(f"/admin/billing/draftclaim/{claim.pk}/change/", data, follow=True)
    page = response.content.decode()
    assert "Checked: clean" in page, re.findall(r'class="(?:success|warning|error)">([^<]+)', page)
    claim.refresh_from_db()
    assert claim.diagnoses == ["M48.062", "Z00.6"] and claim.lines.get().modifiers == ["Q0"]
    assert claim.status == "clean"
    check = claim.checks.latest("id")
    assert check.checked_at >= claim.edited_at


def test_check_with_invalid_edits_refuses_clearly_and_checks_nothing(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    data = change_data(claim, place_of_service="")
    del data["_continue"]
    data["_check"] = "1"
    page = billing.post(f"/admin/billing/draftclaim/{claim.pk}/change/", data).content.decode()
    assert "errornote" in page and not claim.checks.exists()


def test_an_override_of_a_finding_is_a_claim_note_that_unblocks_it_and_the_report_counts(billing, defaults_db):
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    check_all(billing)
    claim.refresh_from_db()
    errors = {f["rule"] for f in claim.checks.latest("id").result["findings"] if f["severity"] == "error"}
    assert errors == {"PAYER_REQUIRES_MODIFIER", "PAYER_REQUIRES_DIAGNOSIS"}
    # a reason is required
    page = billing.post(
        f"/admin/billing/draftclaim/{claim.pk}/change/", change_data(claim, override_rule="PAYER_REQUIRES_MODIFIER")
    ).content.decode()
    assert "Say why the finding is overridden" in page and not claim.notes.exists()
    for rule in sorted(errors):
        claim.refresh_from_db()
        data = change_data(
            claim, override_rule=rule, override_reason=f"Trial sponsor pays: {rule}", note="called payer"
        )
        assert billing.post(f"/admin/billing/draftclaim/{claim.pk}/change/", data).status_code == 302
    claim.refresh_from_db()
    data = change_data(claim, assigned_to=User.objects.get(username="billing").pk)
    assert billing.post(f"/admin/billing/draftclaim/{claim.pk}/change/", data).status_code == 302
    claim.refresh_from_db()
    assert claim.assigned_to.username == "billing"
    assert claim.status == "error"  # a note, an override or an assignee is not an edit: the check stands
    notes = list(claim.notes.order_by("id").values_list("kind", "rule", "author__username"))
    assert notes.count(("override", "PAYER_REQUIRES_MODIFIER", "billing")) == 1
    assert notes.count(("note", "", "billing")) == 2
    page = billing.get(f"/admin/billing/draftclaim/{claim.pk}/change/").content.decode()
    assert page.count('<i class="override">Overridden by billing') == 2 and "Trial sponsor pays" in page
    assert "1 claim(s) marked ready." in mark_ready(billing, [claim])  # every blocking finding overridden

    manager = Client()
    manager.force_login(User.objects.get(username="manager"))
    period = f"{date.today():%Y-%m}"
    report = manager.get(f"/billing/report/?period_from={period}&period_to={period}").content.decode()
    overrides = report.split('id="report-overrides"')[1].split("</table>")[0]
    assert "PAYER_REQUIRES_MODIFIER" in overrides and "PAYER_REQUIRES_DIAGNOSIS" in overrides


def test_work_queue_by_assignee_and_age_with_the_latest_note(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    billing_user = User.objects.get(username="billing")
    DraftClaim.objects.filter(pk=claim.pk).update(assigned_to=billing_user)
    ClaimNote.objects.create(claim=claim, text="Waiting for the trial number", author=billing_user)
    page = billing.get("/admin/billing/draftclaim/queue/").content.decode()
    assert page.index('data-assignee="Unassigned"') < page.index('data-assignee="billing"')
    billing_group = page.split('data-assignee="billing"')[1]
    assert "DEMO-0002" in billing_group and "Waiting for the trial number" in billing_group
    assert "not checked" in billing_group and re.search(r'class="age">\d+ day', billing_group)
    assert "/admin/billing/draftclaim/queue/" in billing.get("/admin/").content.decode()


def test_times_are_in_the_practice_time_zone_everywhere(billing):
    from practice.models import Practice

    Practice.objects.filter(key="demo").update(time_zone="America/Los_Angeles")
    check_all(billing)
    check = ClaimCheck.objects.filter(claim__reference="DEMO-0002").latest("id")
    from zoneinfo import ZoneInfo

    local = check.checked_at.astimezone(ZoneInfo("America/Los_Angeles"))
    stamp = local.strftime("%Y-%m-%d %H:%M")
    claim_page = billing.get(f"/admin/billing/draftclaim/{check.claim_id}/change/").content.decode()
    assert f"Checked {stamp} {local.strftime('%Z')}" in claim_page
    checks_page = billing.get("/admin/billing/claimcheck/").content.decode()
    assert f"DEMO-0002: error ({stamp} {local.strftime('%Z')})" in checks_page
    detail = billing.get(f"/admin/billing/claimcheck/{check.pk}/change/").content.decode()
    assert f"Checked {stamp}" in detail
    assert "America/Los_Angeles" in billing.get("/admin/").content.decode()


def test_claim_form_hides_the_concurrency_section_and_the_check_page_shows_no_raw_json(billing):
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    page = billing.get(f"/admin/billing/draftclaim/{claim.pk}/change/").content.decode()
    assert "Concurrency" not in page and 'name="expected_version"' in page and 'type="hidden"' in page
    assert "field-version" not in page
    check_all(billing)
    check = claim.checks.latest("id")
    detail = billing.get(f"/admin/billing/claimcheck/{check.pk}/change/").content.decode()
    assert "finding-table" in detail and "PAYER_REQUIRES_MODIFIER" in detail
    assert '"findings":' not in detail and "{&quot;" not in detail and '"rule":' not in detail


def test_the_assignee_choices_are_the_practice_s_staff_only(billing):
    from practice.models import Practice, PracticeMembership

    other = Practice.objects.create(key="other", name="Other Practice", npi="1234567893")
    stranger = User.objects.create_user("stranger-at-other", password="x")
    PracticeMembership.objects.create(user=stranger, practice=other)
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    for url in ("/admin/billing/draftclaim/add/", f"/admin/billing/draftclaim/{claim.pk}/change/"):
        page = billing.get(url).content.decode()
        assert "stranger-at-other" not in page and ">billing</option>" in page


def test_a_practice_time_zone_must_be_a_real_zone():
    from django.core.exceptions import ValidationError

    from practice.models import Practice

    practice = Practice(key="tz", name="TZ", npi="1234567893", time_zone="Mars/Olympus_Mons")
    with pytest.raises(ValidationError) as exc:
        practice.full_clean()
    assert "time_zone" in exc.value.message_dict
    assert Practice(key="tz2", name="TZ2", npi="1234567893").time_zone == "America/New_York"  # settings.TIME_ZONE


def test_a_manager_reads_the_claim_notes_and_queue_but_cannot_write_or_check(defaults_db):
    manager = Client()
    manager.force_login(User.objects.get(username="manager"))
    claim = DraftClaim.objects.get(reference="DEMO-0002")
    ClaimNote.objects.create(claim=claim, text="Sent to the doctor", author=User.objects.get(username="billing"))
    page = manager.get(f"/admin/billing/draftclaim/{claim.pk}/change/").content.decode()
    assert "Sent to the doctor" in page and 'name="note"' not in page and 'id="check-claim"' not in page
    assert "DEMO-0002" in manager.get("/admin/billing/draftclaim/queue/").content.decode()
