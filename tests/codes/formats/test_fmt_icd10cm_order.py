"""The ICD-10-CM order/codes file parser on the project's samples of the FY2026 and FY2025 order files (the real
codes, order numbers and billable flags of CMS's file and of the rebuilt FY2025 excerpt; our own descriptions).
The real descriptions: tests/conformance."""

from datetime import date

import pytest

from codes.formats.base import FormatError
from codes.formats.icd10cm_order import file_info, parse
from codes.formats.icd10cm_tabular import parse as parse_tabular

REAL = "icd10cm_order_2026_sample.txt"
REBUILT = "icd10cm_order_2025_sample.txt"


def test_real_fy2026_excerpt(cms_dir):
    rows = list(parse(cms_dir / REAL))
    assert len(rows) == 18
    assert sum(row.billable for row in rows) == 11
    by_code = {row.code: row for row in rows}
    assert by_code["A00"].billable is False
    assert by_code["A0472"].billable is True
    assert by_code["A0472"].short_description == "Test condition A0472"
    assert by_code["A0472"].description == "Test condition A0472, described by the project"
    assert by_code["M545"].billable is False
    assert by_code["M5450"].billable is True
    assert by_code["M5450"].description == "Test condition M5450, described by the project"


def test_sample_codes_and_flags_agree_with_the_tabular_xml(cms_dir, icd10cm_xml):
    wanted = {row.code: row for row in parse(cms_dir / REAL)}
    found = {row.code: row for row in parse_tabular(icd10cm_xml) if row.code in wanted}
    assert set(found) == set(wanted)
    for code, row in wanted.items():
        assert found[code].billable == row.billable, code


def test_rebuilt_fy2025_excerpt(cms_dir):
    rows = list(parse(cms_dir / REBUILT))
    assert len(rows) == 342
    assert sum(row.billable for row in rows) == 277
    by_code = {row.code: row for row in rows}
    assert by_code["M4806"].billable is False
    assert by_code["M4806"].description == "Test condition M4806, described by the project"
    assert by_code["M48061"].short_description == "Test condition M48061"
    assert by_code["M48062"].billable is True
    assert by_code["M48062"].description == "Test condition M48062, described by the project"
    assert by_code["Z006"].billable is True
    assert by_code["Z006"].short_description == "Test condition Z006"
    assert by_code["M961"].billable is True


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        (REAL, date(2025, 10, 1), date(2026, 9, 30)),
        (REBUILT, date(2024, 10, 1), date(2025, 9, 30)),
        ("icd10cm_order_2026.txt", date(2025, 10, 1), date(2026, 9, 30)),
        ("ICD10CM-ORDER-2026.TXT", date(2025, 10, 1), date(2026, 9, 30)),
        ("icd10cm-order-April-1-2026.txt", date(2026, 4, 1), date(2026, 9, 30)),
        ("icd10cm_codes_2025.txt", date(2024, 10, 1), date(2025, 9, 30)),
        ("icd10cm-codes-April-1-2025.txt", date(2025, 4, 1), date(2025, 9, 30)),
    ],
)
def test_file_info(name, start, end):
    info = file_info(name)
    assert (info.effective_from, info.effective_to) == (start, end)
    assert info.label.startswith(f"ICD-10-CM FY{end.year}")


def test_file_info_unknown_names():
    assert file_info("icd10cm_order_addenda_2026.txt").effective_from is None
    assert file_info("codes.txt").label is None
    assert file_info("icd10cm_tabular_2026.xml").effective_from is None


def test_codes_file_layout(cms_dir, tmp_path):
    order = [row for row in parse(cms_dir / REAL) if row.billable]
    path = tmp_path / "icd10cm_codes_2026.txt"
    path.write_text("".join(f"{row.code:<7} {row.description}\n" for row in order), encoding="ascii")
    rows = list(parse(path))
    assert [(row.code, row.description) for row in rows] == [(row.code, row.description) for row in order]
    assert all(row.billable and row.short_description == "" for row in rows)


def copy_with(cms_dir, tmp_path, change):
    lines = (cms_dir / REAL).read_text(encoding="ascii").splitlines(keepends=True)
    change(lines)
    path = tmp_path / "icd10cm_order_2026.txt"
    path.write_text("".join(lines), encoding="ascii")
    return path


def test_truncated_record(cms_dir, tmp_path):
    def cut(lines):
        lines[-1] = lines[-1][:50]

    with pytest.raises(FormatError, match="at least 78") as caught:
        list(parse(copy_with(cms_dir, tmp_path, cut)))
    assert caught.value.line == 18
    assert "icd10cm_order_2026.txt, line 18" in str(caught.value)


def test_duplicate_code(cms_dir, tmp_path):
    with pytest.raises(FormatError, match="A000 appears twice") as caught:
        list(parse(copy_with(cms_dir, tmp_path, lambda lines: lines.append(lines[1]))))
    assert (caught.value.line, caught.value.field) == (19, "code")


def test_bad_flag_and_code(cms_dir, tmp_path):
    def flag(lines):
        lines[2] = lines[2][:14] + "2" + lines[2][15:]

    with pytest.raises(FormatError, match="not 0") as caught:
        list(parse(copy_with(cms_dir, tmp_path, flag)))
    assert (caught.value.line, caught.value.field) == (3, "billable flag")

    def code(lines):
        lines[3] = lines[3][:6] + "a0-9   " + lines[3][13:]

    with pytest.raises(FormatError, match="not an ICD-10-CM code") as caught:
        list(parse(copy_with(cms_dir, tmp_path, code)))
    assert caught.value.line == 4


def test_wrong_kind_of_file(cms_dir, tmp_path):
    with pytest.raises(FormatError, match="does not look like an ICD-10-CM order") as caught:
        list(parse(cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt"))
    assert caught.value.line == 1
    addenda = tmp_path / "icd10cm_order_addenda_2026.txt"
    addenda.write_text("Add:    00048 A0472   1 Enterocolitis\n", encoding="ascii")
    with pytest.raises(FormatError, match="does not look like"):
        list(parse(addenda))
    empty = tmp_path / "icd10cm_order_2026.txt"
    empty.write_text("\n\n", encoding="ascii")
    with pytest.raises(FormatError, match="empty"):
        list(parse(empty))


def test_wrong_encoding(cms_dir, tmp_path):
    text = (cms_dir / REAL).read_text(encoding="ascii")
    utf16 = tmp_path / "icd10cm_order_2026.txt"
    utf16.write_text(text, encoding="utf-16")
    with pytest.raises(FormatError, match="UTF-16"):
        list(parse(utf16))
    utf16.write_bytes(text.encode("utf-16-le"))  # no BOM: caught by the NUL bytes
    with pytest.raises(FormatError, match="NUL bytes") as caught:
        list(parse(utf16))
    assert caught.value.line == 1
