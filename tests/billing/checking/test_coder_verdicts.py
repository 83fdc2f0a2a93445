"""Issue 13, verdicts a certified coder would sign: the rules on small real-shaped coding (tests/billing/coder_data.py).

Each test names the rule it holds the checker to and its source. The payer-rule points (2, 3, 6, 9) run on the
shipped default data: tests/billing/checking/test_coder_verdicts_defaults.py.
"""

from __future__ import annotations

from datetime import date

import pytest

from billing.checking.claim import ClaimInputError, parse_claim
from billing.checking.rules.ncci import _different_sites
from codes.selectors import lookup
from codes.snapshot import CodingSnapshot
from tests.billing.coder_data import claim, line, of_rule, releases, run

# ---- 1. not loaded is not "not in effect" (contract "Dates"; lookup_code) ----------------------------------------


@pytest.mark.parametrize(
    ("code", "kind_label"),
    [("99152", "Physician fee schedule RVUs"), ("J1040", "HCPCS Level II"), ("20610", "Physician fee schedule RVUs")],
)
def test_a_code_listed_only_by_releases_that_end_before_the_date_gets_no_verdict(code, kind_label):
    # PFS 2025 October ends 2025-12-31 and HCPCS 2020 ends 2020-12-31: neither ends the CODE (J1040: no TERM DT)
    result = run(claim(line("0275T"), line(code), date_of_service="2026-03-02"))
    assert not of_rule(result, "PROCEDURE_CODE_NOT_IN_EFFECT")
    assert not of_rule(result, "PROCEDURE_CODE_UNKNOWN")
    (finding,) = [f for f in of_rule(result, "CODING_NOT_LOADED") if f.line == 2]
    assert finding.severity == "warning" and finding.codes == (code,)
    assert kind_label in finding.reference and "could not be checked" in finding.message
    assert "2025-12-31" not in finding.suggestion and "Load the" in finding.suggestion


def test_a_rows_own_end_date_still_decides():
    # HCPCS 2020: C8907 terminated 2018-12-31 (its own TERM DT), replaced by 77047: a verdict on any later date
    (finding,) = of_rule(run(claim(line("C8907"), date_of_service="2026-03-02")), "PROCEDURE_CODE_NOT_IN_EFFECT")
    assert "valid from 2001-10-01 to 2018-12-31" in finding.message and finding.codes == ("C8907", "77047")


def test_a_later_release_does_not_give_its_start_date_to_its_codes():
    # 2019-05-01: only the PFS 2025 release lists 99152; its 2025-10-01 start is not the code's start date
    result = run(claim(line("99152"), date_of_service="2019-05-01", submitted_on="2019-05-09"))
    assert not of_rule(result, "PROCEDURE_CODE_NOT_IN_EFFECT")
    assert any("99152" in f.codes for f in of_rule(result, "CODING_NOT_LOADED"))
    # a later release whose row has its own start date does answer: G0276 added 2015-01-01 is in effect in 2017
    g0276 = run(claim(line("G0276"), date_of_service="2017-05-01", submitted_on="2017-05-09"))
    assert not {"PROCEDURE_CODE_NOT_IN_EFFECT", "PROCEDURE_CODE_UNKNOWN"} & {f.rule for f in g0276.findings}


def test_a_release_in_force_that_does_not_list_an_earlier_code_is_not_a_verdict_either():
    # PFS January 2026 (in force) lacks 99152, which PFS 2025 listed with no dates of its own
    result = run(claim(line("99152"), date_of_service="2026-03-02"), releases(pfs_2026=True))
    assert not of_rule(result, "PROCEDURE_CODE_NOT_IN_EFFECT")
    (finding,) = [f for f in of_rule(result, "CODING_NOT_LOADED") if f.line == 1]
    assert "PFS RVU26A" in finding.message and "could not be checked" in finding.message


def test_a_code_in_no_release_at_all_is_still_unknown():
    (finding,) = of_rule(run(claim(line("99999"))), "PROCEDURE_CODE_UNKNOWN")
    assert finding.codes == ("99999",)


def test_lookup_gives_no_verdict_where_no_release_covers_the_date():
    on = date(2026, 3, 2)
    snap = CodingSnapshot(on, releases(icd=False))
    for code in ("99152", "J1040"):
        answer = lookup("procedure", code, on, snapshot=snap)
        assert answer["found"] is True and answer["in_effect"] is None and answer["billable"] is None
        assert "covers 2026-03-02" in answer["note"] and "effective_to" not in answer
    c8907 = lookup("hcpcs", "C8907", on, snapshot=snap)
    assert c8907["in_effect"] is False and c8907["effective_to"] == "2018-12-31" and "note" not in c8907
    icd = lookup("icd10cm", "M48.062", on, snapshot=snap)
    assert icd["in_effect"] is None and "ICD-10-CM" in icd["note"]
    covered = lookup("procedure", "0275T", on, snapshot=snap)
    assert covered["in_effect"] is True and "note" not in covered
    nothing = lookup("pos", "24", on, snapshot=CodingSnapshot(on, {}))
    assert nothing["found"] is False and nothing["in_effect"] is None and "Places of service" in nothing["note"]


# ---- 4. NCCI PTP modifiers (NCCI Policy Manual ch. I §E; MLN "Proper Use of Modifiers 59 & -X{EPSU}") ----------


def ptp(c1_mods=(), c2_mods=(), c1="0001A", c2="99213", dos="2023-06-01"):
    return run(claim(line(c1, *c1_mods), line(c2, *c2_mods), date_of_service=dos, submitted_on="2023-06-09"))


