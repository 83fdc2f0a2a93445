"""Conformance: the parsers on CMS's complete real files, and the project's samples and starter data checked
against them (every code, date and figure of tests/data/cms and fixtures/codesets is CMS's own).

Runs only where SHARED_DIR/cms holds the real files (see conftest.py); the main suite covers the same parsers on
the samples in tests/data/cms."""

from __future__ import annotations

import csv
import gzip
import io
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from billing.guide import fees as payments
from billing.guide.fees import FACILITY, NONFACILITY, pfs_amount
from codes.formats import hcpcs, icd10cm_order, pfs_rvu
from codes.formats.fixtures_csv import parse_modifiers
from codes.formats.icd10cm_tabular import parse as parse_tabular
from tests.billing.cms_csv import read_pprrvu
from tests.testdata import CMS

ROOT = CMS.parents[2]
STARTER = ROOT / "fixtures" / "codesets"
CF_2025 = Decimal("32.3465")


# ---- PFS relative values, CY2025 October ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pfs_2025(real_cms_dir):
    started = time.perf_counter()
    rows = list(pfs_rvu.parse(real_cms_dir / "PPRRVU2025_Oct.csv"))
    return rows, time.perf_counter() - started


def test_pfs_csv_and_txt_have_every_row_and_agree(pfs_2025, real_cms_dir):
    rows, seconds = pfs_2025
    print(f"PPRRVU2025_Oct.csv: {len(rows)} rows in {seconds:.3f}s")
    assert len(rows) == 19090
    assert seconds < 5
    assert list(pfs_rvu.parse(real_cms_dir / "PPRRVU2025_Oct.txt")) == rows
    g0276 = next(r for r in rows if (r.code, r.modifier) == ("G0276", ""))
    assert g0276.description == "Pild/placebo control clin tr"  # CMS's Level II text, never shipped
    assert {r.modifier for r in rows} == {"", "26", "TC", "53"}


def test_pfs_national_amount_is_total_times_cf_for_every_row(real_cms_dir):
    checked = 0
    for row in read_pprrvu(real_cms_dir / "PPRRVU2025_Oct.csv").values():
        for setting, total in ((NONFACILITY, row.total_nonfacility), (FACILITY, row.total_facility)):
            result = pfs_amount(row, None, CF_2025, setting)
            if result.amount is not None:
                assert result.amount == payments.cents(total * CF_2025), (row.code, row.modifier, setting)
                checked += 1
    assert checked == 12272


def test_pfs_sample_rows_are_real_rows(pfs_2025, cms_dir):
    real = {(r.code, r.modifier): r for r in pfs_2025[0]}
    for form in ("PPRRVU2025_Oct.csv", "PPRRVU2025_Oct.txt"):
        for row in pfs_rvu.parse(cms_dir / form):
            assert replace(row, description="") == replace(real[(row.code, row.modifier)], description=""), row.code


def test_shipped_pfs_is_the_real_file_without_descriptions(pfs_2025, real_cms_dir):
    with gzip.open(STARTER / "cms" / "PPRRVU2025_Oct.csv.gz", "rt", encoding="latin-1", newline="") as shipped:
        text = shipped.read()
    real = (real_cms_dir / "PPRRVU2025_Oct.csv").read_text(encoding="latin-1")
    shipped_lines, real_lines = text.splitlines(), real.splitlines()
    assert len(shipped_lines) == len(real_lines)
    header = next(i for i, line in enumerate(real_lines) if line.startswith("HCPCS,MOD,DESCRIPTION")) + 1
    assert shipped_lines[:header] == real_lines[:header]
    for mine, theirs in zip(shipped_lines[header:], real_lines[header:], strict=True):
        a, b = next(csv.reader([mine])), next(csv.reader([theirs]))
        assert a[2] == "" and a[:2] + a[3:] == b[:2] + b[3:], b[:2]


@pytest.mark.parametrize("name", ["GPCI2025.csv", "25LOCCO.csv"])
def test_shipped_gpci_and_localities_are_cms_files(real_cms_dir, name):
    assert (STARTER / "cms" / name).read_bytes() == (real_cms_dir / name).read_bytes()


@pytest.mark.parametrize(
    "name",
    [
        "GPCI2025.csv",
        "GPCI2025.txt",
        "GPCI2026_excerpt.csv",
        "25LOCCO.csv",
        "25LOCCO.txt",
        "PPRRVU2026_Jul_nonQPP_excerpt_redacted.csv",
        "ccipra-v322r0-f1_excerpt.txt",
        "MCR_MUE_PractitionerServices_Eff_07-01-2026_excerpt.csv",
    ],
)
def test_samples_copied_whole_are_cms_files(real_cms_dir, cms_dir, name):
    assert (cms_dir / name).read_bytes() == (real_cms_dir / name).read_bytes()


