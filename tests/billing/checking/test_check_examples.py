"""Every claim of the contract examples (tests/data/contract/examples) gives the findings it must (and none it
must not)."""

from __future__ import annotations

import json

import pytest

from billing.checking.engine import CATALOGUE
from codes.snapshot import ICD10CM, MUE_PRACTITIONER, PTP_PRACTITIONER
from tests.billing.claimcheck_data import (
    ICD_APRIL_2026,
    base_releases,
    icd_2026_rows,
    icd_release,
    load_examples,
    mue_release,
    ptp_release,
    rule_ids,
    run,
)

EXAMPLES = load_examples()
REQUIRED = {PTP_PRACTITIONER: ptp_release, MUE_PRACTITIONER: mue_release}


def releases_for(name: str, example: dict) -> dict:
    """The in-memory coding an example asks for: base data, plus the tables it requires."""
    if name.startswith("10-"):
        # "Only the April 2026 ICD-10-CM release is loaded (in force 2026-04-01 to 2026-09-30)."
        return {ICD10CM: (icd_release(ICD_APRIL_2026, icd_2026_rows()),)}
    releases = dict(base_releases())
    for requirement in example["requires"]:
        kind = requirement.split()[0]
        releases[kind] = (REQUIRED[kind](),)
    return releases


def test_the_examples_are_there():
    assert len(EXAMPLES) >= 14


@pytest.mark.parametrize(("name", "example"), EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_example(name, example):
    result = run(example["claim"], releases_for(name, example))
    found = rule_ids(result)
    expect = example["expect"]
    for rule in expect["must"]:
        assert rule in found, f"{name}: {rule} missing; got {result.to_dict()['findings']}"
    for rule in expect["must_not"]:
        assert rule not in found, f"{name}: {rule} must not appear; got {result.to_dict()['findings']}"
    if "status" in expect:
        assert result.status == expect["status"], f"{name}: {result.to_dict()['findings']}"
    assert set(found) <= set(CATALOGUE)
    json.dumps(result.to_dict())


def test_example_01_is_clean_with_only_information_findings():
    name, example = EXAMPLES[0]
    result = run(example["claim"], releases_for(name, example))
    assert {f.severity for f in result.findings} <= {"info"}
    assert result.to_dict()["status"] == "clean"


def test_example_10_says_which_icd_release_is_loaded():
    name, example = next(e for e in EXAMPLES if e[0].startswith("10-"))
    result = run(example["claim"], releases_for(name, example))
    icd = [f for f in result.findings if f.rule == "CODING_NOT_LOADED" and "ICD-10-CM" in f.message]
    assert icd and icd[0].severity == "warning"
    assert "ICD-10-CM April 2026 update (from 2026-04-01 to 2026-09-30)" in icd[0].message
    assert "fiscal year 2025" in icd[0].suggestion
    # nothing is reported as unknown when nothing could be looked up
    assert not {"DIAGNOSIS_CODE_UNKNOWN", "PROCEDURE_CODE_UNKNOWN", "MODIFIER_UNKNOWN"} & set(rule_ids(result))


def test_example_11_names_the_edit():
    name, example = next(e for e in EXAMPLES if e[0].startswith("11-"))
    result = run(example["claim"], releases_for(name, example))
    (finding,) = [f for f in result.findings if f.rule == "NCCI_PTP_CONFLICT"]
    assert finding.severity == "error"
    assert finding.line == 2
    assert finding.codes == ("0001U", "0030U")
    assert finding.reference.startswith(
        "NCCI practitioner PTP edits v32.2 (2026 Q3): column 1 0001U, column 2 0030U, modifier indicator 1"
    )
