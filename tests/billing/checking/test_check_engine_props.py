"""The engine as a whole: one snapshot per date, the result's shape, robustness on any input, and speed."""

from __future__ import annotations

import json
import os
import time
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.checking.claim import ClaimInputError, latest_date, parse_claim
from billing.checking.engine import CATALOGUE, check_claim
from billing.checking.findings import SEVERITIES, Finding, worst_status
from billing.checking.rules.base import Rule
from codes.snapshot import CodingSnapshot
from practice.policy import (
    COVERAGE_CHOICES,
    POSITIONS,
    DiagnosisRequirement,
    PayerRuleVersion,
)
from tests.billing.claimcheck_data import (
    PAYER_RULES,
    PAYERS,
    TODAY,
    full_releases,
    mild_claim,
    rules_for,
    run,
    snapshots,
)

# ---- the catalogue ------------------------------------------------------------------------------------------

CONTRACT_RULES = {
    "CODING_NOT_LOADED": "warning",
    "PROCEDURE_CODE_UNKNOWN": "error",
    "PROCEDURE_CODE_NOT_IN_EFFECT": "error",
    "DIAGNOSIS_CODE_UNKNOWN": "error",
    "DIAGNOSIS_NOT_BILLABLE": "error",
    "DIAGNOSIS_NOT_IN_EFFECT": "error",
    "DIAGNOSIS_POINTER_INVALID": "error",
    "MODIFIER_UNKNOWN": "error",
    "MODIFIER_NOT_IN_EFFECT": "error",
    "MODIFIER_NOT_APPLICABLE": "warning",
    "UNITS_EXCEED_MUE": "error",
    "NCCI_PTP_CONFLICT": "error",
    "PLACE_OF_SERVICE_UNKNOWN": "error",
    "NPI_INVALID": "error",
    "DUPLICATE_LINE": "warning",
    "PAYER_NOT_COVERED": "error",
    "PAYER_REQUIRES_MODIFIER": "error",
    "PAYER_REQUIRES_DIAGNOSIS": "error",
    "PAYER_REQUIRES_TRIAL_NUMBER": "error",
    "PAYER_TRIAL_NOT_APPROVED": "warning",
    "PAYER_REQUIRES_PRIOR_AUTH": "error",
    "PAYER_PLACE_OF_SERVICE": "error",
    "TIMELY_FILING": "warning",
    "FEE_SCHEDULE_STATUS": "warning",
}


def test_catalogue_holds_the_contract_rules_with_their_default_severities():
    for rule, severity in CONTRACT_RULES.items():
        assert CATALOGUE[rule].severity == severity, rule
    assert {"PAYER_UNKNOWN", "CLAIM_NO_DIAGNOSIS", "DATE_OF_SERVICE_AFTER_SUBMISSION"} <= set(CATALOGUE)


def test_every_rule_has_a_message_for_billing_staff():
    for rule_id, rule in CATALOGUE.items():
        assert issubclass(rule, Rule) and rule.id == rule_id
        assert rule.severity in SEVERITIES
        assert len(rule.message()) > 30 and rule.message().endswith("."), rule_id


# ---- the engine -------------------------------------------------------------------------------------------------


class CountingSnapshots:
    """A ``snapshot_for`` that records the dates asked for."""

    def __init__(self):
        self.asked: list[date] = []

    def __call__(self, on: date) -> CodingSnapshot:
        self.asked.append(on)
        return CodingSnapshot(on, full_releases())


def test_one_snapshot_per_date():
    data = mild_claim(
        lines=[
            {"code": "0275T", "modifiers": ["Q0"], "diagnosis_pointers": [1, 2]},
            {"code": "0275T", "modifiers": ["Q0", "76"], "diagnosis_pointers": [1, 2], "date_of_service": "2025-11-03"},
            {"code": "G0276", "modifiers": ["Q0"], "diagnosis_pointers": [1, 2], "date_of_service": "2025-11-03"},
        ]
    )
    snapshot_for = CountingSnapshots()
    result = check_claim(parse_claim(data), snapshot_for, PAYERS["medicare"], rules_for("medicare"), TODAY)
    assert sorted(snapshot_for.asked) == [date(2025, 11, 3), date(2026, 5, 4)]
    # the 2025 lines are checked against the 2025 fee schedule
    fees = [f for f in result.findings if f.rule == "FEE_SCHEDULE_STATUS"]
    assert {f.line for f in fees} == {2, 3}
    assert all("PPRRVU2025_Oct" in f.reference for f in fees)
    # the coding used on both dates, each release once, kinds in order
    releases = [entry["release"] for entry in result.to_dict()["coding"]]
    assert len(releases) == len(set(releases))
    assert "PFS RVU25D (PPRRVU2025_Oct)" in releases and "ICD-10-CM April 2026 update" in releases
    assert "ICD-10-CM FY2026" in releases


