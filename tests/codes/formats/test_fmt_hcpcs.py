"""The HCPCS Level II alpha-numeric parser: the project's sample of the 2020 TXT (CMS's layout and real records,
our own descriptions), the October 2026 CSV excerpt, an XLSX. The complete 2020 file: tests/conformance."""

import csv
import time
from datetime import date

import pytest
from openpyxl import Workbook

from codes.formats.base import FormatError
from codes.formats.hcpcs import HEADER, file_info, parse

TXT = "HCPC2020_ANWEB_w_disclaimer.txt"
CSV = "HCPC2026_OCT_ANWEB_excerpt.csv"
G0276_LONG = (  # the sample's text (ours), spread over the first record and two continuations as in CMS's file
    "Blinded lumbar decompression (PILD) or placebo-control procedure, done inside an approved CED clinical trial"
)


@pytest.fixture(scope="module")
def hcpcs_2020(cms_dir):
    started = time.perf_counter()
    rows = list(parse(cms_dir / TXT))
    return rows, time.perf_counter() - started


@pytest.fixture(scope="module")
def by_code_2020(hcpcs_2020):
    return {row.code: row for row in hcpcs_2020[0]}


def test_2020_txt_totals(hcpcs_2020, by_code_2020):
    rows, _seconds = hcpcs_2020
    assert len(rows) == len(by_code_2020) == 40
    modifiers = {row.code for row in rows if row.is_modifier}
    assert len(modifiers) == 32
    assert {"TC", "XS", "GD", "Q0", "Q1"} <= modifiers
    assert not {"25", "26", "50", "59"} & modifiers  # CPT modifiers are not in the HCPCS file
    assert all(len(code) == 2 for code in modifiers)


def test_2020_g0276(by_code_2020):
    row = by_code_2020["G0276"]
    assert row.is_modifier is False
    assert row.long_description == G0276_LONG
    assert row.short_description == "PILD or placebo, CED trial"
    assert row.pricing_indicators == ("13",)
    assert row.multiple_pricing == "A"
    assert row.coverage == "D"
    assert row.asc_group == "YY"
    assert row.asc_date == date(2015, 1, 1)
    assert row.proc_note == "0193"
    assert row.betos == "P6D"
    assert row.type_of_service == ("1",)
    assert row.added == date(2015, 1, 1)
    assert row.action_effective == date(2015, 1, 1)
    assert row.terminated is None
    assert row.action_code == "N"


def test_2020_modifiers(by_code_2020):
    q0 = by_code_2020["Q0"]
    assert q0.is_modifier is True
    assert q0.coverage == "D"
    assert q0.proc_note == "0146"
    assert q0.long_description == "Investigational service in an approved clinical research study"  # 2 records
    assert by_code_2020["Q1"].long_description.startswith("Routine service in an approved")
    gd = by_code_2020["GD"]
    assert (gd.added, gd.action_effective, gd.terminated) == (date(2008, 1, 1), date(2020, 1, 1), date(2019, 12, 31))
    assert gd.action_code == "D"


def test_2020_other_fields(by_code_2020):
    j1040 = by_code_2020["J1040"]
    assert j1040.long_description == "Methylprednisolone acetate injection, per 80 mg"
    assert j1040.type_of_service == ("1", "P")
    assert j1040.pricing_indicators == ("51",)
    # A continuation that starts with a blank: still one space between the parts.
    assert by_code_2020["G0501"].long_description.endswith("the main evaluation and management service")


def test_csv_excerpt(cms_dir):
    rows = list(parse(cms_dir / CSV))
    assert [row.code for row in rows] == ["A1", "AA", "AC", "AM", "AS", "CP", "GD", "JF", "JG", "L1"]
    assert all(row.is_modifier for row in rows)
    by_code = {row.code: row for row in rows}
    assert by_code["AC"].added == date(2026, 7, 1)
    assert by_code["AC"].short_description == "Co-managed onboarding, mo 1"
    assert by_code["GD"].terminated == date(2019, 12, 31)
    assert by_code["AM"].xrefs == ("QM",)
    assert by_code["AM"].proc_note == "0069"
    assert by_code["AA"].coverage == "D"


