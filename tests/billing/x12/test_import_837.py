"""837P import: claims stored as drafts and checked through the same engine; broken claims refused alone."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from billing.models import ClaimCheck, DraftClaim
from billing.x12.importing import X12FileError, import_837
from tests.billing.x12.x12_data import ROUND_TRIP_837, load_ptp, x12_practice

pytestmark = pytest.mark.django_db
REFS = ["MILD-0001", "MILD-0002", "ESI-0003"]


def _rules(result):
    return {f["rule"] for f in result["findings"] if f["severity"] == "error"}


def test_round_trip_file_imports_and_checks(defaults_db, tmp_path):
    practice = x12_practice()
    load_ptp(tmp_path)
    out = io.StringIO()
    call_command("import_x12", str(ROUND_TRIP_837), "--practice", "demo", stdout=out)
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["claim_ref"] for r in results] == ["MILD-0001", "MILD-0002", "ESI-0003"]
    mild, missing_trial, esi = results
    assert "PAYER_REQUIRES_TRIAL_NUMBER" not in _rules(mild)
    assert "PAYER_REQUIRES_TRIAL_NUMBER" in _rules(missing_trial)
    assert missing_trial["status"] == "error"
    assert "NCCI_PTP_CONFLICT" in _rules(esi)
    claim = DraftClaim.objects.get(pk=mild["draft_claim"], practice=practice)
    assert claim.clinical_trial_number == "NCT03072927"
    assert claim.diagnoses == ["M48062", "Z006"]
    assert claim.place_of_service == "24" and claim.payer.key == "medicare"
    assert [(line.code, line.modifiers, line.diagnosis_pointers) for line in claim.lines.all()] == [
        ("0275T", ["Q0"], [1, 2])
    ]
    assert claim.x12.data["line_controls"] == ["MILD-0001-1"]
    assert claim.status == mild["status"]
    assert ClaimCheck.objects.filter(claim=claim, source="x12").count() == 1
    # the patient's name and member id are kept for the export but never printed
    assert "SAMPLE" not in out.getvalue() and "1EG4TE5MK72" not in out.getvalue()


def test_broken_claim_is_refused_alone_with_segment_loop_element(defaults_db):
    practice = x12_practice()
    text = ROUND_TRIP_837.read_text().replace(
        "SV1*HC:0275T:Q0*9500*UN*1***1:2~\nDTP*472*D8*20260302~\nREF*6R*MILD-0002-1",
        "SV1*HC:0275T:Q0*9500*UN*1.5***1:2~\nDTP*472*D8*20260302~\nREF*6R*MILD-0002-1",
    )
    results = import_837(io.StringIO(text), practice)
    assert [r["claim_ref"] for r in results] == ["MILD-0001", "MILD-0002", "ESI-0003"]
    assert "error" in results[1] and "status" in results[0] and "status" in results[2]
    line_number = text.split("~\n").index("SV1*HC:0275T:Q0*9500*UN*1.5***1:2") + 1
    assert results[1]["error"].startswith(f"segment {line_number} (SV1), loop 2400, element SV104:")
    assert DraftClaim.objects.filter(practice=practice, reference__in=["MILD-0001", "ESI-0003"]).count() == 2
    assert not DraftClaim.objects.filter(reference="MILD-0002").exists()


def test_unknown_payer_id_names_2010bb(defaults_db):
    practice = x12_practice()
    text = ROUND_TRIP_837.read_text().replace("PI*10112~\nCLM*ESI-0003", "PI*99999~\nCLM*ESI-0003")
    results = import_837(io.StringIO(text), practice)
    assert "loop 2010BB, element NM109: payer id '99999' is not one of the practice's payers" in results[2]["error"]
    assert "status" in results[0]


def test_cut_file_stores_nothing(defaults_db):
    practice = x12_practice()
    text = ROUND_TRIP_837.read_text()
    cut = text[: text.index("GE*1*101")]
    with pytest.raises(X12FileError, match="without GE|without IEA"):
        import_837(io.StringIO(cut), practice)
    assert not DraftClaim.objects.filter(practice=practice, reference__in=REFS).exists()


def test_wrong_segment_count_stores_nothing(defaults_db):
    practice = x12_practice()
    text = ROUND_TRIP_837.read_text().replace("SE*63*0001", "SE*60*0001")
    with pytest.raises(X12FileError, match=r"element SE01: says '60'"):
        import_837(io.StringIO(text), practice)
    assert not DraftClaim.objects.filter(practice=practice, reference__in=REFS).exists()


def test_not_x12_exits_2(defaults_db, tmp_path):
    x12_practice()
    path = tmp_path / "claims.json"
    path.write_text('{"payer": "medicare"}')
    with pytest.raises(CommandError, match="not an X12 interchange") as exit_info:
        call_command("import_x12", str(path), "--practice", "demo")
    assert exit_info.value.returncode == 2


def test_service_facility_zip_picks_the_location():
    from billing.x12.claims837 import Place, claim_location, read_837
    from billing.x12.segments import iter_segments

    def first():
        with open(ROUND_TRIP_837, encoding="latin-1") as fh:
            return next(read_837(iter_segments(fh), {"10112": "medicare"}))

    record = first()
    assert record.x12["service_facility"] == {
        "name": "DEMO SPINE AND PAIN CENTER ASC",
        "npi": "1000000004",
        "address": [["N3", "100 MAIN STREET"], ["N4", "BIRMINGHAM", "AL", "352030000"]],
        "n4_segment": 28,
    }
    al = Place("al-asc", "Demo Spine & Pain Center ASC", "35203", True)
    al2 = Place("al-two", "Second Birmingham ASC", "35203", False)
    tx = Place("tx-asc", "Demo Spine & Pain Center Dallas ASC", "75201", False)
    claim_location(record, [tx, al])
    assert record.payload["location"] == "al-asc" and not record.errors
    # two locations with the ZIP: the one with the facility's name ("&" read as AND), else the main one
    record = first()
    claim_location(record, [al2, al, tx])
    assert record.payload["location"] == "al-asc"
    record = first()
    claim_location(record, [al2, Place("al-three", "Third", "35203", False)])
    assert "location" not in record.payload
    assert record.errors == [
        "segment 28 (N4), loop 2310C, element N403: ZIP 35203 is several of the practice's locations (al-two, "
        "al-three) and the name matches none of them: name the facility (NM103) as the location is named"
    ]
    # a ZIP that is none of the practice's locations is refused, naming the segment
    record = first()
    claim_location(record, [tx])
    assert record.errors == [
        "segment 28 (N4), loop 2310C, element N403: ZIP 35203 is none of the practice's locations "
        "(tx-asc 75201); add the location (its ZIP gives the state and Medicare contractor the payer rules depend on)"
    ]
    # no keyed location with a ZIP at all: the main location, as for a claim that names none
    record = first()
    claim_location(record, [Place("", "Unkeyed", "35203", True)])
    assert "location" not in record.payload and not record.errors


def test_without_service_facility_the_billing_provider_address_is_used():
    from billing.x12.claims837 import Place, claim_location, read_837
    from billing.x12.segments import iter_segments

    with open(ROUND_TRIP_837, encoding="latin-1") as fh:
        second = list(read_837(iter_segments(fh), {"10112": "medicare"}))[1]  # MILD-0002 has no 2310C
    assert "service_facility" not in second.x12
    claim_location(second, [Place("tx-asc", "Dallas", "75201", False)])
    assert second.errors[0].startswith("segment 12 (N4), loop 2010AA, element N403: ZIP 35203 is none")
    assert "service_facility" not in second.x12 and "billing_provider" not in second.x12  # not stored


def test_same_837_twice_stores_nothing_twice(defaults_db):
    practice = x12_practice()
    first = import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    again = import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    assert all("draft_claim" in r for r in first)
    assert [r["error"].split(": ", 1)[1] for r in again] == [
        f"{r['claim_ref']} is already draft claim {r['draft_claim']}; send a correction with frequency 7 "
        "(replacement) or 8 (void)"
        for r in first
    ]
    assert DraftClaim.objects.filter(practice=practice, reference__in=REFS).count() == 3
    # a replacement of the same claim is a new draft
    replacement = ROUND_TRIP_837.read_text().replace("CLM*MILD-0001*9500***24:B:1", "CLM*MILD-0001*9500***24:B:7")
    replacement = replacement.replace("REF*P4*03072927~", "REF*F8*26068000123400~\nREF*P4*03072927~").replace(
        "SE*63*", "SE*64*"
    )
    results = import_837(io.StringIO(replacement), practice)
    assert "draft_claim" in results[0] and "error" in results[1]
    assert DraftClaim.objects.get(pk=results[0]["draft_claim"]).x12.payer_claim_number == "26068000123400"


def test_a_file_of_two_interchanges(defaults_db):
    practice = x12_practice()
    one = ROUND_TRIP_837.read_text()
    two = (
        one.replace("000000101", "000000102").replace("*101*X*", "*102*X*").replace("GE*1*101", "GE*1*102")
        .replace("MILD-0001", "MILD-1001").replace("MILD-0002", "MILD-1002").replace("ESI-0003", "ESI-1003")
    )  # fmt: skip
    results = import_837(io.StringIO(one + two), practice)
    assert [r["claim_ref"] for r in results] == [*REFS, "MILD-1001", "MILD-1002", "ESI-1003"]
    assert all("draft_claim" in r for r in results)