# ---- HCPCS 2020 ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hcpcs_2020(real_cms_dir):
    return {row.code: row for row in hcpcs.parse(real_cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt")}


def test_hcpcs_2020_complete_file(hcpcs_2020):
    assert len(hcpcs_2020) == 7079
    modifiers = {code for code, row in hcpcs_2020.items() if row.is_modifier}
    assert len(modifiers) == 369
    assert hcpcs_2020["G0276"].long_description.startswith("Blinded procedure for lumbar stenosis")
    assert hcpcs_2020["J1040"].long_description == "Injection, methylprednisolone acetate, 80 mg"
    assert "management visit (list separately" in hcpcs_2020["G0501"].long_description
    gd = hcpcs_2020["GD"]
    assert (gd.added, gd.terminated) == (date(2008, 1, 1), date(2019, 12, 31))


def test_hcpcs_sample_records_are_real_records(hcpcs_2020, cms_dir):
    for row in hcpcs.parse(cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt"):
        want = hcpcs_2020[row.code]
        assert row.long_description != want.long_description  # our words, not CMS's
        assert replace(row, long_description="", short_description="") == replace(
            want, long_description="", short_description=""
        ), row.code


def test_shipped_modifiers_have_the_hcpcs_files_dates(hcpcs_2020, real_cms_dir):
    """Every Level II modifier of the 2020 file is shipped with its ADD DT and TERM DT; the October 2026 excerpt's
    dates win where it says more (JG terminated 2024-12-31, AC added 2026-07-01)."""
    shipped = {row.code: row for row in parse_modifiers(STARTER / "modifiers.csv") if row.code_system == "HCPCS"}
    latest = {code: (row.added, row.terminated) for code, row in hcpcs_2020.items() if row.is_modifier}
    for row in hcpcs.parse(real_cms_dir / "HCPC2026_OCT_ANWEB_excerpt.csv"):
        latest[row.code] = (row.added, row.terminated)
    assert len(latest) == 370
    for code, (added, terminated) in latest.items():
        assert (shipped[code].effective_from, shipped[code].effective_to) == (added, terminated), code
        if code in hcpcs_2020:
            assert shipped[code].description.lower() != hcpcs_2020[code].long_description.lower(), code


# ---- ICD-10-CM order files -------------------------------------------------------------------------------------


def test_icd_order_excerpt_agrees_with_the_tabular_xml(real_cms_dir, icd10cm_xml):
    wanted = {row.code: row for row in icd10cm_order.parse(real_cms_dir / "icd10cm_order_2026_REAL_excerpt.txt")}
    found = {row.code: row for row in parse_tabular(icd10cm_xml) if row.code in wanted}
    assert set(found) == set(wanted)
    for code, row in wanted.items():
        assert (found[code].billable, found[code].description) == (row.billable, row.description), code


@pytest.mark.parametrize(
    ("real", "sample"),
    [
        ("icd10cm_order_2026_REAL_excerpt.txt", "icd10cm_order_2026_sample.txt"),
        ("icd10cm_order_2025_RECONSTRUCTED_excerpt.txt", "icd10cm_order_2025_sample.txt"),
    ],
)
def test_icd_samples_keep_the_real_codes_order_and_flags(real_cms_dir, cms_dir, real, sample):
    def key(path):
        lines = path.read_text(encoding="ascii").splitlines()
        return [line[:16] for line in lines]

    assert key(cms_dir / sample) == key(real_cms_dir / real)


def test_hcpcs_2026_csv_sample_keeps_every_field_but_the_text(real_cms_dir, cms_dir):
    def rows(path):
        out = []
        for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))):
            row.pop("LONG DESCRIPTION"), row.pop("SHORT DESCRIPTION")
            out.append(row)
        return out

    assert rows(cms_dir / "HCPC2026_OCT_ANWEB_excerpt.csv") == rows(real_cms_dir / "HCPC2026_OCT_ANWEB_excerpt.csv")


# ---- ZIP code to carrier and locality (issue 16) ------------------------------------------------------------------


def test_zip5_starter_is_the_real_file_and_the_sample_its_records(real_cms_dir, cms_dir):
    from codes.formats import zip5

    real = (real_cms_dir / "ZIP5_OCT2025.txt").read_bytes()
    with gzip.open(STARTER / "cms" / "ZIP5_OCT2025.txt.gz", "rb") as fh:
        assert fh.read() == real  # byte for byte
    lines = set(real.splitlines())
    sample = (cms_dir / "ZIP5_sample_OCT2025.txt").read_bytes().splitlines()
    assert sample and all(line in lines for line in sample)
    rows = list(zip5.parse(real_cms_dir / "ZIP5_OCT2025.txt"))
    assert len(rows) == 42956 and len({r.zip_code for r in rows}) == 42956
