"""Issue 13 on the shipped default data (load_defaults: fixtures/ code sets, the simple-icd-10-cm release, the payers
and payer rules of fixtures/practice/): the payer-rule points, the guide agreeing with the checker, check_claims
on arrays and the look-up's note. Nothing here reads files from outside the project.
"""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.claims.checker import Checker
from billing.guide.data import CoverageRow
from practice.selectors import RuleBook
from tests.billing.mild_guide import MILD_CLAIM_FIELDS  # mild®'s claim items, from its profile fixture

pytestmark = pytest.mark.django_db


def mild(**fields) -> dict:
    """A Medicare CED claim for mild® in an ASC on a date the shipped ICD-10-CM release covers; fields override."""
    data = {
        "payer": "medicare",
        "claim_type": "professional",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "submitted_on": "2026-05-11",
        "rendering_npi": "1234567893",
        "diagnoses": ["M48.062", "Z00.6"],
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": None,
        "condition_codes": [],
        "lines": [
            {"code": "0275T", "modifiers": ["Q0"], "units": 1, "diagnosis_pointers": [1, 2], "charge": "9500.00"}
        ],
    }
    data.update(fields)
    return data


def line(code: str, *modifiers: str, pointers=(1, 2), **more) -> dict:
    return {"code": code, "modifiers": list(modifiers), "units": 1, "diagnosis_pointers": list(pointers), **more}


def check(data: dict) -> dict:
    return Checker.create().check(data, None)


def of_rule(result: dict, rule: str) -> list[dict]:
    return [f for f in result["findings"] if f["rule"] == rule]


def rules(result: dict) -> set[str]:
    return {f["rule"] for f in result["findings"]}


ENROLMENT_RULES = {"PAYER_REQUIRES_MODIFIER", "PAYER_REQUIRES_TRIAL_NUMBER", "PAYER_REQUIRES_DIAGNOSIS"}


def test_the_contract_example_claim_is_clean(defaults_db):
    result = check(mild())
    assert result["status"] == "clean", result["findings"]


# ---- 2. a patient outside an approved study (NCD 150.13; Pub 100-04 ch. 32 §69.6, ch. 30 §40.3.6) ---------------


@pytest.mark.parametrize("waiver", ["GA", "GZ"])
def test_outside_a_study_is_not_covered_with_abn_advice_never_add_q0(defaults_db, waiver):
    claim = mild(
        clinical_trial_number=None,
        diagnoses=["M48.062"],
        lines=[{"code": "0275T", "modifiers": [waiver], "units": 1, "diagnosis_pointers": [1]}],
    )
    result = check(claim)
    (finding,) = of_rule(result, "PAYER_NOT_COVERED")
    assert finding["severity"] == "error" and "only for patients enrolled in an approved study" in finding["message"]
    assert "ABN" in finding["suggestion"] and "GA" in finding["suggestion"] and "GZ" in finding["suggestion"]
    assert "Do not add Q0, an NCT number or Z00.6" in finding["suggestion"]
    assert "ch. 32 §69.6" in finding["reference"]
    assert not ENROLMENT_RULES & rules(result)
    assert not any("Add modifier Q0" in f["suggestion"] for f in result["findings"])


def test_outside_a_study_with_enrolment_fields_says_to_remove_them(defaults_db):
    claim = mild(
        clinical_trial_number=None,
        lines=[{"code": "0275T", "modifiers": ["Q0", "GA"], "units": 1, "diagnosis_pointers": [1, 2]}],
    )
    (finding,) = of_rule(check(claim), "PAYER_NOT_COVERED")
    assert "Remove Q0 and Z00.6" in finding["suggestion"]


