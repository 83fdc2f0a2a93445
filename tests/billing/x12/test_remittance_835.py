"""835 posting: payments linked by CLP01, CAS/MOA/LQ kept, unmatched to the exception list, posted once."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from billing.models import ClaimPayment, Remittance
from billing.x12.importing import X12FileError, import_835, import_837
from tests.billing.x12.x12_data import DATA, ROUND_TRIP_837, x12_practice

pytestmark = pytest.mark.django_db
REMIT_835 = DATA / "835_mild_denial.txt"


def _post(practice):
    out = io.StringIO()
    call_command("import_x12", str(REMIT_835), "--practice", practice.key, stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_835_posts_each_claim_payment(defaults_db):
    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    results = _post(practice)
    assert results[0] == {
        "claim_ref": "MILD-0001",
        "matched": True,
        "status": "1",
        "paid": "7600.00",
        "adjustments": [{"group": "CO", "carc": "45", "amount": "1900.00"}],
        "remarks": [],
    }
    assert results[1] == {
        "claim_ref": "MILD-0002",
        "matched": True,
        "status": "4",
        "paid": "0.00",
        "adjustments": [{"group": "CO", "carc": "16", "amount": "9500.00"}],
        "remarks": ["MA50"],
    }
    assert results[2]["adjustments"] == [
        {"group": "CO", "carc": "45", "amount": "240.00"},
        {"group": "CO", "carc": "97", "amount": "250.00"},
    ]
    assert results[2]["remarks"] == ["M80"]
    assert results[3]["claim_ref"] == "OTHER-0099" and results[3]["matched"] is False
    remittance = Remittance.objects.get(practice=practice)
    assert (remittance.trace_number, remittance.payer_identifier, str(remittance.paid_total)) == (
        "EFT0000777",
        "1512345678",
        "8800.00",
    )
    assert remittance.payer.key == "medicare" and remittance.payments == 4
    paid = ClaimPayment.objects.get(claim_ref="MILD-0001")
    assert paid.claim.reference == "MILD-0001" and paid.payer_claim_number == "26068000123400"
    assert paid.lines[0]["control"] == "MILD-0001-1" and paid.lines[0]["paid"] == "7600.00"
    unmatched = ClaimPayment.objects.get(claim_ref="OTHER-0099")
    assert unmatched.claim is None and unmatched.payer_key == "medicare"
    # no patient name or member id in what is printed
    assert "SAMPLE" not in json.dumps(results) and "1EG4TE5MK72" not in json.dumps(results)


def test_same_835_twice_posts_nothing_the_second_time(defaults_db):
    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    first = _post(practice)
    before = list(ClaimPayment.objects.order_by("id").values_list("id", "claim_ref", "paid"))
    second = _post(practice)
    assert [r["claim_ref"] for r in second] == [r["claim_ref"] for r in first]
    assert all(r["already_posted"] for r in second)
    assert list(ClaimPayment.objects.order_by("id").values_list("id", "claim_ref", "paid")) == before
    assert Remittance.objects.filter(practice=practice).count() == 1


def test_cut_835_posts_nothing(defaults_db):
    practice = x12_practice()
    text = REMIT_835.read_text()
    with pytest.raises(X12FileError, match="ends after segment 48 without SE"):
        import_835(io.StringIO(text[: text.index("SE*47")]), practice)
    with pytest.raises(X12FileError, match=r"segment 18 \('NM1'\) has no segment terminator"):
        import_835(io.StringIO(text[: text.index("PAT****MI")]), practice)
    assert not Remittance.objects.filter(practice=practice).exists()
    assert not ClaimPayment.objects.filter(practice=practice).exists()


def test_payer_claim_number_from_the_835_makes_a_valid_replacement(defaults_db, tmp_path):
    from billing.models import ClaimX12
    from billing.x12.exporting import export_837, mark_corrected
    from billing.x12.segments import iter_segments
    from tests.billing.x12.x12_data import x12valid

    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    extra = ClaimX12.objects.get(claim__practice=practice, claim__reference="MILD-0002")
    with pytest.raises(ValueError, match="no posted 835"):
        mark_corrected(extra, "7")
    _post(practice)
    mark_corrected(extra, "7")
    extra.refresh_from_db()
    assert (extra.frequency, extra.payer_claim_number) == ("7", "26068000123401")
    export_837(practice, tmp_path / "corrected.837", ["MILD-0002"])
    ok, said = x12valid(tmp_path / "corrected.837")
    assert ok, said
    with open(tmp_path / "corrected.837", encoding="latin-1") as fh:
        segments = [seg.elements for _, seg in iter_segments(fh)]
    assert ["REF", "F8", "26068000123401"] in segments
