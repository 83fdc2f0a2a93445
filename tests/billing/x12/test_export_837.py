"""837P export: what was imported goes out again and validates against X222A1 (pyx12 x12valid)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from billing.models import ClaimStatus, DraftClaim, X12Export
from billing.x12.exporting import export_837
from billing.x12.importing import import_837
from billing.x12.segments import iter_segments
from billing.x12.writer837 import ExportError
from tests.billing.x12.x12_data import ROUND_TRIP_837, load_ptp, x12_practice, x12valid

pytestmark = pytest.mark.django_db
REFS = ["MILD-0001", "MILD-0002", "ESI-0003"]


def _segments(path):
    with open(path, encoding="latin-1") as fh:
        return [seg.elements for _, seg in iter_segments(fh)]


def test_round_trip_exports_and_validates(defaults_db, tmp_path):
    practice = x12_practice()
    load_ptp(tmp_path)
    with open(ROUND_TRIP_837, encoding="latin-1") as fh:
        imported = import_837(fh, practice)
    assert [r["status"] for r in imported][1:] == ["error", "error"]  # missing trial number; NCCI pair
    out = io.StringIO()
    target = tmp_path / "out.837"
    call_command("export_837", "--practice", "demo", *sum((["--claim", r] for r in REFS), []),
                 "--output", str(target), stdout=out)  # fmt: skip
    written = json.loads(out.getvalue())
    assert written["claims"] == REFS
    ok, said = x12valid(target)
    assert ok, said
    segments = _segments(target)
    refs = [s for s in segments if s[0] == "REF"]
    assert ["REF", "P4", "03072927"] in refs  # the 8 digits, no NCT
    assert ["REF", "6R", "MILD-0001-1"] in refs and ["REF", "6R", "ESI-0003-2"] in refs
    sv1 = [s for s in segments if s[0] == "SV1"]
    assert sv1[0][1] == "HC:0275T:Q0" and sv1[0][7] == "1:2"
    assert ["HI", "ABK:M48062", "ABF:Z006"] in segments
    assert sum(1 for s in segments if s[0] == "CLM") == 3
    # the export reads back as the same claims (but the day it was written, BHT04)
    assert _claims(target) == _claims(ROUND_TRIP_837)


def _claims(path):
    from billing.x12.claims837 import read_837

    with open(path, encoding="latin-1") as fh:
        records = list(read_837(iter_segments(fh), {"10112": "medicare"}))
    return [
        (r.claim_ref, r.errors, {**r.payload, "submitted_on": None}, r.x12["line_controls"], r.x12["frequency"])
        for r in records
    ]


def test_control_numbers_increase_per_practice(defaults_db, tmp_path):
    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    first = export_837(practice, tmp_path / "a.837", ["MILD-0001"])
    second = export_837(practice, tmp_path / "b.837", ["MILD-0001"])
    assert second["control_number"] == first["control_number"] + 1
    isa = _segments(tmp_path / "b.837")[0]
    assert isa[13] == f"{second['control_number']:09d}"
    assert list(X12Export.objects.filter(practice=practice).values_list("control_number", flat=True)) == [
        second["control_number"],
        first["control_number"],
    ]


def test_replacement_carries_frequency_7_and_f8(defaults_db, tmp_path):
    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    claim = DraftClaim.objects.get(practice=practice, reference="MILD-0001")
    claim.x12.frequency = "7"
    claim.x12.save()
    with pytest.raises(ExportError, match="REF\\*F8"):
        export_837(practice, tmp_path / "r.837", ["MILD-0001"])
    claim.x12.payer_claim_number = "26068000123400"
    claim.x12.save()
    export_837(practice, tmp_path / "r.837", ["MILD-0001"])
    ok, said = x12valid(tmp_path / "r.837")
    assert ok, said
    segments = _segments(tmp_path / "r.837")
    assert next(s for s in segments if s[0] == "CLM")[5] == "24:B:7"
    assert ["REF", "F8", "26068000123400"] in segments


def test_ready_claims_by_default_and_clear_refusals(defaults_db, tmp_path):
    practice = x12_practice()
    with pytest.raises(CommandError, match="no claim ready to send"):
        call_command("export_837", "--practice", "demo", "--output", str(tmp_path / "x.837"))
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    DraftClaim.objects.filter(practice=practice, reference="MILD-0001").update(status=ClaimStatus.READY)
    result = export_837(practice, tmp_path / "ready.837")
    assert result["claims"] == ["MILD-0001"]
    # a claim typed in the admin has no subscriber: refused, naming the claim and the loop
    demo = DraftClaim.objects.filter(practice=practice).exclude(reference__in=REFS).first()
    with pytest.raises(ExportError, match=rf"claim {demo.reference}: .*2010BA"):
        export_837(practice, tmp_path / "demo.837", [demo.reference])
    assert not (tmp_path / "demo.837").exists()


def test_x12valid_says_failure_on_a_broken_file(tmp_path):
    broken = tmp_path / "broken.txt"
    broken.write_text(ROUND_TRIP_837.read_text().replace("SV1*HC:64483*", "SV1*ZZ:64483*"))
    ok, said = x12valid(broken)
    assert not ok and "Failure" in said


def test_patient_who_is_not_the_subscriber_goes_out_in_2000c(defaults_db, tmp_path):
    from billing.x12.claims837 import read_837

    practice = x12_practice()
    text = ROUND_TRIP_837.read_text()
    head, rest = text.split("HL*2*1*22*0~\n", 1)
    subscriber_end = rest.index("CLM*MILD-0001")
    subscriber = (
        rest[:subscriber_end]
        .replace("SBR*P*18*******MB~", "SBR*P********MB~")
        .replace("DMG*D8*19480115*F~\n", "")
        .replace("N3*1 ELM STREET~\nN4*BIRMINGHAM*AL*352050000~\n", "")
    )
    patient = (
        "HL*3*2*23*0~\nPAT*01~\nNM1*QC*1*SAMPLE*SPOUSE~\nN3*1 ELM STREET~\nN4*BIRMINGHAM*AL*352050000~\n"
        "DMG*D8*19500101*M~\n"
    )
    claim = rest[subscriber_end : rest.index("HL*3*1*22*0~")]
    count = sum(1 for _ in (head + "HL*2*1*22*1~\n" + subscriber + patient + claim).split("~\n")) - 3 + 1
    body = head + "HL*2*1*22*1~\n" + subscriber + patient + claim + f"SE*{count}*0001~\nGE*1*101~\nIEA*1*000000101~\n"
    source = tmp_path / "patient.txt"
    source.write_text(body)
    ok, said = x12valid(source)
    assert ok, said
    (result,) = import_837(io.StringIO(body), practice)
    assert "draft_claim" in result, result
    with open(source, encoding="latin-1") as fh:
        (record,) = list(read_837(iter_segments(fh), {"10112": "medicare"}))
    assert record.x12["patient"]["pat"] == ["01"] and record.x12["patient"]["person"]["last"] == "SAMPLE"
    export_837(practice, tmp_path / "out.837", ["MILD-0001"])
    ok, said = x12valid(tmp_path / "out.837")
    assert ok, said
    segments = _segments(tmp_path / "out.837")
    assert ["HL", "3", "2", "23", "0"] in segments and ["PAT", "01"] in segments
    assert next(s for s in segments if s[0] == "SBR")[2] == ""  # SBR02 empty: the patient is not the subscriber


def test_claim_typed_in_the_admin_gets_its_subscriber_and_exports(defaults_db, client, tmp_path):
    from django.contrib.auth import get_user_model

    practice = x12_practice()
    typed = DraftClaim.objects.filter(practice=practice).exclude(reference__in=REFS).order_by("id").first()
    client.force_login(get_user_model().objects.get(username="billing"))
    answer = client.post(
        "/admin/billing/claimx12/add/",
        {"claim": typed.pk, "frequency": "1", "payer_claim_number": "", "member_id": "5EG4TE5MK76",
         "last_name": "Typed", "first_name": "Person", "birth_date": "1947-05-06", "sex": "F",
         "address": "5 Birch Street", "city": "Birmingham", "state": "AL", "zip_code": "352050000"},
    )  # fmt: skip
    assert answer.status_code == 302, answer.content.decode()[:3000]
    export_837(practice, tmp_path / "typed.837", [typed.reference])
    ok, said = x12valid(tmp_path / "typed.837")
    assert ok, said
    segments = _segments(tmp_path / "typed.837")
    assert ["NM1", "IL", "1", "TYPED", "PERSON", "", "", "", "MI", "5EG4TE5MK76"] in segments
    assert ["DMG", "D8", "19470506", "F"] in segments
    # the member id is required with the names
    bad = client.post("/admin/billing/claimx12/add/", {"claim": typed.pk, "frequency": "1", "member_id": "X1"})
    assert bad.status_code == 200 and "at least the member id, last name and first name" in bad.content.decode()
