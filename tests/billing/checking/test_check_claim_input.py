"""parse_claim: the contract's claim JSON in, a Claim out, or ClaimInputError naming every bad field."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from billing.checking.claim import INSTITUTIONAL, PROFESSIONAL, ClaimInputError, parse_claim
from tests.billing.claimcheck_data import mild_claim

TODAY = date(2026, 10, 1)


def errors_of(data) -> dict:
    with pytest.raises(ClaimInputError) as caught:
        parse_claim(data, today=TODAY)
    return caught.value.errors


def test_the_contract_claim():
    claim = parse_claim(mild_claim(), today=TODAY)
    assert claim.payer == "medicare"
    assert claim.claim_type == PROFESSIONAL
    assert claim.place_of_service == "24"
    assert claim.date_of_service == date(2026, 5, 4)
    assert claim.submitted_on == date(2026, 9, 30)
    assert claim.rendering_npi == "1234567893"
    assert claim.diagnoses == ("M48062", "Z006")
    assert claim.diagnoses_as_entered == ("M48.062", "Z00.6")
    assert claim.clinical_trial_number == "NCT03072927"
    assert claim.prior_authorization_number is None
    (line,) = claim.lines
    assert (line.number, line.code, line.modifiers, line.units, line.diagnosis_pointers) == (
        1,
        "0275T",
        ("Q0",),
        1,
        (1, 2),
    )
    assert line.charge == Decimal("9500.00")
    assert line.date_of_service is None and claim.line_date(line) == date(2026, 5, 4)


def test_normalises_codes():
    data = mild_claim(
        place_of_service="1",
        diagnoses=[" m48.062 ", "z00 6"],
        condition_codes=[" 30 "],
        claim_type="Institutional",
        lines=[{"code": " 0275t ", "modifiers": [" q0 "], "diagnosis_pointers": [1]}],
    )
    claim = parse_claim(data, today=TODAY)
    assert claim.place_of_service == "01"
    assert claim.diagnoses == ("M48062", "Z006")
    assert claim.condition_codes == ("30",)
    assert claim.claim_type == INSTITUTIONAL
    assert claim.lines[0].code == "0275T" and claim.lines[0].code_as_entered == "0275t"
    assert claim.lines[0].modifiers == ("Q0",)


def test_defaults():
    data = {
        "payer": "medicare",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "lines": [{"code": "0275T"}],
    }
    claim = parse_claim(data, today=TODAY)
    assert claim.submitted_on == TODAY
    assert claim.claim_type == PROFESSIONAL
    assert claim.rendering_npi is None  # a finding (NPI_INVALID), not an input error
    assert claim.diagnoses == () and claim.condition_codes == ()
    assert claim.lines[0].units == 1 and claim.lines[0].modifiers == () and claim.lines[0].charge is None
    assert parse_claim(data).submitted_on is None  # no today: the checker counts to its own today


def test_line_dates_and_service_dates():
    data = mild_claim(lines=[{"code": "0275T"}, {"code": "77003", "date_of_service": "2026-05-03"}])
    claim = parse_claim(data, today=TODAY)
    assert claim.lines[1].date_of_service == date(2026, 5, 3)
    assert claim.service_dates() == (date(2026, 5, 3), date(2026, 5, 4))


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"payer": None}, "payer"),
        ({"payer": 7}, "payer"),
        ({"payer": "  "}, "payer"),
        ({"place_of_service": 24}, "place_of_service"),
        ({"place_of_service": "024"}, "place_of_service"),
        ({"place_of_service": "A4"}, "place_of_service"),
        ({"date_of_service": "05/04/2026"}, "date_of_service"),
        ({"date_of_service": "2026-02-30"}, "date_of_service"),
        ({"date_of_service": "1066-10-14"}, "date_of_service"),
        ({"date_of_service": None}, "date_of_service"),
        ({"submitted_on": 20260930}, "submitted_on"),
        ({"claim_type": "dental"}, "claim_type"),
        ({"rendering_npi": 1234567893}, "rendering_npi"),
        ({"clinical_trial_number": ["NCT03072927"]}, "clinical_trial_number"),
        ({"prior_authorization_number": 5}, "prior_authorization_number"),
        ({"diagnoses": "M48.062"}, "diagnoses"),
        ({"diagnoses": [f"M48.06{i % 3}" for i in range(13)]}, "diagnoses"),
        ({"diagnoses": ["M48.062", 5]}, "diagnoses[1]"),
        ({"diagnoses": ["M48.062", " . "]}, "diagnoses[1]"),
        ({"diagnoses": ["M48.062", "X" * 30]}, "diagnoses[1]"),
        ({"condition_codes": "30"}, "condition_codes"),
        ({"lines": []}, "lines"),
        ({"lines": None}, "lines"),
        ({"lines": {"code": "0275T"}}, "lines"),
        ({"lines": [{"code": "0275T"}] * 51}, "lines"),
        ({"lines": ["0275T"]}, "lines[0]"),
    ],
)
def test_claim_field_errors(change, path):
    errors = errors_of(mild_claim(**change))
    assert path in errors, errors
    assert all(isinstance(message, str) and message for message in errors.values())


@pytest.mark.parametrize(
    ("line", "path"),
    [
        ({"units": 2}, None),
        ({"code": None}, "lines[1].code"),
        ({"code": ""}, "lines[1].code"),
        ({"code": 275}, "lines[1].code"),
        ({"units": "two"}, "lines[1].units"),
        ({"units": 0}, "lines[1].units"),
        ({"units": 1.5}, "lines[1].units"),
        ({"units": True}, "lines[1].units"),
        ({"modifiers": "Q0"}, "lines[1].modifiers"),
        ({"modifiers": ["Q0", "59", "XS", "LT", "RT"]}, "lines[1].modifiers"),
        ({"modifiers": ["Q0", 59]}, "lines[1].modifiers[1]"),
        ({"modifiers": ["Q0", ""]}, "lines[1].modifiers[1]"),
        ({"diagnosis_pointers": 1}, "lines[1].diagnosis_pointers"),
        ({"diagnosis_pointers": [1, 2, 3, 4, 1]}, "lines[1].diagnosis_pointers"),
        ({"diagnosis_pointers": ["A"]}, "lines[1].diagnosis_pointers[0]"),
        ({"diagnosis_pointers": [True]}, "lines[1].diagnosis_pointers[0]"),
        ({"charge": "nine"}, "lines[1].charge"),
        ({"charge": "-1.00"}, "lines[1].charge"),
        ({"charge": "1.005"}, "lines[1].charge"),
        ({"charge": "NaN"}, "lines[1].charge"),
        ({"charge": float("inf")}, "lines[1].charge"),
        ({"charge": "1e400"}, "lines[1].charge"),
        ({"charge": [1]}, "lines[1].charge"),
        ({"date_of_service": "2026-13-01"}, "lines[1].date_of_service"),
    ],
)
def test_line_field_errors(line, path):
    data = mild_claim(lines=[{"code": "0275T"}, {"code": "77003", **line}])
    if path is None:
        assert parse_claim(data, today=TODAY).lines[1].units == 2
        return
    errors = errors_of(data)
    assert list(errors) == [path], errors


def test_charges_as_numbers():
    data = mild_claim(lines=[{"code": "0275T", "charge": 9500}, {"code": "77003", "charge": 120.5}])
    claim = parse_claim(data, today=TODAY)
    assert [line.charge for line in claim.lines] == [Decimal("9500"), Decimal("120.5")]


def test_every_error_at_once():
    errors = errors_of({"payer": 1, "place_of_service": "x", "lines": [{"units": -1, "modifiers": 3}]})
    assert set(errors) == {
        "payer",
        "place_of_service",
        "date_of_service",
        "lines[0].code",
        "lines[0].units",
        "lines[0].modifiers",
    }
    assert "payer:" in str(ClaimInputError(errors))


@pytest.mark.parametrize("data", [None, [], "claim", 3, ["payer"]])
def test_not_an_object(data):
    assert errors_of(data) == {"": "A claim must be a JSON object."}
