"""ASC Addendum AA on files written here in the LAYOUTS 5.4 layout (no real AA file has been found)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from codes.formats import asc_addendum_aa
from codes.formats.base import FormatError
from codes.formats.rows import AscRow

HEADER = (
    "HCPCS Code,Short Descriptor,Subject to Multiple Procedure Discounting,January 2025 Comment Indicator,"
    "January 2025 Payment Indicator,January 2025 Payment Weight,January 2025 Payment Rate"
)
ROWS = [
    '64483,Njx aa&/strd tfrm epi l/s 1,Y,,A2,5.4406,"$302.57 "',
    '0275T,Perq lamot/lam lumbar,Y,,J8,175.6211,"$9,891.33"',
    "77003,Fluoroguide for spine inject,N,,N1,,",
    "C1713,Anchor/screw bn/bn tis/bn,N,NI,N1,.,.",
    "G0260,Inj for sacroiliac jt anesth,Y,CH,P3,,$98.76",
]


def _write(tmp_path: Path, lines: list[str], header: str = HEADER, name: str = "AA_January_2025.csv") -> Path:
    path = tmp_path / name
    preamble = [
        "ASC Covered Surgical Procedures for CY 2025,,,,,,",
        "CPT codes and descriptions only are copyright,,,,,,",
    ]
    path.write_text("\n".join([*preamble, ",,,,,,", header, *lines]) + "\n", encoding="latin-1")
    return path


def test_rows(tmp_path):
    rows = {r.code: r for r in asc_addendum_aa.parse(_write(tmp_path, ROWS))}
    assert rows["64483"] == AscRow("64483", "", True, "", "A2", Decimal("5.4406"), Decimal("302.57"))
    assert rows["0275T"].payment_rate == Decimal("9891.33")
    assert rows["77003"] == AscRow("77003", "", False, "", "N1", None, None)
    assert rows["C1713"] == AscRow("C1713", "Anchor/screw bn/bn tis/bn", False, "NI", "N1", None, None)
    assert rows["G0260"].comment_indicator == "CH"
    assert rows["G0260"].payment_weight is None and rows["G0260"].payment_rate == Decimal("98.76")


def test_header_variants(tmp_path):
    """A blank column after the code, doubled and trailing spaces, other order, no comment indicator column."""
    header = (
        "HCPCS Code,,Short Descriptor,Subject to  Multiple Procedure Discounting,April 2026 Payment Indicator,"
        "April 2026  Payment Weight  ,April 2026 Payment Rate"
    )
    path = _write(tmp_path, ['64628,,Trml dstrj ios bvn 1st 2 l/s,Y,J8,175.6211,"$9,891.33 "'], header=header)
    (row,) = asc_addendum_aa.parse(path)
    assert row == AscRow("64628", "", True, "", "J8", Decimal("175.6211"), Decimal("9891.33"))
    info = asc_addendum_aa.file_info(path)
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2026, 4, 1),
        date(2026, 6, 30),
        "ASC Addendum AA April 2026",
    )


def test_tab_separated(tmp_path):
    path = tmp_path / "AA.txt"
    path.write_text(HEADER.replace(",", "\t") + "\nG0260\tInj sacroiliac\tY\t\tP3\t1.1000\t$98.76\n")
    (row,) = asc_addendum_aa.parse(path)
    assert (row.code, row.payment_weight, row.payment_rate) == ("G0260", Decimal("1.1000"), Decimal("98.76"))


def test_file_info(tmp_path):
    info = asc_addendum_aa.file_info(_write(tmp_path, ROWS, name="aa.csv"))
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2025, 1, 1),
        date(2025, 3, 31),
        "ASC Addendum AA January 2025",
    )
    info = asc_addendum_aa.file_info(Path("AA_October_2025.csv"))  # no such file: from the name
    assert (info.effective_from, info.effective_to) == (date(2025, 10, 1), date(2025, 12, 31))
    assert asc_addendum_aa.file_info(Path("addendum.csv")).effective_from is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("64483,x,Maybe,,A2,5.4406,$302.57", "not Y or N"),
        ("64483,x,Y,,,5.4406,$302.57", "not a payment indicator"),
        ("64483,x,Y,,A2,5.44x6,$302.57", "not a number"),
        ("64483,x,Y,,A2", "truncated record"),
        (ROWS[0], "duplicate code 64483"),
    ],
)
def test_bad_rows(tmp_path, row, message):
    with pytest.raises(FormatError, match=message) as err:
        list(asc_addendum_aa.parse(_write(tmp_path, [ROWS[0], row])))
    assert err.value.line == 6


def test_ambiguous_or_missing_columns(tmp_path):
    header = HEADER + ",CY 2024 Payment Indicator"
    with pytest.raises(FormatError, match="2 columns contain 'PAYMENT INDICATOR'") as err:
        list(asc_addendum_aa.parse(_write(tmp_path, ROWS, header=header)))
    assert err.value.line == 4
    header = HEADER.replace("January 2025 Payment Weight,", "")
    with pytest.raises(FormatError, match="no column containing 'PAYMENT WEIGHT'"):
        list(asc_addendum_aa.parse(_write(tmp_path, ROWS, header=header)))


def test_wrong_kind_of_file(cms_dir):
    with pytest.raises(FormatError, match="does not look like an ASC Addendum AA file"):
        list(asc_addendum_aa.parse(cms_dir / "PPRRVU2025_Oct.csv"))


def test_opps_addendum_b_is_not_an_aa(cms_dir):
    with pytest.raises(FormatError, match="no column containing 'MULTIPLE PROCEDURE'"):
        list(asc_addendum_aa.parse(cms_dir / "OPPS_Addendum_B_CY2023_like_excerpt_UNVERIFIED.csv"))