def test_no_trial_number_and_no_ga_gz_offers_both_paths(defaults_db):
    claim = mild(
        clinical_trial_number=None,
        diagnoses=["M48.062"],
        lines=[{"code": "0275T", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    )
    result = check(claim)
    assert {"PAYER_REQUIRES_TRIAL_NUMBER", "PAYER_REQUIRES_MODIFIER", "PAYER_REQUIRES_DIAGNOSIS"} <= rules(result)
    for finding in result["findings"]:
        if finding["rule"] in ENROLMENT_RULES:
            text = finding["suggestion"]
            assert "If the patient is enrolled in an approved study" in text, finding
            assert "If the patient is not enrolled" in text and "ABN" in text and "GA" in text and "GZ" in text
    # with the trial number the patient is enrolled: plain advice
    (q0,) = of_rule(
        check(mild(lines=[{"code": "0275T", "units": 1, "diagnosis_pointers": [1, 2]}])), "PAYER_REQUIRES_MODIFIER"
    )
    assert q0["suggestion"] == "Add modifier Q0 to line 1."


def test_institutional_claim_without_trial_fields_offers_both_paths_for_condition_code_30(defaults_db):
    claim = mild(claim_type="institutional", place_of_service="22", clinical_trial_number=None)
    (finding,) = of_rule(check(claim), "PAYER_REQUIRES_CONDITION_CODE")
    assert "condition code 30" in finding["suggestion"] and "If the patient is not enrolled" in finding["suggestion"]


# ---- 3. G0276 (HCPCS descriptor: blinded / placebo arm of a CED trial; BCBSA 7.01.126) --------------------------


@pytest.mark.parametrize("payer", ["medicare", "medicare-advantage"])
def test_g0276_with_the_unblinded_claims_study_is_not_approved(defaults_db, payer):
    claim = mild(payer=payer, lines=[{"code": "G0276", "modifiers": ["Q0"], "units": 1, "diagnosis_pointers": [1, 2]}])
    result = check(claim)
    (finding,) = of_rule(result, "PAYER_TRIAL_NOT_APPROVED")
    assert finding["severity"] == "warning"
    assert "blinded" in finding["message"] and "0275T" in finding["message"]
    assert "NCT03072927" in finding["codes"] and "G0276" in finding["codes"]
    blinded_trial = check({**claim, "clinical_trial_number": "NCT02079038"})
    assert not of_rule(blinded_trial, "PAYER_TRIAL_NOT_APPROVED")
    # 0275T in the claims study stays fine
    assert not of_rule(check(mild(payer=payer)), "PAYER_TRIAL_NOT_APPROVED")


def test_blue_plan_does_not_cover_g0276_either(defaults_db):
    claim = mild(
        payer="commercial-bcbs",
        clinical_trial_number=None,
        diagnoses=["M48.062"],
        lines=[{"code": "G0276", "modifiers": [], "units": 1, "diagnosis_pointers": [1]}],
    )
    (finding,) = of_rule(check(claim), "PAYER_NOT_COVERED")
    assert "7.01.126" in finding["reference"] and finding["codes"] == ["G0276"]


# ---- 6. Z00.6 position: a warning, and the guide says the same --------------------------------------------------


def test_z006_first_is_a_warning_not_an_error(defaults_db):
    result = check(mild(diagnoses=["Z00.6", "M48.062"]))
    assert result["status"] == "warning"
    (finding,) = of_rule(result, "PAYER_REQUIRES_DIAGNOSIS")
    assert finding["severity"] == "warning"
    assert "CMS accepts Z00.6 as the primary or a secondary diagnosis" in finding["message"]
    assert "M48.062" in finding["message"]
    # the guide's claim-field row and coverage row say the same
    (z006,) = [f for f in MILD_CLAIM_FIELDS if f.item.startswith("Diagnosis Z00.6")]
    assert "primary or a secondary" in z006.notes and "warning" in z006.notes
    book = RuleBook.load()
    (rule,) = [r for r in book.rules_for("medicare", result_date(result)) if r.key == "ncd-150-13"]
    assert "the checker warns" in CoverageRow.from_rule(rule, book.payer("medicare")).notes


def result_date(result: dict):
    from datetime import date

    return date.fromisoformat(result["date_of_service"])


def test_guide_claim_fields_name_what_the_checker_checks(defaults_db):
    """Every claim field both speak of: the guide's rows carry the checker's verdicts."""
    text = " ".join(f"{f.item} {f.applies_to} {f.notes}" for f in MILD_CLAIM_FIELDS)
    for phrase in ("GA", "GZ", "PAYER_NOT_COVERED", "PAYER_TRIAL_NOT_APPROVED", "DIAGNOSIS_DUPLICATE", "TC", "1e3"):
        assert phrase in text


# ---- 8. payer keys case-insensitive, check_claims on arrays ----------------------------------------------------


def test_payer_key_and_codes_in_any_case(defaults_db):
    result = check(
        mild(
            payer="Medicare",
            diagnoses=["m48.062", "z00.6"],
            lines=[{"code": "0275t", "modifiers": ["q0"], "units": 1, "diagnosis_pointers": [1, 2]}],
        )
    )
    assert result["status"] == "clean", result["findings"]


def test_check_claims_array_gives_a_malformed_claim_its_own_result(defaults_db, tmp_path):
    bad = mild(
        lines=[{"code": "0275T", "modifiers": ["Q0"], "units": 1, "diagnosis_pointers": [1, 2], "charge": "1e3"}]
    )
    path = tmp_path / "claims.json"
    path.write_text(json.dumps([mild(), bad, "not a claim", mild(payer="commercial-bcbs", clinical_trial_number=None)]))
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("check_claims", str(path), "--no-store", stdout=out)
    assert exc.value.returncode == 2 and "index 1, 2" in str(exc.value)
    results = json.loads(out.getvalue())
    assert [r["status"] for r in results] == ["clean", "error", "error", "error"]
    (invalid,) = results[1]["findings"]
    assert invalid["rule"] == "CLAIM_INPUT_INVALID" and "index 1" in invalid["message"]
    assert "lines[0].charge" in invalid["message"] and results[1]["date_of_service"] == "2026-05-04"
    assert results[2]["findings"][0]["rule"] == "CLAIM_INPUT_INVALID" and results[2]["date_of_service"] is None
    assert "PAYER_NOT_COVERED" in rules(results[3])


def test_check_claims_single_malformed_claim_exits_2_naming_the_field(defaults_db, tmp_path):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(mild(lines=[{"code": "0275T", "charge": "$9,500.00"}])))
    with pytest.raises(CommandError) as exc:
        call_command("check_claims", str(path), "--no-store", stdout=StringIO())
    assert exc.value.returncode == 2 and "lines[0].charge" in str(exc.value)


# ---- 9. filing limits ------------------------------------------------------------------------------------------------


def test_medicare_advantage_ships_a_default_limit_with_its_source(defaults_db):
    late = check(mild(payer="medicare-advantage", submitted_on="2027-06-01"))
    (finding,) = of_rule(late, "TIMELY_FILING")
    assert (
        finding["severity"] == "warning" and "unverified" in finding["reference"] and "424.44" in finding["reference"]
    )
    assert not of_rule(check(mild(payer="medicare-advantage")), "TIMELY_FILING")


def test_no_limit_set_says_limit_unknown_as_information(defaults_db):
    result = check(mild(payer="commercial-bcbs", clinical_trial_number=None, diagnoses=["M48.062"]))
    (finding,) = of_rule(result, "TIMELY_FILING")
    assert finding["severity"] == "info" and "limit unknown: check your contract" in finding["message"].lower()


# ---- 1. the look-up on the default data -----------------------------------------------------------------------


def test_lookup_code_says_when_no_release_covers_the_date(defaults_db):
    out = StringIO()
    call_command("lookup_code", "procedure", "0275T", "--on", "2031-01-02", stdout=out)
    answer = json.loads(out.getvalue())
    assert answer["found"] is True and answer["in_effect"] is None and "2031-01-02" in answer["note"]
    out = StringIO()
    call_command("lookup_code", "procedure", "0275T", "--on", "2026-03-02", stdout=out)
    answer = json.loads(out.getvalue())
    assert answer["in_effect"] is True and "note" not in answer