def test_no_payer_rules_asked_for_an_unknown_payer():
    def rules_for_nobody(on):
        raise AssertionError("no rules for an unknown payer")

    claim = parse_claim(mild_claim(payer="aetna"))
    result = check_claim(claim, snapshots(full_releases()), None, rules_for_nobody, TODAY)
    assert [f.rule for f in result.findings if f.severity == "error"] == ["PAYER_UNKNOWN"]


def test_result_json_matches_the_contract():
    result = run(mild_claim(rendering_npi="1234567890", lines=[{"code": "0275T", "diagnosis_pointers": [1, 2]}]))
    out = result.to_dict()
    assert list(out) == ["status", "date_of_service", "coding", "findings"]
    assert out["status"] == "error" and out["date_of_service"] == "2026-05-04"
    assert set(out["coding"][0]) == {"kind", "release", "effective_from", "effective_to"}
    npi = next(f for f in out["findings"] if f["rule"] == "NPI_INVALID")
    assert "line" not in npi  # claim-level
    q0 = next(f for f in out["findings"] if f["rule"] == "PAYER_REQUIRES_MODIFIER")
    assert q0["line"] == 1 and q0["codes"] == ["0275T", "Q0"]
    assert set(q0) == {"rule", "severity", "line", "codes", "message", "reference", "suggestion"}
    # worst first
    ranks = [SEVERITIES.index(f["severity"]) for f in out["findings"]]
    assert ranks == sorted(ranks)
    json.dumps(out)


def test_status_is_the_worst_severity():
    def finding(severity):
        return Finding("X", severity, "m")

    assert worst_status([]) == "clean"
    assert worst_status([finding("info")]) == "clean"
    assert worst_status([finding("info"), finding("warning")]) == "warning"
    assert worst_status([finding("warning"), finding("error"), finding("info")]) == "error"


# ---- robustness: any input --------------------------------------------------------------------------------------

CLAIM_KEYS = [
    "payer",
    "claim_type",
    "place_of_service",
    "date_of_service",
    "submitted_on",
    "rendering_npi",
    "diagnoses",
    "clinical_trial_number",
    "prior_authorization_number",
    "condition_codes",
    "lines",
]
LINE_KEYS = ["code", "modifiers", "units", "diagnosis_pointers", "charge", "date_of_service"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["2026-05-04", "0275T", "M48.062", "24", "Q0", "9500.00", "NCT03072927", "1e999"]),
    lambda children: st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=8), children, max_size=6),
    max_leaves=20,
)
json_lines = st.lists(st.fixed_dictionaries({}, optional=dict.fromkeys(LINE_KEYS, json_values)), max_size=4)
json_claims = st.fixed_dictionaries(
    {}, optional={**dict.fromkeys(CLAIM_KEYS, json_values), "lines": json_lines | json_values}
)