@pytest.mark.parametrize("modifier", ["59", "XU", "XS"])
def test_59_and_x_modifiers_never_bypass_an_edit_with_an_em_service(modifier):
    # NCCI PTP v32.2: column 1 0001A, column 2 99213 (E/M), modifier indicator 1
    (finding,) = of_rule(ptp(c2_mods=[modifier]), "NCCI_PTP_CONFLICT")
    assert finding.severity == "error" and "E/M" in finding.message and "25" in finding.suggestion
    (on_procedure,) = of_rule(ptp(c1_mods=[modifier]), "NCCI_PTP_CONFLICT")
    assert on_procedure.severity == "error"


def test_25_on_the_em_bypasses_and_59_still_bypasses_two_procedures():
    assert of_rule(ptp(c2_mods=["25"]), "NCCI_PTP_CONFLICT")[0].severity == "info"
    assert of_rule(ptp(c1_mods=["25"]), "NCCI_PTP_CONFLICT")[0].severity == "error"  # 25 on the procedure line
    two_with_25 = ptp(c2_mods=["25"], c1="0001U", c2="0030U", dos="2026-03-02")
    assert of_rule(two_with_25, "NCCI_PTP_CONFLICT")[0].severity == "error"
    two_procedures = ptp(c2_mods=["59"], c1="0001U", c2="0030U", dos="2026-03-02")
    assert of_rule(two_procedures, "NCCI_PTP_CONFLICT")[0].severity == "info"


@pytest.mark.parametrize(
    ("c1_mods", "c2_mods", "severity"),
    [
        (["LT"], ["RT"], "info"),  # different sides
        (["F1"], ["F2"], "info"),  # different fingers
        (["RT"], ["RT"], "error"),  # the same modifier on both: same site
        ([], ["RT"], "error"),  # one side named, the other not
        (["LT"], ["F1"], "error"),  # F1 is on the left hand: the sites overlap
    ],
)
def test_anatomic_modifiers_bypass_only_for_different_sites(c1_mods, c2_mods, severity):
    (finding,) = of_rule(ptp(c1_mods, c2_mods, c1="20610", c2="20552", dos="2026-03-02"), "NCCI_PTP_CONFLICT")
    assert finding.severity == severity
    if severity == "error":
        assert "do not name different sites" in finding.message


def test_anatomic_sites():
    assert _different_sites("LC", "LD") and _different_sites("E1", "E3") and _different_sites("T5", "RC")
    assert not _different_sites("RT", "F7") and not _different_sites("LT", "E2") and not _different_sites("TA", "TA")


# ---- 5. duplicates (837P HI, X12 RFI 2561; CMS-1500 24E / 837P SV107) -----------------------------------------------


def test_the_same_diagnosis_twice_is_an_error_with_or_without_the_dot():
    result = run(claim(line("0275T", pointers=[1, 2]), diagnoses=["M48.062", "m48062"]))
    (finding,) = of_rule(result, "DIAGNOSIS_DUPLICATE")
    assert finding.severity == "error" and result.status == "error"
    assert "Diagnosis 2, m48062, repeats diagnosis 1, M48.062" in finding.message and "RFI 2561" in finding.reference
    assert not of_rule(
        run(claim(line("0275T", pointers=[1, 2]), diagnoses=["M48.062", "Z00.6"])), "DIAGNOSIS_DUPLICATE"
    )


def test_the_same_pointer_twice_on_a_line_is_a_warning():
    result = run(claim(line("0275T", pointers=[1, 1]), diagnoses=["M48.062"]))
    (finding,) = of_rule(result, "DIAGNOSIS_POINTER_DUPLICATE")
    assert finding.severity == "warning" and finding.line == 1 and "pointer 1" in finding.message


# ---- 7. TC by a physician in a facility (Pub 100-04 ch. 13 §20, ch. 12 §20.4.2) -----------------------------------


@pytest.mark.parametrize("place", ["19", "21", "22", "23", "24"])
def test_tc_on_a_physician_claim_in_a_facility_warns(place):
    result = run(claim(line("77003", "TC"), place_of_service=place, date_of_service="2025-11-03"))
    (finding,) = [f for f in of_rule(result, "MODIFIER_NOT_APPLICABLE") if "facility" in f.message]
    assert finding.severity == "warning" and "26" in finding.suggestion


def test_tc_in_an_office_or_on_an_institutional_claim_is_fine():
    office = run(claim(line("77003", "TC"), date_of_service="2025-11-03"))
    assert not of_rule(office, "MODIFIER_NOT_APPLICABLE")
    hospital = run(claim(line("77003", "TC"), place_of_service="22", claim_type="institutional"))
    assert not [f for f in of_rule(hospital, "MODIFIER_NOT_APPLICABLE") if "facility" in f.message]


# ---- 8. input ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("charge", ["1e3", "$9,500.00", "9,500.00", "9500.005", "9500.", " ", "NaN", "Infinity", 1e300])
def test_charges_are_digits_with_up_to_two_decimals(charge):
    with pytest.raises(ClaimInputError) as exc:
        parse_claim(claim(line("0275T", charge=charge)))
    assert list(exc.value.errors) == ["lines[0].charge"]


@pytest.mark.parametrize(
    ("charge", "amount"), [("9500.00", "9500.00"), ("9500", "9500"), (9500, "9500"), (12.5, "12.5")]
)
def test_plain_charges_are_read(charge, amount):
    assert str(parse_claim(claim(line("0275T", charge=charge))).lines[0].charge) == amount


def test_payer_keys_and_codes_are_case_insensitive():
    parsed = parse_claim(claim(line("0275t", "q0"), payer="Medicare", diagnoses=["m48.062"]))
    assert parsed.payer == "medicare" and parsed.lines[0].code == "0275T" and parsed.lines[0].modifiers == ("Q0",)
    assert parsed.diagnoses == ("M48062",)
