"""837P import on the demo data (load_defaults --demo): the service facility's ZIP picks the location, so WISeR
applies in Texas and not in Alabama, and REF*EA (the practice's patient identifier) is the patient account that
the frequency limits count across imported claims."""

from __future__ import annotations

import io
import logging

import pytest

from billing.models import ClaimCheck, DraftClaim
from billing.x12.importing import import_837
from tests.billing.x12.x12_data import x12_practice

pytestmark = pytest.mark.django_db

HEAD = [
    "GS*HC*DEMOSUBMIT*CLEARINGHOUSE*20260309*1200*{control}*X*005010X222A1",
    "ST*837*0001*005010X222A1",
    "BHT*0019*00*BATCH{control}*20260309*1200*CH",
    "NM1*41*2*DEMO SPINE AND PAIN CENTER*****46*DEMOSUBMIT",
    "PER*IC*BILLING OFFICE*TE*2055550100",
    "NM1*40*2*DEMO CLEARINGHOUSE*****46*CLEARINGHOUSE",
    "HL*1**20*1",
    "PRV*BI*PXC*208VP0014X",
    "NM1*85*2*DEMO SPINE AND PAIN CENTER*****XX*1000000004",
    "N3*100 MAIN STREET",
    "N4*BIRMINGHAM*AL*352030000",
    "REF*EI*630000001",
]
FACILITIES = {
    "75201": ["NM1*77*2*DEMO SPINE AND PAIN CENTER DALLAS ASC*****XX*1000000004", "N3*2 ELM STREET",
              "N4*DALLAS*TX*752010000"],
    "35203": ["NM1*77*2*DEMO SPINE AND PAIN CENTER ASC*****XX*1000000004", "N3*100 MAIN STREET",
              "N4*BIRMINGHAM*AL*352030000"],
    "90210": ["NM1*77*2*ELSEWHERE ASC*****XX*1000000004", "N3*9 PALM DRIVE", "N4*BEVERLY HILLS*CA*902100000"],
}  # fmt: skip


def esi_837(claims: list[tuple[str, str, str, str | None]], control: int = 201) -> str:
    """An 837P of lumbar ESI claims (62323, M54.16) to Medicare: (CLM01, DTP*472 date, facility ZIP, REF*EA)."""
    body = [segment.format(control=control) for segment in HEAD]
    for n, (ref, on, zip5, account) in enumerate(claims, start=2):
        body += [
            f"HL*{n}*1*22*0",
            "SBR*P*18*******MB",
            "NM1*IL*1*SAMPLE*PAT****MI*1EG4TE5MK72",
            "N3*1 ELM STREET",
            "N4*BIRMINGHAM*AL*352050000",
            "DMG*D8*19480115*F",
            "NM1*PR*2*MEDICARE PART B JURISDICTION J*****PI*10112",
            f"CLM*{ref}*850***24:B:1*Y*A*Y*Y",
            *([f"REF*EA*{account}"] if account else []),
            "HI*ABK:M5416",
            "NM1*82*1*PHYSICIAN*DEMO****XX*1234567893",
            *FACILITIES[zip5],
            "LX*1",
            "SV1*HC:62323*850*UN*1***1",
            f"DTP*472*D8*{on.replace('-', '')}",
            f"REF*6R*{ref}-1",
        ]
    count = len(body)  # ST..SE: the segments after GS (len - 1) and SE itself (+ 1)
    isa = (
        f"ISA*00*          *00*          *ZZ*DEMOSUBMIT     *ZZ*CLEARINGHOUSE  *260309*1200*^*00501*{control:09d}*0*T*:"
    )
    return "~\n".join([isa, *body, f"SE*{count}*0001", f"GE*1*{control}", f"IEA*1*{control:09d}"]) + "~\n"


def rules(result: dict, rule: str) -> list[dict]:
    return [f for f in result["findings"] if f["rule"] == rule]


