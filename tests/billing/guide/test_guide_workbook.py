"""The billing-guide workbook, written from the real 2025 rows and read back with openpyxl."""

from __future__ import annotations

import io
import time
from dataclasses import replace
from datetime import date
from decimal import Decimal

import openpyxl
import pytest

from billing.guide.data import DEFAULT_DISCLAIMER, CoverageRow, GuideData, PaymentRow
from billing.guide.workbook import write_billing_guide
from billing.spreadsheets import CURRENCY
from tests.billing.mild_guide import MILD_CLAIM_FIELDS, build_mild_guide, payers_and_rules

SHEETS = ["Overview", "Coverage", "Coding", "Claim fields", "Payment", "Changes", "Sources"]
HEADER_ROW = 4
REQUIRED = {
    "Coverage": ["Payer", "Payer type", "Coverage", "Certainty"],
    "Coding": ["Kind", "Code", "Description", "Details"],
    "Claim fields": ["Item", "837P (electronic)", "CMS-1500 (paper)", "Certainty"],
    "Payment": [
        "Code",
        "PFS status",
        "Physician national non-facility",
        "Physician national facility",
        "Physician 10112-00 non-facility",
        "Physician 10112-00 facility",
        "OPPS national rate",
        "ASC national rate",
    ],
    "Changes": ["Kind", "Subject", "What changed"],
    "Sources": ["Kind", "Release"],
}


@pytest.fixture(scope="module")
def guide(cms_dir) -> GuideData:
    return build_mild_guide(cms_dir)


@pytest.fixture(scope="module")
def written(guide, tmp_path_factory) -> tuple[openpyxl.Workbook, float]:
    path = tmp_path_factory.mktemp("guide") / "mild-2025.xlsx"
    start = time.perf_counter()
    write_billing_guide(guide, path)
    elapsed = time.perf_counter() - start
    return openpyxl.load_workbook(path), elapsed


@pytest.fixture(scope="module")
def wb(written) -> openpyxl.Workbook:
    return written[0]


def headers(ws) -> list[str]:
    return [c.value for c in ws[HEADER_ROW] if c.value is not None]


def table(ws) -> list[dict[str, object]]:
    names = headers(ws)
    return [dict(zip(names, row)) for row in ws.iter_rows(min_row=HEADER_ROW + 1, values_only=True)]


def payment_cell(ws, code: str, modifier: str | None, header: str):
    col = headers(ws).index(header) + 1
    for row in range(HEADER_ROW + 1, ws.max_row + 1):
        if ws.cell(row, 1).value == code and ws.cell(row, 2).value == modifier:
            return ws.cell(row, col)
    raise AssertionError(f"no payment row {code} {modifier}")


@pytest.mark.bench
def test_writes_quickly(written):
    _, elapsed = written
    print(f"\nbilling guide written in {elapsed * 1000:.0f} ms")
    assert elapsed < 2.0


def test_sheet_names_and_titles(wb):
    assert wb.sheetnames == SHEETS
    for ws in wb:
        assert ws["A1"].value, ws.title
        assert ws["A1"].font.b, ws.title
        assert ws.page_setup.orientation == "landscape"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.page_setup.fitToWidth == 1
    assert wb["Overview"]["A1"].value == "mild® billing guide 2025"


def test_tables_have_bold_frozen_filtered_headers_repeated_in_print(wb):
    for name in SHEETS[1:]:
        ws = wb[name]
        assert ws.freeze_panes == "A5", name
        assert all(c.font.b for c in ws[HEADER_ROW] if c.value), name
        assert ws.auto_filter.ref.startswith("A4:"), name
        assert ws.print_title_rows == "$4:$4", name
        assert ws.column_dimensions["A"].width >= 8


