"""NCCI MUE tables on the real practitioner excerpt and files in the same layout (LAYOUTS 3.2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from codes.formats import mue
from codes.formats.base import FormatError
from codes.formats.rows import MueRow

EXCERPT = "MCR_MUE_PractitionerServices_Eff_07-01-2026_excerpt.csv"


@pytest.fixture(scope="module")
def excerpt_text(cms_dir) -> str:
    return (cms_dir / EXCERPT).read_text(encoding="latin-1")


@pytest.fixture(scope="module")
def rows(cms_dir):
    return list(mue.parse(cms_dir / EXCERPT))


def test_real_rows(rows):
    assert len(rows) == 44
    by_code = {r.code: r for r in rows}
    assert by_code["0001U"] == MueRow("0001U", 1, 2, "Code Descriptor / CPT Instruction")
    assert by_code["0009U"] == MueRow("0009U", 2, 3, "Nature of Analyte")
    assert {r.adjudication_indicator for r in rows} <= {1, 2, 3}
    assert {r.rationale for r in rows} == {
        "Code Descriptor / CPT Instruction",
        "Nature of Analyte",
        "Nature of Service/Procedure",
        "Clinical: CMS Workgroup",
    }


def test_the_notice_is_latin1_and_skipped(excerpt_text, rows):
    assert "CPT\xae is a registered trademark" in excerpt_text  # the (R) sign is byte 0xAE
    assert rows[0].code == "0001U"


def test_file_info_and_table(cms_dir):
    info = mue.file_info(cms_dir / EXCERPT)
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
        "MUE practitioner 2026-07-01",
    )
    assert mue.table_of(cms_dir / EXCERPT) == "practitioner"
    assert mue.table_of(Path("MCR_MUE_OutpatientHospitalServices_Eff_01-01-2026.csv")) == "hospital"
    assert mue.table_of(Path("MCR_MUE_DMESupplierServices_Eff_10-01-2025.csv")) == "dme"
    info = mue.file_info(Path("MCR_MUE_DMESupplierServices_Eff_10-01-2025.csv"))
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2025, 10, 1),
        date(2025, 12, 31),
        "MUE dme 2025-10-01",
    )


def test_no_dates_without_eff_in_the_name(tmp_path, excerpt_text):
    path = tmp_path / "mue_upload.csv"
    path.write_text(excerpt_text, encoding="latin-1")
    info = mue.file_info(path)
    assert (info.effective_from, info.effective_to) == (None, None)
    assert mue.table_of(path) == "practitioner"  # from the header


def _hospital(excerpt_text: str) -> str:
    return excerpt_text.replace("Practitioner Services MUE Values", "Outpatient Hospital Services MUE Values")


def test_hospital_and_dme_headers(tmp_path, excerpt_text, rows):
    path = tmp_path / "MCR_MUE_OutpatientHospitalServices_Eff_07-01-2026.csv"
    path.write_text(_hospital(excerpt_text), encoding="latin-1")
    assert list(mue.parse(path)) == rows
    path = tmp_path / "MCR_MUE_DMESupplierServices_Eff_07-01-2026.csv"
    path.write_text(excerpt_text.replace("Practitioner Services", "DME Supplier Services"), encoding="latin-1")
    assert list(mue.parse(path)) == rows


def test_name_and_header_disagree(tmp_path, excerpt_text):
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_07-01-2026.csv"
    path.write_text(_hospital(excerpt_text), encoding="latin-1")
    with pytest.raises(FormatError, match="name says the practitioner table but the header says hospital"):
        list(mue.parse(path))


def test_crlf(tmp_path, excerpt_text, rows):
    path = tmp_path / EXCERPT
    path.write_bytes(excerpt_text.replace("\n", "\r\n").encode("latin-1"))
    assert list(mue.parse(path)) == rows


def _with_row(tmp_path, excerpt_text, row: str) -> Path:
    path = tmp_path / EXCERPT
    path.write_text(excerpt_text + row + "\n", encoding="latin-1")
    return path


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("0001U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction", "duplicate code 0001U"),
        ("0099U,x,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction", "not a whole number"),
        ("0099U,1,4 Date of Service Edit: Policy,Code Descriptor / CPT Instruction", "not an adjudication indicator"),
        ("0099U,1,Date of Service Edit,Code Descriptor / CPT Instruction", "not an adjudication indicator"),
        ("0099U,1,2 Date of Serv", "truncated record: 3 of 4"),
        ("0099U,1,2 Date of Service Edit: Policy,", "missing MUE rationale"),
        ("099U,1,2 Date of Service Edit: Policy,Code Descriptor / CPT Instruction", "not a 5-character"),
    ],
)
def test_bad_rows(tmp_path, excerpt_text, row, message):
    # 7 notice lines, 2 header lines and 44 rows: the added row is line 54.
    with pytest.raises(FormatError, match=message) as err:
        list(mue.parse(_with_row(tmp_path, excerpt_text, row)))
    assert err.value.line == 54


def test_unexpected_header(tmp_path, excerpt_text):
    path = tmp_path / EXCERPT
    path.write_text(excerpt_text.replace("MUE Rationale", "Rationale"), encoding="latin-1")
    with pytest.raises(FormatError, match="unexpected header") as err:
        list(mue.parse(path))
    assert err.value.line == 9


@pytest.mark.parametrize("other", ["ccipra-v322r0-f1_excerpt.txt", "PPRRVU2025_Oct.csv", "GPCI2025.csv"])
def test_wrong_kind_of_file(cms_dir, other):
    with pytest.raises(FormatError, match="does not look like an NCCI MUE file"):
        list(mue.parse(cms_dir / other))


def test_header_only_and_utf16(tmp_path, excerpt_text):
    path = tmp_path / EXCERPT
    path.write_text(excerpt_text[: excerpt_text.index("0001U")], encoding="latin-1")
    with pytest.raises(FormatError, match="no MUE rows"):
        list(mue.parse(path))
    path.write_text(excerpt_text, encoding="utf-16")
    with pytest.raises(FormatError, match="UTF-16"):
        list(mue.parse(path))
