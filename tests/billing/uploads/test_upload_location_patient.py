"""Batch uploads with the optional ``location`` and ``patient_account`` columns (issue 16): read into the claim's
``location`` and ``patient.account``, an account never echoed, and on the demo data (load_defaults --demo) WISeR
by location and the frequency limit counted across uploaded claims."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from openpyxl import load_workbook

from billing import tasks
from billing.models import BatchUpload, ClaimCheck
from billing.uploads import payloads, workfile
from billing.uploads import reading as uploads
from practice.models import Practice
from tests.billing.upload_data import csv_bytes, eager_celery  # noqa: F401

ESI = {
    "payer": "medicare",
    "place_of_service": "24",
    "date_of_service": "2026-02-10",
    "rendering_npi": "1234567893",
    "diagnoses": "M54.16",
    "code": "62323",
    "units": "1",
    "diagnosis_pointers": "1",
    "charge": "850.00",
}


def claims_of(rows: list[dict]) -> list[uploads.UploadClaim]:
    return list(workfile.group_claims(uploads.read_rows(io.BytesIO(csv_bytes(rows)), "claims.csv")))


def test_location_and_patient_account_columns_go_into_the_claim():
    (claim,) = claims_of(
        [
            {**ESI, "claim_ref": "U-1", "location": "TX-ASC", "patient_account": "A-1001"},
            {**ESI, "claim_ref": "U-1", "code": "77003", "location": "", "patient_account": " a-1001 "},
        ]
    )
    payload, errors = payloads.claim_payload(claim)
    assert not errors
    assert payload["location"] == "TX-ASC" and payload["patient"] == {"account": "A-1001"}
    (plain,) = claims_of([{**ESI, "claim_ref": "U-2"}])
    payload, _ = payloads.claim_payload(plain)
    assert "location" not in payload and "patient" not in payload


def test_rows_that_disagree_on_the_account_never_echo_it():
    (claim,) = claims_of(
        [
            {**ESI, "claim_ref": "U-3", "patient_account": "A-1001", "location": "al-asc"},
            {**ESI, "claim_ref": "U-3", "patient_account": "B-2002", "location": "tx-asc"},
        ]
    )
    _, errors = payloads.claim_payload(claim)
    assert errors["patient_account"] == (
        "Row 3 has another account but row 2 has a different one: every row of claim U-3 must give the same "
        "patient_account (or leave it blank)."
    )
    assert "A-1001" not in str(errors) and "B-2002" not in str(errors)
    assert errors["location"].startswith("Row 3 has 'tx-asc' but row 2 has 'al-asc'")


def test_the_claim_checks_errors_name_the_file_columns():
    (claim,) = claims_of([{**ESI, "claim_ref": "U-4"}])
    errors = {"location": "No location.", "patient.account": "Must be text."}
    assert [label for label, _, _ in payloads.input_errors(errors, claim)] == [
        "row 2, location",
        "row 2, patient_account",
    ]


def test_template_lists_the_new_columns():
    header = uploads.template_csv().splitlines()[0].split(",")
    assert header.index("location") < header.index("patient_account") < header.index("line_date_of_service")


@pytest.mark.django_db
@pytest.mark.usefixtures("eager_celery")
def test_upload_on_demo_data_wiser_by_location_and_fifth_esi_session(defaults_db):
    practice = Practice.objects.get(key="demo")
    sessions = ["2025-04-01", "2025-06-02", "2025-08-04", "2025-11-03", "2026-02-10"]
    rows = [
        {**ESI, "claim_ref": "TX-1", "location": "tx-asc"},
        {**ESI, "claim_ref": "AL-1", "location": "al-asc"},
        {**ESI, "claim_ref": "NOWHERE-1", "location": "nowhere"},
        *[
            {**ESI, "claim_ref": f"F-{n}", "date_of_service": on, "patient_account": "ACCT-55017"}
            for n, on in enumerate(sessions, start=1)
        ],
    ]
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows), name="claims.csv"), original_name="claims.csv"
    )
    assert tasks.start_upload.delay(upload.pk).get() == "done"
    checks = {c.result["claim_ref"]: c for c in ClaimCheck.objects.filter(upload=upload)}

    def rules(ref: str) -> set[str]:
        return {f["rule"] for f in checks[ref].result["findings"]}

    assert "PAYER_REQUIRES_PRIOR_AUTH" in rules("TX-1") and "PAYER_REQUIRES_PRIOR_AUTH" not in rules("AL-1")
    (bad,) = checks["NOWHERE-1"].result["findings"]
    assert bad["rule"] == "CLAIM_INPUT_INVALID" and "location" in bad["message"] and "tx-asc" in bad["message"]
    assert all("FREQUENCY_LIMIT" not in rules(f"F-{n}") for n in range(1, 5))
    (limit,) = [f for f in checks["F-5"].result["findings"] if f["rule"] == "FREQUENCY_LIMIT"]
    assert "2025-04-01, 2025-06-02, 2025-08-04 and 2025-11-03" in limit["message"]
    # kept as the practice's keyed hash with the services; the number is nowhere in a check or the workbook
    hashes = {checks[f"F-{n}"].patient_hash for n in range(1, 6)}
    assert len(hashes) == 1 and len(hashes.pop()) == 64 and checks["TX-1"].patient_hash == ""
    assert checks["F-5"].services == [{"on": "2026-02-10", "code": "62323", "modifiers": []}]
    assert not any("55017" in str(c.result) for c in checks.values())
    upload.refresh_from_db()
    book = load_workbook(io.BytesIO(upload.result_file.read()))
    assert "55017" not in str([list(sheet.values) for sheet in book])