def test_overview_has_the_disclaimer_and_facts(wb):
    ws = wb["Overview"]
    values = {row[0]: row[1] for row in ws.iter_rows(values_only=True) if row[0]}
    assert values["Disclaimer"] == DEFAULT_DISCLAIMER
    assert values["Locality"] == "10112-00 ALABAMA"
    assert values["PFS conversion factor"] == pytest.approx(32.3465)
    assert values["Year"] == 2025


def test_payment_amounts_are_numbers_in_currency_format(wb):
    ws = wb["Payment"]
    assert headers(ws) == [
        "Code",
        "Modifier",
        "Description",
        "PFS status",
        "Physician national non-facility",
        "Physician national facility",
        "Physician 10112-00 non-facility",
        "Physician 10112-00 facility",
        "OPPS SI",
        "OPPS APC",
        "OPPS national rate",
        "ASC PI",
        "ASC national rate",
        "Notes",
    ]
    g0276 = payment_cell(ws, "G0276", None, "Physician national facility")
    assert g0276.value == pytest.approx(353.87)
    assert isinstance(g0276.value, float)
    assert g0276.data_type == "n"
    assert g0276.number_format == CURRENCY
    assert payment_cell(ws, "G0276", None, "Physician 10112-00 facility").value == pytest.approx(330.86)
    assert payment_cell(ws, "G0276", None, "Physician national non-facility").value == "NA in this setting"
    assert payment_cell(ws, "64483", None, "Physician national non-facility").value == pytest.approx(236.13)
    assert payment_cell(ws, "64483", None, "Physician 10112-00 non-facility").value == pytest.approx(211.73)
    assert payment_cell(ws, "64483", None, "Physician 10112-00 facility").value == pytest.approx(100.13)
    assert payment_cell(ws, "77003", "26", "Physician national non-facility").value == pytest.approx(27.17)
    assert payment_cell(ws, "77003", "TC", "Physician national non-facility").value == pytest.approx(72.46)
    assert payment_cell(ws, "63047", None, "Physician national facility").value == pytest.approx(1094.93)
    assert payment_cell(ws, "22867", None, "Physician national facility").value == pytest.approx(1045.44)


def test_carrier_priced_and_not_loaded_are_text(wb):
    ws = wb["Payment"]
    for header in (
        "Physician national non-facility",
        "Physician national facility",
        "Physician 10112-00 non-facility",
        "Physician 10112-00 facility",
    ):
        cell = payment_cell(ws, "0275T", None, header)
        assert cell.value == "carrier priced"
        assert cell.data_type == "s"
    assert payment_cell(ws, "0275T", None, "ASC national rate").value == "not loaded"
    assert payment_cell(ws, "0275T", None, "OPPS national rate").value == pytest.approx(12866.82)
    assert payment_cell(ws, "0275T", None, "OPPS SI").value == "J1"
    assert payment_cell(ws, "64483", None, "OPPS national rate").value == "not loaded"
    assert payment_cell(ws, "72275", None, "Physician national facility").value == "not in the fee schedule"


def test_no_formulas_and_text_with_a_leading_equals_stays_text(wb):
    seen_equals = 0
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                assert cell.data_type != "e", (ws.title, cell.coordinate)
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    assert cell.data_type == "s"
                    seen_equals += 1
    assert seen_equals == 1  # the Anthem note in the fixture


def test_required_cells_are_filled(wb):
    for name, required in REQUIRED.items():
        rows = table(wb[name])
        assert rows, name
        for row in rows:
            for header in required:
                assert row[header] not in (None, ""), (name, header, row)


def test_coding_says_where_each_description_comes_from(wb):
    rows = {row["Code"]: row for row in table(wb["Coding"])}
    assert rows["0275T"]["Details"] == "Description: our summary"
    assert rows["G0276"]["Details"] == "Description: CMS HCPCS text"
    assert rows["M48.06"]["Details"] == "not billable (header)"
    assert rows["M48.062"]["Details"] == "billable"
    assert rows["24"]["Details"] == "PFS facility rate"
    assert rows["11"]["Details"] == "PFS non-facility rate"