# Valid claims over codes the in-memory coding knows and does not know, across its release dates.
# Dates on and around the in-memory releases' boundaries half the time, any date the other half.
BOUNDARIES = [
    date(2011, 7, 1),
    date(2016, 12, 7),
    date(2018, 6, 1),
    date(2020, 3, 2),
    date(2021, 6, 1),
    date(2024, 12, 31),
    date(2025, 11, 3),
    date(2026, 4, 1),
    date(2026, 5, 4),
    date(2026, 6, 30),
    date(2026, 7, 15),
    date(2026, 9, 30),
]
# up to the latest date a claim may carry (two years from today: billing.checking.claim.latest_date)
days = st.sampled_from(BOUNDARIES) | st.dates(
    min_value=date(2010, 1, 1), max_value=min(date(2028, 12, 31), latest_date())
)
iso_days = days.map(date.isoformat)
procedure_codes = st.sampled_from(
    [
        "0275T",
        "G0276",
        "77003",
        "72275",
        "64483",
        "62321",
        "93010",
        "22841",
        "0469T",
        "C8907",
        "GA",
        "0001U",
        "0029U",
        "0030U",
        "0009U",
        "0001M",
        "80050",
        "99999",
    ]
) | st.text(alphabet="0123456789ABCTUZ.", min_size=1, max_size=7).filter(lambda s: s.strip("."))
diagnosis_codes = st.sampled_from(
    ["M48.062", "M48.061", "M48.06", "M48", "Z00.6", "M54.5", "M54.50", "M54.51", "A00.0", "Q99.999"]
) | st.text(alphabet="AMZ0123456789.", min_size=1, max_size=8).filter(lambda s: s.strip("."))
modifiers = st.sampled_from(["Q0", "Q1", "GA", "GD", "AC", "26", "TC", "50", "LT", "RT", "59", "XS", "76", "91", "ZZ"])
lines = st.fixed_dictionaries(
    {"code": procedure_codes},
    optional={
        "modifiers": st.lists(modifiers, max_size=4),
        "units": st.integers(min_value=1, max_value=10**6),
        "diagnosis_pointers": st.lists(st.integers(min_value=-3, max_value=15), max_size=4),
        "charge": st.sampled_from(["0", "9500.00", "100.5", 120, None]),
        "date_of_service": iso_days,
    },
)
valid_claims = st.fixed_dictionaries(
    {
        "payer": st.sampled_from(["medicare", "medicare-advantage", "commercial-bcbs", "aetna"]),
        "place_of_service": st.sampled_from(["24", "22", "11", "1", "77", "99", "0"]),
        "date_of_service": iso_days,
        "lines": st.lists(lines, min_size=1, max_size=8),
    },
    optional={
        "claim_type": st.sampled_from(["professional", "institutional"]),
        "submitted_on": iso_days,
        "rendering_npi": st.sampled_from(["1234567893", "1234567890", "123", "abcdefghij"]) | st.none(),
        "diagnoses": st.lists(diagnosis_codes, max_size=12),
        "clinical_trial_number": st.sampled_from(["NCT03072927", "NCT12345678", "NCT123", "nct02093520", ""]),
        "prior_authorization_number": st.sampled_from(["PA-1", None]),
        "condition_codes": st.lists(st.sampled_from(["30", "31", "A1"]), max_size=3),
    },
)
requirements = st.builds(
    DiagnosisRequirement,
    st.lists(st.sampled_from(["M48062", "Z006", "M48.06*", "Z*", "*", ""]), min_size=0, max_size=3).map(tuple),
    st.sampled_from([*POSITIONS, "nowhere"]),
)


@st.composite
def payer_rules_for(draw, data: dict) -> list[PayerRuleVersion]:
    """Payer rule versions of any shape that apply to the claim: its payer, its codes, in force on its date."""
    dos = date.fromisoformat(data["date_of_service"])
    codes = [line["code"].replace(".", "").upper() for line in data["lines"]]
    rules = []
    for i in range(draw(st.integers(min_value=0, max_value=3))):
        start = dos - timedelta(days=draw(st.integers(min_value=0, max_value=4000)))
        rules.append(
            PayerRuleVersion(
                id=1000 + i,
                name=draw(st.sampled_from(["Random rule", ""])),
                payer_key=data["payer"],
                codes=tuple(draw(st.lists(st.sampled_from(codes), min_size=1, max_size=3))),
                effective_from=start,
                effective_to=draw(st.none() | st.just(dos) | days),
                version=draw(st.integers(min_value=1, max_value=3)),
                coverage=draw(st.sampled_from([*COVERAGE_CHOICES, "unknown"])),
                required_modifiers=tuple(draw(st.lists(modifiers, max_size=2))),
                required_diagnoses=tuple(draw(st.lists(requirements, max_size=2))),
                trial_number_required=draw(st.booleans()),
                approved_trials=tuple(draw(st.lists(st.sampled_from(["NCT03072927", "nct12345678", ""]), max_size=2))),
                prior_auth_required=draw(st.booleans()),
                allowed_places_of_service=tuple(draw(st.lists(st.sampled_from(["22", "24", "1", ""]), max_size=2))),
                place_of_service_severity=draw(st.sampled_from(["error", "warning", "fatal"])),
                certainty=draw(st.sampled_from(["sure", "likely", "unverified"])),
                practice_override=draw(st.booleans()),
            )
        )
    return rules


