"""OPPS Addendum B: the UNVERIFIED sample for its layout, and files written here in that layout (LAYOUTS 5.1)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from codes.formats import opps_addendum_b
from codes.formats.base import FormatError
from codes.formats.rows import OppsRow

SAMPLE = "OPPS_Addendum_B_CY2023_like_excerpt_UNVERIFIED.csv"

# The 2025 layout: preamble lines, the two IRA columns, money with "$" and thousands commas, "." for none.
HEADER_2025 = (
    "HCPCS Code,Short Descriptor,SI,APC,Relative Weight,Payment Rate,National Unadjusted Copayment,"
    "Minimum Unadjusted Copayment,IRA Coinsurance percentage,Adjusted Beneficiary Copayment,"
    '"Note: Actual copayments would be lower due to the cap on copayments at the Inpatient Deductible of $1,676.00",'
    "Drug and Device Pass-Through Expiration during Calendar Year,* Indicates a Change"
)
ROWS_2025 = [
    '63047,Lam facetec & foramot lumbar,J1,5114,80.1145,"$7,143.73",.,"$1,428.75",,,,,',
    "C1713,Anchor/screw bn/bn tis/bn,N,,,,,,,,,,",
    "J1040,Methylprednisolone 80 mg inj,N,,.,.,.,.,,,,,",
    '0275T,Perq lamot/lam lumbar,J1,5115,144.2970,"$12,866.82",.,"$2,573.37",,"$1,676.00",,,*',
    "G0260,Inj for sacroiliac jt anesth,T,5442,7.7664,$692.52,.,$138.51,19.5%,$135.04,,,",
    '99999,"Test, with comma",S,0701,1.0000,"$1,234.56",$246.91,$246.91,,,,,',
]


def _write(tmp_path: Path, lines: list[str], name: str = "January 2025 Web Addendum B.12.31.24.csv") -> Path:
    path = tmp_path / name
    preamble = [
        ",Addendum B.-OPPS Payment by HCPCS Code for CY 2025,,,,,,,,,,,",
        ',"CPT codes and descriptions only are copyright 2024 American Medical Association.",,,,,,,,,,,',
        ",,,,,,,,,,,,",
    ]
    path.write_text("\n".join([*preamble, HEADER_2025, *lines]) + "\n", encoding="latin-1")
    return path


def test_unverified_sample_layout(cms_dir):
    rows = list(opps_addendum_b.parse(cms_dir / SAMPLE))
    assert [r.code for r in rows] == ["61885", "61888", "64568", "64569", "64570", "95970", "95976", "95977", "95983"]
    assert rows[0] == OppsRow(
        "61885", "", "J1", "5465", Decimal("151.2253"), Decimal("8200.26"), Decimal("1640.05"), Decimal("1640.05")
    )
    assert rows[4].status_indicator == "Q2"
    assert rows[5].national_copayment == Decimal("0.00")  # a real 0, not "none"
    assert all(r.short_description == "" for r in rows)  # CPT descriptors are the AMA's


def test_2025_layout_with_money_cells(tmp_path):
    rows = {r.code: r for r in opps_addendum_b.parse(_write(tmp_path, ROWS_2025))}
    assert rows["63047"] == OppsRow(
        "63047", "", "J1", "5114", Decimal("80.1145"), Decimal("7143.73"), None, Decimal("1428.75")
    )
    assert rows["99999"].payment_rate == Decimal("1234.56")
    assert rows["99999"].apc == "0701"  # leading zero kept
    assert rows["0275T"].payment_rate == Decimal("12866.82")
    assert rows["C1713"] == OppsRow("C1713", "Anchor/screw bn/bn tis/bn", "N", "", None, None, None, None)
    assert rows["J1040"].relative_weight is None and rows["J1040"].payment_rate is None
    assert rows["G0260"].short_description == "Inj for sacroiliac jt anesth"
    assert rows["G0260"].minimum_copayment == Decimal("138.51")


def test_tab_separated_text(tmp_path):
    header = HEADER_2025.replace('"', "").replace(",", "\t").replace("$1\t676.00", "$1,676.00")
    lines = ["Addendum B", "CPT copyright", "", header, "G0260\tInj for sacroiliac jt anesth\tT\t5442\t7.7664\t$692.52"]
    lines[-1] += "\t.\t$1,138.51\t\t\t\t\t"
    path = tmp_path / "January 2025 Addendum B.txt"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    (row,) = opps_addendum_b.parse(path)
    assert row == OppsRow(
        "G0260",
        "Inj for sacroiliac jt anesth",
        "T",
        "5442",
        Decimal("7.7664"),
        Decimal("692.52"),
        None,
        Decimal("1138.51"),
    )


def test_columns_found_by_name_not_position(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text(
        "HCPCS Code,SI,Short Descriptor,APC,Payment Rate,Relative Weight,Minimum Unadjusted Copayment,"
        "National Unadjusted Copayment\nG0260,T,Inj sacroiliac,5442,$692.52,7.7664,$138.51,.\n"
    )
    (row,) = opps_addendum_b.parse(path)
    assert (row.status_indicator, row.payment_rate, row.relative_weight) == ("T", Decimal("692.52"), Decimal("7.7664"))
    assert (row.minimum_copayment, row.national_copayment) == (Decimal("138.51"), None)


@pytest.mark.parametrize(
    ("name", "start"),
    [
        ("January 2025 Web Addendum B.12.31.24.csv", date(2025, 1, 1)),
        ("2023_January_Web_Addendum_B.01202023a.csv", date(2023, 1, 1)),
        ("January_Web_2024_Addendum_B.04.24.24.csv", date(2024, 1, 1)),
        ("2020_january_web_addendum_b.12312019.csv", date(2020, 1, 1)),
        ("January_2022_Web_Addendum_B.01.10.22.csv", date(2022, 1, 1)),
        ("April 2026 Web Addendum B.04.01.26.csv", date(2026, 4, 1)),
        ("October_2025_Web_Addendum_B.09.25.25.csv", date(2025, 10, 1)),
    ],
)
def test_file_info(name, start):
    info = opps_addendum_b.file_info(Path(name))
    assert info.effective_from == start
    assert info.effective_to == date(start.year, start.month + 2, 31 if start.month in (1, 10) else 30)
    assert info.label == f"OPPS Addendum B {start.strftime('%B')} {start.year}"


def test_file_info_unknown():
    assert opps_addendum_b.file_info(Path("addendum_b.csv")).effective_from is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ('63047,x,J1,5114,80.1145,"$7,143.7x",.,$1.00,,,,,', "not a number"),
        ("63047,x,J1,51A4,80.1145,$1.00,.,$1.00,,,,,", "not an APC"),
        ("63047,x,,5114,80.1145,$1.00,.,$1.00,,,,,", "not a status indicator"),
        ("63047,x,J1,5114,80.1145", "truncated record"),
        ("6304,x,J1,5114,80.1145,$1.00,.,$1.00,,,,,", "not a 5-character"),
        (ROWS_2025[0], "duplicate code 63047"),
    ],
)
def test_bad_rows(tmp_path, row, message):
    with pytest.raises(FormatError, match=message) as err:
        list(opps_addendum_b.parse(_write(tmp_path, [ROWS_2025[0], row])))
    assert err.value.line == 6


def test_footnote_then_code_row(tmp_path):
    path = _write(tmp_path, [ROWS_2025[0], "* Indicates a change,,,,,,,,,,,,", ROWS_2025[1]])
    with pytest.raises(FormatError, match=r"after the end of the table \(line 6\)") as err:
        list(opps_addendum_b.parse(path))
    assert err.value.line == 7
    assert len(list(opps_addendum_b.parse(_write(tmp_path, [ROWS_2025[0], "* Indicates a change"])))) == 1


def test_missing_column(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text("HCPCS Code,Short Descriptor,SI,APC,Relative Weight,Payment Rate\nG0260,x,T,5442,1,$1\n")
    with pytest.raises(FormatError, match="'NATIONAL UNADJUSTED COPAYMENT' is missing") as err:
        list(opps_addendum_b.parse(path))
    assert err.value.line == 1


def test_wrong_kind_of_file(cms_dir):
    with pytest.raises(FormatError, match="does not look like an OPPS Addendum B file"):
        list(opps_addendum_b.parse(cms_dir / "OPPS_Addendum_A_Jan2025_excerpt.csv"))