def test_facility_in_texas_gets_wiser_prior_auth_alabama_does_not(defaults_db):
    practice = x12_practice()
    texas, alabama = import_837(
        io.StringIO(esi_837([("ESI-TX-1", "2026-02-10", "75201", None), ("ESI-AL-1", "2026-02-10", "35203", None)])),
        practice,
    )
    (finding,) = rules(texas, "PAYER_REQUIRES_PRIOR_AUTH")
    assert finding["severity"] == "error" and finding["codes"] == ["62323"] and "WISeR" in finding["reference"]
    assert texas["status"] == "error"
    assert "error" not in alabama and not rules(alabama, "PAYER_REQUIRES_PRIOR_AUTH")
    stored = dict(
        DraftClaim.objects.filter(practice=practice, reference__startswith="ESI-").values_list("reference", "location")
    )
    assert stored == {"ESI-TX-1": "tx-asc", "ESI-AL-1": "al-asc"}


def test_a_facility_zip_of_no_location_refuses_the_claim_alone(defaults_db):
    practice = x12_practice()
    text = esi_837([("ESI-CA-1", "2026-02-10", "90210", None), ("ESI-AL-2", "2026-02-10", "35203", None)])
    elsewhere, alabama = import_837(io.StringIO(text), practice)
    segment = text.split("~\n").index("N4*BEVERLY HILLS*CA*902100000") + 1
    assert elsewhere["error"].startswith(
        f"segment {segment} (N4), loop 2310C, element N403: ZIP 90210 is none of the practice's locations "
        "(al-asc 35203, tx-asc 75201)"
    )
    assert alabama["status"] and not DraftClaim.objects.filter(reference="ESI-CA-1").exists()


def test_fifth_esi_session_across_imported_files_is_over_the_frequency_limit(defaults_db, caplog):
    practice = x12_practice()
    caplog.set_level(logging.DEBUG)
    account = "ACCT-55017"
    first = import_837(
        io.StringIO(
            esi_837(
                [
                    ("ESI-F-1", "2025-04-01", "35203", account),
                    ("ESI-F-2", "2025-06-02", "35203", account),
                    ("ESI-F-3", "2025-08-04", "35203", account),
                    ("ESI-X-1", "2025-09-01", "35203", "ACCT-99"),  # another patient
                ],
                control=301,
            )
        ),
        practice,
    )
    assert all(not rules(r, "FREQUENCY_LIMIT") for r in first)
    fourth, fifth = import_837(
        io.StringIO(
            esi_837([("ESI-F-4", "2025-11-03", "35203", account), ("ESI-F-5", "2026-02-10", "35203", account)], 302)
        ),
        practice,
    )
    assert not rules(fourth, "FREQUENCY_LIMIT")
    (finding,) = rules(fifth, "FREQUENCY_LIMIT")
    assert "2025-04-01, 2025-06-02, 2025-08-04 and 2025-11-03" in finding["message"]
    assert "ACCT-99" not in finding["message"]
    # the account number is kept only as the practice's keyed hash: in no result, check or log
    hashes = set(ClaimCheck.objects.filter(practice=practice, source="x12").values_list("patient_hash", flat=True))
    assert len(hashes) == 2 and all(len(h) == 64 for h in hashes)
    assert account not in str([first, fourth, fifth]) and "55017" not in caplog.text
    assert not any("55017" in str(c.result) for c in ClaimCheck.objects.filter(practice=practice))


def test_without_ref_ea_there_is_no_patient_and_no_frequency_check(defaults_db):
    practice = x12_practice()
    claims = [(f"ESI-N-{n}", on, "35203", None) for n, on in enumerate(
        ["2025-04-01", "2025-06-02", "2025-08-04", "2025-11-03", "2026-02-10"])]  # fmt: skip
    results = import_837(io.StringIO(esi_837(claims)), practice)
    assert all("status" in r and not rules(r, "FREQUENCY_LIMIT") for r in results)
    assert set(ClaimCheck.objects.filter(practice=practice, source="x12").values_list("patient_hash", flat=True)) == {
        ""
    }