@st.composite
def claims_with_rules(draw) -> tuple[dict, list[PayerRuleVersion]]:
    data = draw(valid_claims)
    return data, draw(payer_rules_for(data))


# More examples for a longer hunt: CHECK_PROPERTY_EXAMPLES=20000 pytest tests/billing -k any_
EXAMPLES = int(os.environ.get("CHECK_PROPERTY_EXAMPLES", "400"))


def assert_sound(result, claim) -> None:
    """Only catalogue rule ids, sound severities and lines, a consistent status, JSON that serialises."""
    for finding in result.findings:
        assert finding.rule in CATALOGUE, finding.rule
        assert finding.severity in SEVERITIES
        assert finding.line is None or 1 <= finding.line <= len(claim.lines)
        assert finding.message and finding.reference
    assert result.status == worst_status(result.findings)
    json.dumps(result.to_dict())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=json_claims | json_values)
def test_any_json_is_a_claim_or_an_input_error(data):
    try:
        claim = parse_claim(data, today=TODAY)
    except ClaimInputError as error:
        assert error.errors and all(isinstance(k, str) and v for k, v in error.errors.items())
        return
    result = check_claim(claim, snapshots(full_releases()), PAYERS.get(claim.payer), rules_for(claim.payer), TODAY)
    assert_sound(result, claim)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(claim_and_rules=claims_with_rules(), today=days)
def test_any_valid_claim_is_checked(claim_and_rules, today):
    data, extra_rules = claim_and_rules
    claim = parse_claim(data, today=today)
    snapshot_for = CountingSnapshots()
    rules = [*PAYER_RULES, *extra_rules]
    result = check_claim(claim, snapshot_for, PAYERS.get(claim.payer), rules_for(claim.payer, rules), today)
    assert_sound(result, claim)
    assert len(snapshot_for.asked) == len(set(snapshot_for.asked)) == len(claim.service_dates())


# ---- speed ------------------------------------------------------------------------------------------------------


def _four_line_claim():
    data = mild_claim(
        date_of_service="2026-07-15",
        lines=[
            {"code": "0275T", "modifiers": ["Q0"], "diagnosis_pointers": [1, 2], "charge": "9500.00"},
            {"code": "77003", "modifiers": ["26"], "diagnosis_pointers": [1], "charge": "120.00"},
            {"code": "0001U", "modifiers": [], "units": 2, "diagnosis_pointers": [1], "charge": "100.00"},
            {"code": "0030U", "modifiers": ["XS"], "diagnosis_pointers": [1], "charge": "100.00"},
        ],
    )
    claim = parse_claim(data, today=TODAY)
    snapshot_for = snapshots(full_releases())  # a fresh snapshot per call, nothing cached across claims
    payer, rules = PAYERS["medicare"], rules_for("medicare")
    return claim, snapshot_for, payer, rules, check_claim(claim, snapshot_for, payer, rules, TODAY)


def test_the_four_line_claim_finds_the_pair_and_the_units():
    result = _four_line_claim()[-1]
    assert {"NCCI_PTP_CONFLICT", "UNITS_EXCEED_MUE"} <= {f.rule for f in result.findings}


@pytest.mark.bench
def test_a_four_line_claim_takes_well_under_a_millisecond():
    claim, snapshot_for, payer, rules, result = _four_line_claim()

    runs = 500
    best = timedelta.max.total_seconds()
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(runs):
            check_claim(claim, snapshot_for, payer, rules, TODAY)
        best = min(best, (time.perf_counter() - start) / runs)
    print(f"check_claim, 4 lines: {best * 1e6:.0f} µs per claim ({len(result.findings)} findings)")
    assert best < 0.001
