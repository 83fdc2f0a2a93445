"""The guide as the billing office reads it: no internal references (mild.md, LAYOUTS n, ../shared), no other
year's PFS figures in a year's coding notes, whole descriptions (never "…" inside a cell), long notes in rows tall
enough to show them."""

from __future__ import annotations

import io
import math

import pytest
from openpyxl import load_workbook

from billing.guide.build import build_guide
from billing.guide.text import PROJECT_RESEARCH, for_year, public_text
from billing.guide.workbook import MAX_ROW_HEIGHT, write_billing_guide
from codes.selectors import clear_cache
from tests.billing.downloads_data import load_cms_2025, load_fixture_codesets, load_practice_defaults

INTERNAL = ("mild.md", "LAYOUTS", "shared/", "../")


@pytest.mark.parametrize(
    ("text", "public"),
    [
        ("mild.md", PROJECT_RESEARCH),
        ("mild.md; CMS PPRRVU2025_Oct", "CMS PPRRVU2025_Oct"),
        ("NCD 150.13; LAYOUTS 7 (837P 005010X222A1)", "NCD 150.13; 837P 005010X222A1"),
        ("NCD 150.13; mild.md; LAYOUTS 7", "NCD 150.13; 837P 005010X222A1"),
        ("Coverage of mild®: NCD 150.13, CED only (sure, mild.md).", "Coverage of mild®: NCD 150.13, CED only (sure)."),
        ("Source: ../shared/domain/mild.md. Medicare covers it under CED.", "Medicare covers it under CED."),
        ("1 per day (unverified: use the loaded MUE table).", "1 per day (unverified)."),
        ("", ""),
    ],
)
def test_public_text(text, public):
    assert public_text(text) == public


def test_for_year_drops_only_another_years_pfs_sentences():
    note = "PFS 2025: status R (restricted coverage), carrier priced. The MUE is very probably 1 per day."
    assert for_year(note, 2026) == "The MUE is very probably 1 per day."
    assert for_year(note, 2025) == note


@pytest.fixture
def guides(db, cms_dir):
    clear_cache()
    load_cms_2025(cms_dir)
    load_fixture_codesets()
    practice = load_practice_defaults()
    books = {}
    for year in (2025, 2026):
        out = io.BytesIO()
        write_billing_guide(build_guide("mild", year, "10112-00", practice.pk), out)
        books[year] = load_workbook(io.BytesIO(out.getvalue()))
    yield books
    clear_cache()


def _texts(ws):
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                yield cell


def test_no_internal_reference_and_no_cut_description(guides):
    descriptions = 0
    for year, wb in guides.items():
        for ws in wb.worksheets:
            for cell in _texts(ws):
                assert not any(ref in cell.value for ref in INTERNAL), (year, ws.title, cell.coordinate, cell.value)
            for row in ws.iter_rows():
                header = [c.value for c in row]
                if "Description" in header:
                    col = header.index("Description") + 1
                    for r in range(row[0].row + 1, ws.max_row + 1):
                        text = ws.cell(r, col).value
                        if isinstance(text, str):
                            descriptions += 1
                            assert not text.rstrip().endswith("…"), (year, ws.title, r, text)
                    break
    assert descriptions > 10


def test_a_years_coding_notes_cite_that_years_pfs(guides):
    coding_2026 = " ".join(c.value for c in _texts(guides[2026]["Coding"]))
    assert "PFS 2025" not in coding_2026
    coding_2025 = " ".join(c.value for c in _texts(guides[2025]["Coding"]))
    assert "PFS 2025 status R" in coding_2025


def test_long_notes_get_rows_tall_enough(guides):
    ws = guides[2026]["Coverage"]
    header = next(r for r in ws.iter_rows(values_only=True) if r and "Notes" in r)
    col = header.index("Notes") + 1
    width = ws.column_dimensions[ws.cell(1, col).column_letter].width
    longest = 0
    for row in range(1, ws.max_row + 1):
        text = ws.cell(row, col).value
        if isinstance(text, str) and len(text) > 200 and text != "Notes":
            longest = max(longest, len(text))
            needed = min(15 * math.ceil(len(text) / width), MAX_ROW_HEIGHT)
            assert ws.row_dimensions[row].height >= needed, (row, len(text), ws.row_dimensions[row].height)
            assert needed < MAX_ROW_HEIGHT  # the column is wide enough that the whole note fits
    assert longest > 1000  # the NCD notes are there
