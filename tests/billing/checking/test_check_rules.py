"""One focused test per rule, each with a claim that triggers it and one that does not.

The coding is the in-memory data of claimcheck_data (real CMS rows); the base claim is example 01, a clean
Medicare CED claim for mild in an ASC on 2026-05-04.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from billing.checking.rules.claim import filing_deadline, npi_check_digit, npi_problem, one_year_after
from billing.checking.rules.ncci import NCCI_ASSOCIATED_MODIFIERS
from codes.formats.rows import MueRow
from codes.snapshot import HCPCS, MUE_PRACTITIONER, CodingSnapshot, MemoryRelease, ReleaseRef
from practice.policy import COVERED, POSITION_LINE, DiagnosisRequirement, PayerRuleVersion
from tests.billing.claimcheck_data import (
    BCBS_RULE,
    PAYER_RULES,
    base_releases,
    full_releases,
    mild_claim,
    of_rule,
    rule_ids,
    run,
)


def line(code="0275T", modifiers=("Q0",), units=1, pointers=(1, 2), **more) -> dict:
    return {"code": code, "modifiers": list(modifiers), "units": units, "diagnosis_pointers": list(pointers), **more}


def commercial(*lines, dos="2026-07-15", **fields) -> dict:
    """A commercial-bcbs claim (no payer rule for most codes) with the given lines."""
    claim = {"payer": "commercial-bcbs", "date_of_service": dos, "diagnoses": ["M48.062"]}
    return mild_claim(**{**claim, "clinical_trial_number": None, "lines": list(lines), **fields})


def test_the_base_claim_is_clean():
    result = run(mild_claim())
    assert result.status == "clean"
    assert {f.rule for f in result.findings} == {"CODING_NOT_LOADED"}


# ---- CODING_NOT_LOADED -----------------------------------------------------------------------------------


def test_coding_not_loaded_warns_for_diagnoses_and_procedures():
    from tests.billing.claimcheck_data import ICD_APRIL_2026, icd_2026_rows, icd_release

    result = run(mild_claim(date_of_service="2025-09-15"), {"icd10cm": (icd_release(ICD_APRIL_2026, icd_2026_rows()),)})
    warnings = [f for f in of_rule(result, "CODING_NOT_LOADED") if f.severity == "warning"]
    assert len(warnings) == 2
    assert "diagnosis codes cannot be checked" in warnings[0].message
    assert "procedure codes cannot be checked" in warnings[1].message


def test_coding_not_loaded_info_says_which_checks_were_skipped():
    # 2026-05-04: no MUE table, no PFS, no PTP v32.2 (it starts 2026-07-01 but answers for earlier dates)
    result = run(mild_claim(lines=[line(), line("77003", modifiers=["26"])]), base_releases())
    infos = of_rule(result, "CODING_NOT_LOADED")
    assert {f.severity for f in infos} == {"info"}
    text = " ".join(f.message for f in infos)
    assert "code pairs were not checked" in text
    assert "units were not checked" in text
    assert "bilateral and 26/TC modifier checks were skipped" in text


def test_coding_not_loaded_silent_when_everything_covers_the_date():
    result = run(commercial(line("0001U", pointers=[1], modifiers=[]), line("0030U", pointers=[1], modifiers=[])))
    assert not of_rule(result, "CODING_NOT_LOADED")


def test_no_ptp_information_for_a_single_code():
    result = run(mild_claim(), base_releases())
    assert not any("code pairs" in f.message for f in of_rule(result, "CODING_NOT_LOADED"))


# ---- payer known, place of service, NPI, diagnoses present, dates -----------------------------------------


def test_payer_unknown():
    result = run(mild_claim(payer="aetna"))
    (finding,) = of_rule(result, "PAYER_UNKNOWN")
    assert finding.severity == "error" and '"aetna"' in finding.message
    assert not [f for f in result.findings if f.rule.startswith("PAYER_") and f.rule != "PAYER_UNKNOWN"]
    assert not of_rule(run(mild_claim()), "PAYER_UNKNOWN")


def test_place_of_service_unknown():
    (finding,) = of_rule(run(mild_claim(place_of_service="77")), "PLACE_OF_SERVICE_UNKNOWN")
    assert finding.codes == ("77",) and "CMS place of service codes" in finding.reference
    assert not of_rule(run(mild_claim(place_of_service="22")), "PLACE_OF_SERVICE_UNKNOWN")


@pytest.mark.parametrize(
    ("npi", "says"),
    [(None, "no rendering NPI"), ("12345", "not 10 digits"), ("1234567890", "should be 3"), ("12345678A3", "not 10")],
)
def test_npi_invalid(npi, says):
    (finding,) = of_rule(run(mild_claim(rendering_npi=npi)), "NPI_INVALID")
    assert says in finding.message
    assert "80840" in finding.reference


def test_npi_check_digit():
    assert npi_check_digit("123456789") == 3
    assert npi_problem("1234567893") is None
    assert not of_rule(run(mild_claim()), "NPI_INVALID")


def test_claim_no_diagnosis():
    result = run(mild_claim(diagnoses=[]))
    assert of_rule(result, "CLAIM_NO_DIAGNOSIS")
    assert not of_rule(result, "DIAGNOSIS_POINTER_INVALID")  # said once, for the claim
    assert not of_rule(run(mild_claim()), "CLAIM_NO_DIAGNOSIS")


def test_date_of_service_after_submission():
    (finding,) = of_rule(run(mild_claim(submitted_on="2026-05-01")), "DATE_OF_SERVICE_AFTER_SUBMISSION")
    assert finding.line is None and "2026-05-04" in finding.message
    assert not of_rule(run(mild_claim(submitted_on="2026-05-04")), "DATE_OF_SERVICE_AFTER_SUBMISSION")


def test_date_of_service_after_submission_defaults_to_today():
    data = mild_claim(submitted_on=None)
    assert of_rule(run(data, today=date(2026, 5, 3)), "DATE_OF_SERVICE_AFTER_SUBMISSION")
    assert not of_rule(run(data, today=date(2026, 5, 4)), "DATE_OF_SERVICE_AFTER_SUBMISSION")


# ---- timely filing ------------------------------------------------------------------------------------


def test_timely_filing_medicare_counts_one_calendar_year():
    on_time = mild_claim(date_of_service="2025-11-03", submitted_on="2026-11-03")
    late = mild_claim(date_of_service="2025-11-03", submitted_on="2026-11-04")
    assert not of_rule(run(on_time), "TIMELY_FILING")
    (finding,) = of_rule(run(late), "TIMELY_FILING")
    assert finding.severity == "warning" and "2026-11-03" in finding.message
    assert "42 CFR 424.44" in finding.reference


def test_timely_filing_commercial_counts_days():
    late = commercial(line("64483", modifiers=[], pointers=[1]), dos="2026-01-02", submitted_on="2026-07-02")
    on_time = commercial(line("64483", modifiers=[], pointers=[1]), dos="2026-01-02", submitted_on="2026-07-01")
    (finding,) = of_rule(run(late), "TIMELY_FILING")
    assert "filing limit 180 days" in finding.reference
    assert not of_rule(run(on_time), "TIMELY_FILING")


def test_filing_deadline_arithmetic():
    assert one_year_after(date(2024, 2, 29)) == date(2025, 2, 28)
    assert filing_deadline(date(2026, 3, 2), 365, medicare=False) == date(2027, 3, 2)
    assert filing_deadline(date(2026, 3, 2), None, medicare=True) == date(2027, 3, 2)
    assert filing_deadline(date(2026, 3, 2), None, medicare=False) is None
    assert filing_deadline(date(2026, 1, 2), 90, medicare=False) == date(2026, 4, 2)
    assert filing_deadline(date(2026, 1, 2), 10**9, medicare=False) == date.max


# ---- procedure codes ------------------------------------------------------------------------------------


def test_procedure_code_unknown():
    (finding,) = of_rule(run(mild_claim(lines=[line("99999")])), "PROCEDURE_CODE_UNKNOWN")
    assert finding.line == 1 and finding.codes == ("99999",)
    assert "Project procedure summaries 2026" in finding.reference
    assert not of_rule(run(mild_claim()), "PROCEDURE_CODE_UNKNOWN")


def test_procedure_code_not_in_effect_after_its_end():
    claim = commercial(line("72275", modifiers=[], pointers=[1]), dos="2025-03-03")
    (finding,) = of_rule(run(claim), "PROCEDURE_CODE_NOT_IN_EFFECT")
    assert "valid until 2024-12-31" in finding.message
    ok = commercial(line("72275", modifiers=[], pointers=[1]), dos="2024-06-03")
    assert not of_rule(run(ok), "PROCEDURE_CODE_NOT_IN_EFFECT")


def test_procedure_code_not_in_effect_names_the_replacement():
    # HCPCS 2020: C8907 (MRI breast, bilateral) terminated 2018-12-31, XREF1 77047
    claim = commercial(line("C8907", modifiers=[], pointers=[1]), dos="2020-03-02")
    (finding,) = of_rule(run(claim), "PROCEDURE_CODE_NOT_IN_EFFECT")
    assert finding.codes == ("C8907", "77047")
    assert "Use 77047" in finding.suggestion
    assert "HCPCS 2020" in finding.reference


def test_procedure_code_not_yet_in_effect():
    claim = commercial(line("0275T", modifiers=[], pointers=[1]), dos="2011-03-01")
    (finding,) = of_rule(run(claim), "PROCEDURE_CODE_NOT_IN_EFFECT")
    assert "takes effect on 2011-07-01" in finding.message


def test_procedure_known_from_a_release_whose_own_dates_cover_the_date():
    # No HCPCS release covers 2021; the 2026 one lists G0276 as added 2015-01-01: known, not "not in effect".
    result = run(commercial(line("G0276", modifiers=[], pointers=[1]), dos="2021-06-01"))
    assert not {"PROCEDURE_CODE_UNKNOWN", "PROCEDURE_CODE_NOT_IN_EFFECT"} & set(rule_ids(result))


def test_hcpcs_modifier_record_is_not_a_procedure_code():
    assert of_rule(run(mild_claim(lines=[line("GA")])), "PROCEDURE_CODE_UNKNOWN")


# ---- diagnoses ---------------------------------------------------------------------------------------------


def test_diagnosis_code_unknown():
    (finding,) = of_rule(run(mild_claim(diagnoses=["M48.062", "Q99.999"])), "DIAGNOSIS_CODE_UNKNOWN")
    assert "Diagnosis 2, Q99.999" in finding.message and finding.codes == ("Q99.999",)
    assert not of_rule(run(mild_claim()), "DIAGNOSIS_CODE_UNKNOWN")


def test_diagnosis_not_billable_suggests_billable_codes():
    (finding,) = of_rule(run(mild_claim(diagnoses=["M48.062", "M54.5"])), "DIAGNOSIS_NOT_BILLABLE")
    assert finding.suggestion == "M54.5 is not billable: use M54.50, M54.51 or M54.59."
    (finding,) = of_rule(run(mild_claim(diagnoses=["m4806", "Z00.6"])), "DIAGNOSIS_NOT_BILLABLE")
    assert finding.suggestion == "M48.06 is not billable: use M48.061 or M48.062."


def test_diagnosis_billable_in_its_own_year():
    # M54.5 was billable until FY2021 ended (2021-09-30)
    claim = mild_claim(date_of_service="2021-06-01", submitted_on="2021-06-30", diagnoses=["M48.062", "M54.5"])
    assert not of_rule(run(claim), "DIAGNOSIS_NOT_BILLABLE")


def test_diagnosis_not_in_effect():
    claim = mild_claim(date_of_service="2021-06-01", submitted_on="2021-06-30", diagnoses=["M48.062", "M54.50"])
    (finding,) = of_rule(run(claim), "DIAGNOSIS_NOT_IN_EFFECT")
    assert "ICD-10-CM FY2021" in finding.message and "later release" in finding.message
    assert not of_rule(run(claim), "DIAGNOSIS_CODE_UNKNOWN")
    assert not of_rule(run(mild_claim(diagnoses=["M48.062", "M54.50"])), "DIAGNOSIS_NOT_IN_EFFECT")


def test_diagnosis_checked_as_of_the_pointing_line_date():
    # The claim date is in FY2021, but the line pointing to M54.50 is dated 2026.
    claim = mild_claim(
        date_of_service="2021-06-01",
        submitted_on="2026-06-30",
        diagnoses=["M48.062", "Z00.6", "M54.50"],
        lines=[line(pointers=[1, 2, 3], date_of_service="2026-05-04")],
    )
    assert not of_rule(run(claim), "DIAGNOSIS_NOT_IN_EFFECT")


def test_diagnosis_pointer_invalid():
    (finding,) = of_rule(run(mild_claim(lines=[line(pointers=[])])), "DIAGNOSIS_POINTER_INVALID")
    assert "points to no diagnosis" in finding.message
    (finding,) = of_rule(run(mild_claim(lines=[line(pointers=[0, 3])])), "DIAGNOSIS_POINTER_INVALID")
    assert "pointers 0, 3" in finding.message
    assert not of_rule(run(mild_claim()), "DIAGNOSIS_POINTER_INVALID")


# ---- modifiers ---------------------------------------------------------------------------------------------


def test_modifier_unknown():
    (finding,) = of_rule(run(mild_claim(lines=[line(modifiers=["Q0", "ZZ"])])), "MODIFIER_UNKNOWN")
    assert finding.codes == ("0275T", "ZZ")
    (finding,) = of_rule(run(mild_claim(lines=[line(modifiers=["Q0", "Q0X"])])), "MODIFIER_UNKNOWN")
    assert "exactly two characters" in finding.message
    assert not of_rule(run(mild_claim()), "MODIFIER_UNKNOWN")


def test_numeric_modifiers_are_not_judged_by_the_hcpcs_file_alone():
    releases = {**base_releases(), "modifiers": ()}
    result = run(mild_claim(lines=[line(modifiers=["Q0", "59", "ZZ"])]), releases)
    assert [f.codes[1] for f in of_rule(result, "MODIFIER_UNKNOWN")] == ["ZZ"]


def test_modifier_not_in_effect():
    (finding,) = of_rule(run(mild_claim(lines=[line(modifiers=["Q0", "GD"])])), "MODIFIER_NOT_IN_EFFECT")
    assert "2019-12-31" in finding.message and "HCPCS 2026" in finding.reference
    (finding,) = of_rule(run(mild_claim(lines=[line(modifiers=["Q0", "AC"])])), "MODIFIER_NOT_IN_EFFECT")
    assert "takes effect on 2026-07-01" in finding.message
    later = mild_claim(date_of_service="2026-07-15", lines=[line(modifiers=["Q0", "AC"])])
    assert not of_rule(run(later), "MODIFIER_NOT_IN_EFFECT")


def test_modifier_not_applicable_bilateral_on_a_both_sides_code():
    (finding,) = of_rule(run(mild_claim(lines=[line(modifiers=["Q0", "50"])])), "MODIFIER_NOT_APPLICABLE")
    assert finding.severity == "warning" and "already covers one or both sides" in finding.message
    assert of_rule(run(mild_claim(lines=[line(modifiers=["Q0", "RT"])])), "MODIFIER_NOT_APPLICABLE")


@pytest.mark.parametrize(("code", "indicator"), [("G0276", "2"), ("62321", "9")])
def test_modifier_not_applicable_by_bilateral_indicator(code, indicator):
    claim = commercial(line(code, modifiers=["50"], pointers=[1]), dos="2025-11-03", submitted_on="2025-11-10")
    (finding,) = of_rule(run(claim), "MODIFIER_NOT_APPLICABLE")
    assert f"bilateral surgery indicator {indicator}" in finding.reference
    assert "PPRRVU2025_Oct" in finding.reference


def test_bilateral_modifier_allowed_where_the_fee_schedule_pays_it():
    claim = commercial(line("64483", modifiers=["50"], pointers=[1]), dos="2025-11-03", submitted_on="2025-11-10")
    assert not of_rule(run(claim), "MODIFIER_NOT_APPLICABLE")


@pytest.mark.parametrize(
    ("code", "modifier", "flagged"),
    [("93010", "26", True), ("0275T", "TC", True), ("77003", "26", False), ("77003", "TC", False)],
)
def test_modifier_not_applicable_components(code, modifier, flagged):
    # in an office (11): TC in a facility is its own warning (issue 13 point 7; checking/test_coder_verdicts.py)
    claim = commercial(
        line(code, modifiers=[modifier], pointers=[1]),
        dos="2025-11-03",
        submitted_on="2025-11-10",
        place_of_service="11",
    )
    findings = of_rule(run(claim), "MODIFIER_NOT_APPLICABLE")
    assert bool(findings) is flagged
    if flagged:
        assert "PC/TC indicator" in findings[0].reference


def test_component_modifiers_not_judged_without_the_fee_schedule():
    claim = commercial(line("93010", modifiers=["26"], pointers=[1]), dos="2026-05-04")
    assert not of_rule(run(claim), "MODIFIER_NOT_APPLICABLE")


# ---- duplicate lines ------------------------------------------------------------------------------------


def test_duplicate_line():
    (finding,) = of_rule(run(mild_claim(lines=[line(), line()])), "DUPLICATE_LINE")
    assert finding.line == 2 and "repeats line 1" in finding.message
    assert not of_rule(run(mild_claim(lines=[line(), line(modifiers=["Q0", "76"])])), "DUPLICATE_LINE")
    other_day = mild_claim(lines=[line(), line(date_of_service="2026-05-05")])
    assert not of_rule(run(other_day), "DUPLICATE_LINE")


# ---- NCCI PTP -------------------------------------------------------------------------------------------------


def ptp_claim(column2_modifiers=(), column1_modifiers=(), dos="2026-07-15", c1="0001U", c2="0030U") -> dict:
    return commercial(
        line(c1, modifiers=column1_modifiers, pointers=[1]),
        line(c2, modifiers=column2_modifiers, pointers=[1]),
        dos=dos,
    )


@pytest.mark.parametrize("modifier", ["XS", "59", "XU"])
def test_ncci_bypassed_by_an_associated_modifier_is_information(modifier):
    (finding,) = of_rule(run(ptp_claim([modifier])), "NCCI_PTP_CONFLICT")
    assert finding.severity == "info" and modifier in finding.message


def test_ncci_anatomic_modifier_on_one_line_only_does_not_bypass():
    # issue 13 point 4: an anatomic modifier bypasses only when the two codes name different sites
    assert of_rule(run(ptp_claim(["RT"])), "NCCI_PTP_CONFLICT")[0].severity == "error"
    assert of_rule(run(ptp_claim(["RT"], ["LT"])), "NCCI_PTP_CONFLICT")[0].severity == "info"


def test_ncci_modifier_on_the_column_1_line_also_counts():
    (finding,) = of_rule(run(ptp_claim(column1_modifiers=["XE"])), "NCCI_PTP_CONFLICT")
    assert finding.severity == "info"


def test_ncci_other_modifiers_do_not_bypass():
    (finding,) = of_rule(run(ptp_claim(["76"])), "NCCI_PTP_CONFLICT")
    assert finding.severity == "error"


def test_ncci_indicator_0_cannot_be_bypassed():
    # 0001M/80050, modifier indicator 0, in effect 2017-04-01..2018-12-31 (the v32.2 file is cumulative)
    (finding,) = of_rule(run(ptp_claim(["59"], dos="2018-06-01", c1="0001M", c2="80050")), "NCCI_PTP_CONFLICT")
    assert finding.severity == "error" and "modifier indicator 0" in finding.reference
    assert "deleted after 2018-12-31" in finding.reference


def test_ncci_pair_withdrawn_retroactively_never_applies():
    # 0001A/90473: effective = deletion = 2022-01-01 with indicator 9
    assert not of_rule(run(ptp_claim(dos="2022-01-01", c1="0001A", c2="90473")), "NCCI_PTP_CONFLICT")


def test_ncci_institutional_claims_use_the_hospital_table():
    result = run(ptp_claim() | {"claim_type": "institutional"})
    assert not of_rule(result, "NCCI_PTP_CONFLICT")
    assert any("code pairs were not checked" in f.message for f in of_rule(result, "CODING_NOT_LOADED"))


def test_ncci_associated_list():
    assert {"59", "XE", "XS", "XP", "XU", "E1", "FA", "F9", "TA", "T9", "LT", "RT", "LC", "RI", "25", "91"} <= (
        NCCI_ASSOCIATED_MODIFIERS
    )
    assert "76" not in NCCI_ASSOCIATED_MODIFIERS


# ---- MUE ---------------------------------------------------------------------------------------------------------


def test_mue_date_of_service_edit_adds_up_lines():
    two_lines = commercial(line("0001U", modifiers=[], pointers=[1]), line("0001U", modifiers=["91"], pointers=[1]))
    (finding,) = of_rule(run(two_lines), "UNITS_EXCEED_MUE")
    assert "2 units of 0001U" in finding.message and "lines 1 and 2" in finding.message
    assert "adjudication indicator 2" in finding.reference and "even on appeal" in finding.suggestion
    other_days = commercial(
        line("0001U", modifiers=[], pointers=[1]),
        line("0001U", modifiers=["91"], pointers=[1], date_of_service="2026-07-16"),
    )
    assert not of_rule(run(other_days), "UNITS_EXCEED_MUE")


def test_mue_clinical_edit():
    # 0009U: MUE 2, MAI 3
    assert not of_rule(run(commercial(line("0009U", modifiers=[], units=2, pointers=[1]))), "UNITS_EXCEED_MUE")
    (finding,) = of_rule(run(commercial(line("0009U", modifiers=[], units=3, pointers=[1]))), "UNITS_EXCEED_MUE")
    assert "appeal" in finding.suggestion and "adjudication indicator 3" in finding.reference


def test_mue_line_edit_counts_each_line():
    # The MUE excerpt has no MAI 1 row: this one is constructed to exercise the line edit.
    ref = ReleaseRef(99, MUE_PRACTITIONER, "MUE test table (constructed MAI 1 row)", date(2026, 1, 1), None)
    releases = {**full_releases(), MUE_PRACTITIONER: (MemoryRelease(ref, {"64483": MueRow("64483", 1, 1, "")}),)}
    one_each = commercial(line("64483", modifiers=["LT"], pointers=[1]), line("64483", modifiers=["RT"], pointers=[1]))
    assert not of_rule(run(one_each, releases), "UNITS_EXCEED_MUE")
    (finding,) = of_rule(
        run(commercial(line("64483", modifiers=[], units=2, pointers=[1])), releases), "UNITS_EXCEED_MUE"
    )
    assert "per line" in finding.message


# ---- fee schedule status ---------------------------------------------------------------------------------------


def fee_claim(code: str, claim_type: str = "professional") -> dict:
    return commercial(
        line(code, modifiers=[], pointers=[1]), dos="2025-11-03", submitted_on="2025-11-10", claim_type=claim_type
    )


def test_fee_schedule_status_r_without_rvus_is_carrier_priced():
    (finding,) = of_rule(run(fee_claim("0275T")), "FEE_SCHEDULE_STATUS")
    assert finding.severity == "info" and "carrier priced" in finding.message
    assert "status R" in finding.reference


def test_fee_schedule_status_r_with_rvus():
    (finding,) = of_rule(run(fee_claim("G0276")), "FEE_SCHEDULE_STATUS")
    assert finding.severity == "info" and "carrier priced" not in finding.message


@pytest.mark.parametrize(("code", "status"), [("22841", "B"), ("0469T", "N")])
def test_fee_schedule_status_warnings(code, status):
    (finding,) = of_rule(run(fee_claim(code)), "FEE_SCHEDULE_STATUS")
    assert finding.severity == "warning" and f"status {status}" in finding.message


def test_fee_schedule_status_silent_for_active_codes_and_institutional_claims():
    assert not of_rule(run(fee_claim("64483")), "FEE_SCHEDULE_STATUS")
    assert not of_rule(run(fee_claim("0275T", "institutional")), "FEE_SCHEDULE_STATUS")


# ---- payer rules -------------------------------------------------------------------------------------------------


def test_payer_not_covered():
    (finding,) = of_rule(run(mild_claim(payer="commercial-bcbs")), "PAYER_NOT_COVERED")
    assert finding.suggestion == BCBS_RULE.not_covered_advice
    assert finding.reference == BCBS_RULE.describe()
    assert not of_rule(run(mild_claim()), "PAYER_NOT_COVERED")


def test_no_requirements_where_the_payer_does_not_cover():
    result = run(mild_claim(payer="commercial-bcbs", lines=[line(modifiers=[])], clinical_trial_number=None))
    assert not {"PAYER_REQUIRES_MODIFIER", "PAYER_REQUIRES_TRIAL_NUMBER"} & set(rule_ids(result))


@pytest.mark.parametrize("payer", ["medicare", "medicare-advantage"])
def test_payer_requires_modifier(payer):
    (finding,) = of_rule(run(mild_claim(payer=payer, lines=[line(modifiers=[])])), "PAYER_REQUIRES_MODIFIER")
    assert finding.suggestion == "Add modifier Q0 to line 1."
    assert "NCD 150.13 PILD (CED) v2" in finding.reference


def test_payer_requires_diagnosis_secondary():
    # Z00.6 first: CMS accepts it (issue 13 point 6), so one warning, not an error on each requirement
    (z006,) = of_rule(run(mild_claim(diagnoses=["Z00.6", "M48.062"])), "PAYER_REQUIRES_DIAGNOSIS")
    assert z006.severity == "warning" and "CMS accepts Z00.6 as the primary or a secondary" in z006.message
    (m48,) = of_rule(run(mild_claim(diagnoses=["M54.16", "M48.062", "Z00.6"])), "PAYER_REQUIRES_DIAGNOSIS")
    assert "M48.062 must be the primary" in m48.message and m48.suggestion == "Move M48.062 to the first position."
    (missing,) = of_rule(run(mild_claim(diagnoses=["M48.062"], lines=[line(pointers=[1])])), "PAYER_REQUIRES_DIAGNOSIS")
    assert "Add Z00.6 as a secondary diagnosis" in missing.suggestion
    assert missing.line is None


def test_payer_requires_diagnosis_on_the_line_with_a_prefix():
    rule = PayerRuleVersion(
        id=900,
        name="Test plan lumbar stenosis",
        payer_key="commercial-bcbs",
        codes=("64483",),
        effective_from=date(2020, 1, 1),
        effective_to=None,
        version=1,
        coverage=COVERED,
        required_diagnoses=(DiagnosisRequirement(("M48.06*",), POSITION_LINE),),
    )
    claim = commercial(line("64483", modifiers=[], pointers=[2]), diagnoses=["M48.062", "Z00.6"])
    (finding,) = of_rule(run(claim, rules=[rule]), "PAYER_REQUIRES_DIAGNOSIS")
    assert finding.line == 1 and "a code starting M48.06" in finding.message
    assert finding.suggestion == "Add pointer 1 to line 1."
    ok = commercial(line("64483", modifiers=[], pointers=[2, 1]), diagnoses=["M48.062", "Z00.6"])
    assert not of_rule(run(ok, rules=[rule]), "PAYER_REQUIRES_DIAGNOSIS")


def test_payer_requires_trial_number():
    (finding,) = of_rule(run(mild_claim(clinical_trial_number="NCT0307292")), "PAYER_REQUIRES_TRIAL_NUMBER")
    assert "not NCT followed by 8 digits" in finding.message
    assert "837P REF*P4" in finding.suggestion
    assert not of_rule(run(mild_claim(clinical_trial_number="nct03072927")), "PAYER_REQUIRES_TRIAL_NUMBER")


def test_payer_trial_not_approved():
    (finding,) = of_rule(run(mild_claim(clinical_trial_number="NCT12345678")), "PAYER_TRIAL_NOT_APPROVED")
    assert finding.severity == "warning" and "NCT03072927" in finding.suggestion
    assert not of_rule(run(mild_claim()), "PAYER_TRIAL_NOT_APPROVED")
    assert not of_rule(run(mild_claim(clinical_trial_number="NCT123")), "PAYER_TRIAL_NOT_APPROVED")


def test_payer_rule_version_in_force_on_the_date_decides():
    # NCD 150.13 v1 (to 2016-12-06) did not yet list the Medicare claims study NCT03072927
    claim = mild_claim(date_of_service="2016-06-01", submitted_on="2016-06-30")
    (finding,) = of_rule(run(claim), "PAYER_TRIAL_NOT_APPROVED")
    assert "v1" in finding.reference


def test_payer_requires_prior_auth():
    rule = replace(BCBS_RULE, coverage=COVERED, prior_auth_required=True)
    (finding,) = of_rule(run(mild_claim(payer="commercial-bcbs"), rules=[rule]), "PAYER_REQUIRES_PRIOR_AUTH")
    assert "837P REF*G1" in finding.suggestion
    claim = mild_claim(payer="commercial-bcbs", prior_authorization_number="PA-123")
    assert not of_rule(run(claim, rules=[rule]), "PAYER_REQUIRES_PRIOR_AUTH")


def test_payer_place_of_service_takes_the_rules_severity():
    (finding,) = of_rule(run(mild_claim(place_of_service="11")), "PAYER_PLACE_OF_SERVICE")
    assert finding.severity == "warning" and "unverified" in finding.message
    strict = [replace(r, place_of_service_severity="error", certainty="sure") for r in PAYER_RULES]
    (finding,) = of_rule(run(mild_claim(place_of_service="11"), rules=strict), "PAYER_PLACE_OF_SERVICE")
    assert finding.severity == "error"
    assert not of_rule(run(mild_claim(place_of_service="22")), "PAYER_PLACE_OF_SERVICE")


def test_payer_requires_condition_code_on_institutional_claims():
    institutional = mild_claim(claim_type="institutional", place_of_service="22")
    (finding,) = of_rule(run(institutional), "PAYER_REQUIRES_CONDITION_CODE")
    assert "condition code 30" in finding.suggestion
    assert not of_rule(run(institutional | {"condition_codes": ["30"]}), "PAYER_REQUIRES_CONDITION_CODE")
    assert not of_rule(run(mild_claim()), "PAYER_REQUIRES_CONDITION_CODE")


def test_the_rule_versions_given_are_the_ones_applied():
    # rules_for chooses one version per rule (a practice override in preference): the engine applies them all.
    override = replace(PAYER_RULES[1], id=999, required_modifiers=(), practice_override=True)
    overridden = [override if rule is PAYER_RULES[1] else rule for rule in PAYER_RULES]
    result = run(mild_claim(lines=[line(modifiers=[])], place_of_service="11"), rules=overridden)
    assert not of_rule(result, "PAYER_REQUIRES_MODIFIER")
    assert of_rule(result, "PAYER_PLACE_OF_SERVICE")  # the other rules for 0275T still apply


def test_snapshot_only_hcpcs_modifiers():
    # A snapshot that has only a HCPCS release still answers for Level II modifiers.
    snapshot = CodingSnapshot(date(2026, 5, 4), {HCPCS: base_releases()[HCPCS]})
    assert snapshot.modifier("Q0") is not None and snapshot.modifier("59") is None
