"""PPRRVU CSV and TXT on the project's samples of the CY2025 October files (CMS's layout, real rows of 49 codes,
our own text for the Level II descriptions) and the CY2026 July excerpt (LAYOUTS 4.1-4.3). The complete files:
tests/conformance."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from codes.formats import pfs_rvu
from codes.formats.base import FileInfo, FormatError


@pytest.fixture(scope="module")
def csv_rows(cms_dir):
    return list(pfs_rvu.parse(cms_dir / "PPRRVU2025_Oct.csv"))


@pytest.fixture(scope="module")
def txt_rows(cms_dir):
    return list(pfs_rvu.parse(cms_dir / "PPRRVU2025_Oct.txt"))


def _by_key(rows):
    return {(r.code, r.modifier): r for r in rows}


def test_both_forms_have_every_row(csv_rows, txt_rows):
    assert len(csv_rows) == 49
    assert len(txt_rows) == 49


def test_csv_and_txt_give_identical_rows(csv_rows, txt_rows):
    assert csv_rows == txt_rows


def test_g0276(csv_rows):
    row = _by_key(csv_rows)[("G0276", "")]
    assert row.status == "R"
    assert row.description == "PILD or placebo, CED trial"  # Level II text is kept (the sample's is ours)
    assert row.work_rvu == Decimal("7.17")
    assert row.pe_facility_rvu == Decimal("3.03")
    assert row.pe_facility_na is False
    assert row.pe_nonfacility_na is True
    assert row.mp_rvu == Decimal("0.74")
    assert row.total_facility == Decimal("10.94")
    assert row.total_nonfacility == Decimal("10.94")
    assert row.conversion_factor == Decimal("32.3465")
    assert row.global_days == "000"
    assert (row.mult_proc, row.bilat_surg, row.asst_surg, row.co_surg, row.team_surg) == ("2", "2", "2", "1", "0")


def test_0275t_is_carrier_priced(csv_rows):
    row = _by_key(csv_rows)[("0275T", "")]
    assert row.status == "R"
    assert row.global_days == "YYY"
    assert row.work_rvu == row.pe_nonfacility_rvu == row.pe_facility_rvu == row.mp_rvu == Decimal("0.00")
    assert row.total_facility == row.total_nonfacility == Decimal("0.00")
    assert row.description == ""  # CPT text is the AMA's


def test_77003_global_26_and_tc(csv_rows):
    rows = _by_key(csv_rows)
    glob, pc, tc = rows[("77003", "")], rows[("77003", "26")], rows[("77003", "TC")]
    assert (glob.total_nonfacility, pc.total_nonfacility, tc.total_nonfacility) == (
        Decimal("3.08"),
        Decimal("0.84"),
        Decimal("2.24"),
    )
    assert glob.pe_facility_na is True and pc.pe_facility_na is False and tc.pe_facility_na is True
    assert glob.pctc_indicator == pc.pctc_indicator == tc.pctc_indicator == "1"
    assert glob.global_days == "ZZZ"
    assert tc.work_rvu == Decimal("0.00")


def test_spine_codes(csv_rows):
    rows = _by_key(csv_rows)
    assert rows[("64483", "")].total_nonfacility == Decimal("7.30")
    assert rows[("64483", "")].total_facility == Decimal("3.33")
    assert rows[("63047", "")].pe_nonfacility_na is True
    assert rows[("63047", "")].total_facility == Decimal("33.85")
    assert rows[("22867", "")].work_rvu == Decimal("15.00")
    assert rows[("62321", "")].total_nonfacility == Decimal("7.76")


def test_72275_absent_and_72270_present(csv_rows):
    codes = {r.code for r in csv_rows}
    assert "72275" not in codes
    assert "72270" in codes


def test_cpt_descriptions_dropped_hcpcs_kept(csv_rows):
    assert all(r.description == "" for r in csv_rows if r.code[0].isdigit())
    letters = [r for r in csv_rows if r.code[0].isalpha()]
    assert letters and sum(1 for r in letters if r.description) > 0.9 * len(letters)


def test_modifiers_seen(csv_rows):
    assert {r.modifier for r in csv_rows} == {"", "26", "TC", "53"}


def test_2026_excerpt_with_pric_ind(cms_dir):
    path = cms_dir / "PPRRVU2026_Jul_nonQPP_excerpt_redacted.csv"
    rows = list(pfs_rvu.parse(path))
    assert [r.code for r in rows] == ["0001F", "0005F", "00100", "00102", "0012F"]
    assert all(r.conversion_factor == Decimal("33.4009") for r in rows)
    # PRIC IND sits before ENDO BASE: mapping by name keeps TEAM SURG and the CF in place.
    assert rows[0].team_surg == "9"
    assert rows[2].status == "J"
    assert all(r.description == "" for r in rows)  # "REDACTED" CPT text dropped like any CPT text


def test_file_info_from_names(cms_dir, tmp_path):
    info = pfs_rvu.file_info(cms_dir / "PPRRVU2025_Oct.csv")
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2025, 10, 1),
        date(2025, 12, 31),
        "PFS RVU 2025 Oct",
    )
    info = pfs_rvu.file_info(Path("PPRRVU25_JAN.txt"))
    assert (info.effective_from, info.effective_to) == (date(2025, 1, 1), date(2025, 3, 31))
    assert info.label == "PFS RVU 2025 Jan"
    info = pfs_rvu.file_info(cms_dir / "PPRRVU2026_Jul_nonQPP_excerpt_redacted.csv")
    assert (info.effective_from, info.effective_to) == (date(2026, 7, 1), date(2026, 9, 30))
    assert "nonQPP" in info.label
    info = pfs_rvu.file_info(Path("PPRRVU2026_Jan_QPP.csv"))
    assert info.label == "PFS RVU 2026 Jan QPP"
    assert info.effective_to == date(2026, 3, 31)


def test_file_info_from_content_when_renamed(cms_dir, tmp_path):
    renamed = tmp_path / "upload.csv"
    renamed.write_bytes((cms_dir / "PPRRVU2026_Jul_nonQPP_excerpt_redacted.csv").read_bytes())
    info = pfs_rvu.file_info(renamed)
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
        "PFS RVU 2026 Jul",
    )
    assert pfs_rvu.file_info(tmp_path / "nothing.csv") == FileInfo()


def test_released_line(cms_dir):
    assert pfs_rvu.released(cms_dir / "PPRRVU2025_Oct.csv") == date(2025, 9, 11)
    assert pfs_rvu.released(cms_dir / "PPRRVU2026_Jul_nonQPP_excerpt_redacted.csv") == date(2026, 6, 30)
    assert pfs_rvu.released(cms_dir / "PPRRVU2025_Oct.txt") is None


# ---- bad input -------------------------------------------------------------------------------------------


def _csv_lines(cms_dir, count):
    return (cms_dir / "PPRRVU2025_Oct.csv").read_text(encoding="latin-1").splitlines(keepends=True)[:count]


def test_truncated_csv_record(cms_dir, tmp_path):
    lines = _csv_lines(cms_dir, 13)
    lines[-1] = lines[-1][:30] + "\n"
    path = tmp_path / "PPRRVU2025_Oct.csv"
    path.write_text("".join(lines), encoding="latin-1")
    with pytest.raises(FormatError, match="truncated record") as err:
        list(pfs_rvu.parse(path))
    assert err.value.line == 13


def test_duplicate_code_and_modifier(cms_dir, tmp_path):
    lines = _csv_lines(cms_dir, 12)
    path = tmp_path / "PPRRVU2025_Oct.csv"
    path.write_text("".join([*lines, lines[-1]]), encoding="latin-1")
    with pytest.raises(FormatError, match="duplicate code 0005F") as err:
        list(pfs_rvu.parse(path))
    assert err.value.line == 13


def test_bad_number(cms_dir, tmp_path):
    lines = _csv_lines(cms_dir, 12)
    lines[-1] = lines[-1].replace(",0.00,", ",0.0x,", 1)
    path = tmp_path / "PPRRVU2025_Oct.csv"
    path.write_text("".join(lines), encoding="latin-1")
    with pytest.raises(FormatError, match="not a number") as err:
        list(pfs_rvu.parse(path))
    assert (err.value.line, err.value.field) == (12, "work_rvu")


def test_missing_column(cms_dir, tmp_path):
    lines = _csv_lines(cms_dir, 12)
    lines[9] = lines[9].replace("FACTOR", "FACTR")
    path = tmp_path / "PPRRVU2025_Oct.csv"
    path.write_text("".join(lines), encoding="latin-1")
    with pytest.raises(FormatError, match="'CONV FACTOR' is missing"):
        list(pfs_rvu.parse(path))


def test_wrong_kind_of_file(cms_dir):
    with pytest.raises(FormatError, match="does not look like a PFS relative value"):
        list(pfs_rvu.parse(cms_dir / "GPCI2025.csv"))


def test_utf16_refused(cms_dir, tmp_path):
    path = tmp_path / "PPRRVU2025_Oct.csv"
    path.write_text("".join(_csv_lines(cms_dir, 12)), encoding="utf-16")
    with pytest.raises(FormatError, match="UTF-16"):
        list(pfs_rvu.parse(path))


def test_truncated_txt_record(cms_dir, tmp_path):
    data = (cms_dir / "PPRRVU2025_Oct.txt").read_bytes().split(b"\r\n")[:10]
    data[-1] = data[-1][:100]
    path = tmp_path / "PPRRVU2025_Oct.txt"
    path.write_bytes(b"\r\n".join(data))
    with pytest.raises(FormatError, match="truncated record: 100 characters") as err:
        list(pfs_rvu.parse(path))
    assert err.value.line == 10


def test_txt_of_a_newer_layout_is_refused(cms_dir, tmp_path):
    data = (cms_dir / "PPRRVU2025_Oct.txt").read_bytes()
    path = tmp_path / "PPRRVU2026_Jul_nonQPP.txt"
    path.write_bytes(data[:5000])
    with pytest.raises(FormatError, match="CY2026 PPRRVU TXT layout"):
        list(pfs_rvu.parse(path))
    # Renamed, a record with a PRIC IND in the CY2025 filler, or one character longer, is refused as well.
    lines = data.split(b"\r\n")[:9]
    lines[8] = lines[8][:120] + b"9" + lines[8][121:]
    path = tmp_path / "PPRRVU.txt"
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(FormatError, match="not the CY2025 PPRRVU layout"):
        list(pfs_rvu.parse(path))
    lines = data.split(b"\r\n")[:9]
    lines[8] = lines[8][:120] + b"9" + lines[8][120:]
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(FormatError, match="record too long"):
        list(pfs_rvu.parse(path))
