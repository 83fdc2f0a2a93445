"""export_billing_guide --procedure KEY for every shipped procedure profile (issue 16), on the default data: each
guide carries its own codes, its payers' rules (with their scope and frequency limits) and its own claim fields;
no procedure-specific text is in the code."""

import json
from io import StringIO
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command

from tests.billing.downloads_data import table

pytestmark = pytest.mark.django_db

PROFILES = json.loads((Path(__file__).resolve().parents[3] / "fixtures/practice/procedure_profiles.json").read_text())


@pytest.mark.parametrize("profile", PROFILES["profiles"], ids=[p["key"] for p in PROFILES["profiles"]])
def test_every_profile_has_its_guide(profile, defaults_db, tmp_path):
    out = tmp_path / f"{profile['key']}.xlsx"
    stdout = StringIO()
    call_command(
        "export_billing_guide", procedure=profile["key"], year=2026, locality="04412-11", output=str(out), stdout=stdout
    )
    summary = json.loads(stdout.getvalue().strip().splitlines()[-1])
    assert summary["procedure"] == profile["key"] and summary["payers"] >= 1
    wb = openpyxl.load_workbook(out)
    coding = {row["Code"] for row in table(wb["Coding"])}
    wanted = {c["code"] for c in profile["codes"] if c["system"] == "procedure"}
    assert wanted <= coding
    fields = [row["Item"] for row in table(wb["Claim fields"])]
    assert fields == [f["item"] for f in profile["claim_fields"]]


def test_esi_guide_says_where_wiser_and_the_session_limit_apply(defaults_db, tmp_path):
    out = tmp_path / "esi.xlsx"
    call_command("export_billing_guide", procedure="esi", year=2026, output=str(out), stdout=StringIO())
    rows = table(openpyxl.load_workbook(out)["Coverage"])
    notes = " ".join(str(r.get("Notes") or "") for r in rows)
    assert "Applies only to services done in states AZ, NJ, OH, OK, TX, WA" in notes
    assert "At most 4 sessions per 365 days per cervical/thoracic / lumbar/sacral" in notes
    assert [r["Prior authorisation"] for r in rows].count("required") == 1  # WISeR, Medicare


def test_no_procedure_specific_claim_fields_in_code():
    for module in (Path(__file__).resolve().parents[3] / "billing" / "guide").glob("*.py"):
        source = module.read_text()
        assert "MILD_CLAIM_FIELDS" not in source and "REF*P4" not in source, module.name