def csv_rows(cms_dir):
    with open(cms_dir / CSV, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def write_xlsx(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_same_as_csv(cms_dir, tmp_path):
    path = write_xlsx(tmp_path / "HCPC2026_OCT_ANWEB_v2.xlsx", csv_rows(cms_dir))
    assert list(parse(path)) == list(parse(cms_dir / CSV))


def test_xlsx_with_numeric_cells(cms_dir, tmp_path):
    """Excel may hold SEQNUM, PROCNOTE and dates as numbers: the leading zeros come back."""
    rows = csv_rows(cms_dir)
    numeric = {HEADER.index(name) for name in ("SEQNUM", "RECID", "PROCNOTE", "ADD DT", "ACT EFF DT", "TERM DT")}
    converted = [rows[0]] + [[int(c) if i in numeric and c else c for i, c in enumerate(row)] for row in rows[1:]]
    path = write_xlsx(tmp_path / "HCPC2026_OCT_ANWEB.xlsx", [["Alpha-numeric HCPCS, October 2026"], [], *converted])
    assert list(parse(path)) == list(parse(cms_dir / CSV))


@pytest.mark.parametrize(
    ("name", "start", "end", "label"),
    [
        (TXT, date(2020, 1, 1), date(2020, 12, 31), "HCPCS 2020"),
        ("HCPC2026_OCT_ANWEB_v2.txt", date(2026, 10, 1), date(2026, 12, 31), "HCPCS 2026 OCT"),
        ("HCPC2025_JAN_ANWEB_12172024.xlsx", date(2025, 1, 1), date(2025, 3, 31), "HCPCS 2025 JAN"),
        ("HCPC2024_JUL_ANWEB_v3.xlsx", date(2024, 7, 1), date(2024, 9, 30), "HCPCS 2024 JUL"),
        ("hcpc2025_apr_anweb.csv", date(2025, 4, 1), date(2025, 6, 30), "HCPCS 2025 APR"),
        ("HCPC2015_CONTR_ANWEB_v2.txt", date(2015, 1, 1), date(2015, 12, 31), "HCPCS 2015"),
        (CSV, date(2026, 10, 1), date(2026, 12, 31), "HCPCS 2026 OCT"),
    ],
)
def test_file_info(name, start, end, label):
    assert file_info(name) == type(file_info(name))(start, end, label)


def test_file_info_unknown_name():
    assert file_info("alpha.txt").effective_from is None


# --- errors, on copies of the real file -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_lines(cms_dir):
    """The 2020 TXT as raw lines (bytes, no CRLF): 9 preamble lines, then records."""
    return (cms_dir / TXT).read_bytes().split(b"\r\n")[:-1]


def index_of(lines, start):
    return next(i for i, line in enumerate(lines) if line.startswith(start))


def write_txt(tmp_path, lines, name="HCPC2020_ANWEB_w_disclaimer.txt"):
    path = tmp_path / name
    path.write_bytes(b"".join(line + b"\r\n" for line in lines))
    return path


def test_small_copy_parses(real_lines, tmp_path):
    at = index_of(real_lines, b"G0276")
    rows = list(parse(write_txt(tmp_path, real_lines[:9] + real_lines[at : at + 3])))
    assert [(row.code, row.long_description) for row in rows] == [("G0276", G0276_LONG)]


def test_truncated_first_record(real_lines, tmp_path):
    lines = real_lines[:20]
    lines[-1] = lines[-1][:200]
    with pytest.raises(FormatError, match="first record has 200 characters.*293") as caught:
        list(parse(write_txt(tmp_path, lines)))
    assert caught.value.line == 20
    assert str(caught.value).startswith("HCPC2020_ANWEB_w_disclaimer.txt, line 20: ")


def test_truncated_continuation(real_lines, tmp_path):
    at = index_of(real_lines, b"G0276")
    lines = real_lines[:9] + real_lines[at : at + 3]
    lines[-1] = lines[-1][:50]
    with pytest.raises(FormatError, match="continuation record has 50 characters") as caught:
        list(parse(write_txt(tmp_path, lines)))
    assert caught.value.line == 12


def test_continuation_without_first_record(real_lines, tmp_path):
    at = index_of(real_lines, b"G0276")
    lines = real_lines[:10] + real_lines[at + 1 : at + 3]  # modifier A1, then G0276's continuations
    with pytest.raises(FormatError, match="for G0276 without its first record") as caught:
        list(parse(write_txt(tmp_path, lines)))
    assert (caught.value.line, caught.value.field) == (11, "RECID")


def test_continuations_out_of_order(real_lines, tmp_path):
    at = index_of(real_lines, b"G0276")
    lines = real_lines[:9] + [real_lines[at], real_lines[at + 2], real_lines[at + 1]]
    with pytest.raises(FormatError, match="SEQNUM 00200 of G0276 does not follow 00300"):
        list(parse(write_txt(tmp_path, lines)))


def test_duplicate_first_record(real_lines, tmp_path):
    at = index_of(real_lines, b"   Q0")
    lines = real_lines[:9] + real_lines[at : at + 2] + real_lines[at : at + 2]
    with pytest.raises(FormatError, match="Q0 has a second first record") as caught:
        list(parse(write_txt(tmp_path, lines)))
    assert caught.value.line == 12


def test_invalid_date(real_lines, tmp_path):
    at = index_of(real_lines, b"G0276")
    first = real_lines[at]
    lines = real_lines[:9] + [first[:268] + b"20151301" + first[276:]] + real_lines[at + 1 : at + 3]
    with pytest.raises(FormatError, match="not a date") as caught:
        list(parse(write_txt(tmp_path, lines)))
    assert (caught.value.line, caught.value.field) == (10, "ADD DT")


def test_other_kinds_of_file(cms_dir, tmp_path):
    ptp = tmp_path / "ccipra-v322r0-f1.txt"
    ptp.write_bytes((cms_dir / "ccipra-v322r0-f1_excerpt.txt").read_bytes())
    with pytest.raises(FormatError, match="this does not look like a HCPCS ANWEB file"):
        list(parse(ptp))
    with pytest.raises(FormatError, match="this does not look like a HCPCS ANWEB file"):
        list(parse(cms_dir / "PPRRVU2025_Oct.txt"))
    with pytest.raises(FormatError, match="this does not look like a HCPCS ANWEB file"):
        list(parse(cms_dir / "MCR_MUE_PractitionerServices_Eff_07-01-2026_excerpt.csv"))
    fake_xlsx = tmp_path / "HCPC2026_OCT_ANWEB.xlsx"
    fake_xlsx.write_bytes((cms_dir / CSV).read_bytes())
    with pytest.raises(FormatError, match="not a readable xlsx workbook"):
        list(parse(fake_xlsx))
    with pytest.raises(FormatError, match="unknown suffix"):
        list(parse(tmp_path / "HCPC2026.pdf"))


def test_xlsx_under_a_txt_name_and_utf16(cms_dir, tmp_path):
    path = write_xlsx(tmp_path / "HCPC2026_OCT_ANWEB.txt", csv_rows(cms_dir))
    with pytest.raises(FormatError, match="zip/xlsx container"):
        list(parse(path))
    utf16 = tmp_path / "HCPC2026_OCT_ANWEB.csv"
    utf16.write_text((cms_dir / CSV).read_text(encoding="utf-8"), encoding="utf-16")
    with pytest.raises(FormatError, match="UTF-16"):
        list(parse(utf16))


def test_truncated_csv(cms_dir, tmp_path):
    text = (cms_dir / CSV).read_text(encoding="utf-8")
    path = tmp_path / CSV
    path.write_text(text[: text.rindex("\n", 0, len(text) - 1) + 40], encoding="utf-8")
    with pytest.raises(FormatError, match="cells, the header has 48") as caught:
        list(parse(path))
    assert caught.value.line == 11


def test_csv_missing_column(cms_dir, tmp_path):
    lines = (cms_dir / CSV).read_text(encoding="utf-8").splitlines(keepends=True)
    lines[0] = lines[0].replace("TERM DT", "END DT")
    path = tmp_path / CSV
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(FormatError, match="lacks column.*TERM DT") as caught:
        list(parse(path))
    assert caught.value.line == 1