def test_claim_fields_say_where_the_trial_items_go(wb):
    rows = {row["Item"].split(" (")[0]: row for row in table(wb["Claim fields"])}
    nct = rows["Clinical trial number"]
    assert "REF01 = P4" in nct["837P (electronic)"]
    assert "without 'NCT' or 'CT'" in nct["837P (electronic)"]
    assert "Item 19" in nct["CMS-1500 (paper)"] and "CT03072927" in nct["Example"]
    assert "24D" in rows["Modifier Q0"]["CMS-1500 (paper)"]
    assert "ABF:Z006" in rows["Diagnosis Z00.6"]["837P (electronic)"]
    assert "Not used" in rows["Condition code 30"]["837P (electronic)"]
    assert len(rows) == len(MILD_CLAIM_FIELDS)


def test_changes_compute_the_difference_as_a_number(wb):
    rows = table(wb["Changes"])
    g0276 = next(r for r in rows if r["Subject"] == "G0276 facility, national")
    assert g0276["Before (2024)"] == pytest.approx(364.17)
    assert g0276["Now (2025)"] == pytest.approx(353.87)
    assert g0276["Difference"] == pytest.approx(-10.30)
    cf_row = next(row for row in wb["Changes"].iter_rows(min_row=5) if row[1].value == "Conversion factor")
    assert cf_row[3].number_format == '"$"#,##0.0000'
    code = next(r for r in rows if r["Kind"] == "Code")
    assert (code["Before (2024)"], code["Now (2025)"], code["Difference"]) == ("active", "deleted", None)


def test_sources_list_each_release_with_its_checksum(wb):
    rows = table(wb["Sources"])
    assert [r["Kind"] for r in rows] == ["Physician fee schedule RVUs", "GPCIs"]
    assert all(len(r["SHA-256"]) == 64 for r in rows)
    assert rows[0]["Effective from"].date() == date(2025, 10, 1)


def test_coverage_rows_from_payer_rules(wb):
    payer, rule = payers_and_rules()[0]
    row = CoverageRow.from_rule(rule, payer)
    assert row.payer_type == "Medicare fee-for-service"
    assert row.diagnoses == ("M48.062 (primary)", "Z00.6 (secondary)")
    assert row.trial == "NCT number required: NCT03072927, NCT02093520"
    assert row.places_of_service == ("22", "24")
    assert "checked as a warning" in row.notes
    sheet = {r["Payer"]: r for r in table(wb["Coverage"])}
    assert sheet["Medicare Part B"]["Modifiers"] == "Q0"
    assert sheet["Medicare Part B"]["Effective to"] == "open"
    assert sheet["Medicare Part B"]["Reference URL"].startswith("https://www.cms.gov/")
    assert wb["Coverage"]["L5"].hyperlink is not None


def test_national_only_guide_to_a_stream(cms_dir):
    guide = build_mild_guide(cms_dir, locality=None)
    stream = io.BytesIO()
    write_billing_guide(guide, stream)
    wb = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert not any("10112" in h for h in headers(wb["Payment"]))
    assert "national amounts" in wb["Coverage"]["A2"].value


def test_empty_sections_say_none(guide):
    stream = io.BytesIO()
    write_billing_guide(replace(guide, coverage=(), changes=(), sources=()), stream)
    wb = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert wb["Changes"]["A5"].value == "none"


def test_a_missing_required_amount_is_refused(guide):
    broken = replace(guide.payments[0], locality_facility=None)
    with pytest.raises(ValueError, match="Physician 10112-00 facility"):
        write_billing_guide(replace(guide, payments=(broken,)), io.BytesIO())


def test_payment_row_without_rvus_or_sources():
    row = PaymentRow.build("99999", "unknown", None, Decimal("32.3465"))
    assert row.national_facility == "not in the fee schedule"
    assert row.opps_rate == "not loaded" and row.asc_rate == "not loaded"
    assert row.locality_facility is None
