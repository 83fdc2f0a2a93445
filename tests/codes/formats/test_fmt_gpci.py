"""GPCI CSV and TXT on the real CY2025 files and the CY2026 excerpt (LAYOUTS 4.6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from codes.formats import gpci
from codes.formats.base import FormatError
from codes.formats.rows import GpciRow


@pytest.fixture(scope="module")
def rows_2025(cms_dir):
    return list(gpci.parse(cms_dir / "GPCI2025.csv"))


def _csv_text(cms_dir):
    return (cms_dir / "GPCI2025.csv").read_text(encoding="latin-1")


def test_alabama(rows_2025, cms_dir):
    alabama = rows_2025[0]
    assert alabama == GpciRow("10112", "AL", "00", "ALABAMA", Decimal("1.000"), Decimal("0.869"), Decimal("0.575"))
    # The same values as written in the file (the CSV writes the work GPCI as "1").
    assert "10112,AL,00,ALABAMA,1,0.869,0.575" in _csv_text(cms_dir)


def test_count_keys_and_leading_zeros(rows_2025):
    assert len(rows_2025) == 109
    assert len({(r.mac, r.locality) for r in rows_2025}) == 109
    assert all(len(r.mac) == 5 and len(r.locality) == 2 for r in rows_2025)
    alaska = next(r for r in rows_2025 if r.state == "AK")
    assert (alaska.mac, alaska.locality, alaska.work) == ("02102", "01", Decimal("1.500"))
    assert rows_2025[-1].name == "WYOMING**"  # the footnotes after the table are not rows


def test_same_locality_number_in_several_states(rows_2025):
    assert len({r.state for r in rows_2025 if r.locality == "00"}) > 5


def test_csv_and_txt_agree(rows_2025, cms_dir):
    assert list(gpci.parse(cms_dir / "GPCI2025.txt")) == rows_2025


def test_2026_excerpt(cms_dir):
    rows = list(gpci.parse(cms_dir / "GPCI2026_excerpt.csv"))
    assert len(rows) == 15
    assert rows[0] == GpciRow("10112", "AL", "00", "ALABAMA", Decimal("1.000"), Decimal("0.875"), Decimal("0.566"))
    houston = next(r for r in rows if r.name == "HOUSTON")
    assert (houston.mac, houston.locality, houston.mp) == ("04412", "18", Decimal("1.376"))


def test_file_info(cms_dir, tmp_path):
    for name, year in (("GPCI2025.csv", 2025), ("GPCI2025.txt", 2025), ("GPCI2026_excerpt.csv", 2026)):
        info = gpci.file_info(cms_dir / name)
        assert (info.effective_from, info.effective_to, info.label) == (
            date(year, 1, 1),
            date(year, 12, 31),
            f"GPCI {year}",
        )
    assert gpci.file_info(tmp_path / "GPCI2027.csv").effective_from == date(2027, 1, 1)


def test_no_floor_column_is_not_taken_for_the_work_gpci(tmp_path):
    path = tmp_path / "GPCI2026.csv"
    path.write_text(
        "Title,,,,,,,\n,,,,,,,\n"
        "Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
        "2026 PW GPCI (without 1.0 Floor),2026 PW GPCI (with 1.0 Floor),2026 PE GPCI,2026 MP GPCI\n"
        "10112,AL,0,ALABAMA,0.98,1.000,0.875,0.566\n"
        "MAC Assignments as of November 22, 2023,,,,,,,\n"
    )
    (row,) = gpci.parse(path)
    assert (row.locality, row.work) == ("00", Decimal("1.000"))


def test_leading_zeros_restored(tmp_path):
    path = tmp_path / "GPCI2025.csv"
    path.write_text(_header() + "2102,AK,1,ALASKA*,1.5,1.081,0.592\n" + FOOTER)
    (row,) = gpci.parse(path)
    assert (row.mac, row.locality) == ("02102", "01")


FOOTER = "MAC Assignments as of November 22, 2023,,,,,,\n"


def _header() -> str:
    return (
        "ADDENDUM E.,,,,,,\n,,,,,,\n"
        "Medicare Administrative Contractor (MAC),State,Locality Number,Locality Name,"
        "2025 PW GPCI (with 1.0 Floor),2025 PE GPCI,2025 MP GPCI\n"
    )


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("10112,AL,00,ALABAMA,1,0.869,0.575\n10112,AL,00,ALABAMA,1,0.869,0.575\n", "duplicate locality 10112-00", 5),
        ("10112,AL,00,ALABAMA,1,0.8x9,0.575\n", "not a number", 4),
        ("10112,AL,00,ALABAMA,1,0.869\n", "truncated record", 4),
        ("10112,AL,00,ALABAMA,1,,0.575\n", "missing GPCI value", 4),
        ("10112,AL,00,ALABAMA,1,0.869,0.575\n,,,,,,\n02102,AK,01,ALASKA*,1.5,1.081,0.592\n", "after the end", 6),
    ],
)
def test_bad_csv(tmp_path, body, message, line):
    path = tmp_path / "GPCI2025.csv"
    path.write_text(_header() + body)
    with pytest.raises(FormatError, match=message) as err:
        list(gpci.parse(path))
    assert err.value.line == line


def test_truncated_txt(cms_dir, tmp_path):
    lines = (cms_dir / "GPCI2025.txt").read_bytes().split(b"\r\n")[:6]
    lines[5] = lines[5][:130]
    path = tmp_path / "GPCI2025.txt"
    path.write_bytes(b"\r\n".join(lines))
    with pytest.raises(FormatError, match="truncated record") as err:
        list(gpci.parse(path))
    assert err.value.line == 6


def test_wrong_kind_of_file(cms_dir):
    with pytest.raises(FormatError, match="does not look like a GPCI file"):
        list(gpci.parse(cms_dir / "25LOCCO.csv"))
