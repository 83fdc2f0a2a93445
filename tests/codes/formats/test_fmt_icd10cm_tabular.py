"""The ICD-10-CM tabular XML parser against the official April 2026 XML and simple-icd-10-cm."""

import time
from datetime import date

import pytest

from codes.formats import icd10cm_display
from codes.formats.base import FormatError
from codes.formats.icd10cm_tabular import file_info, parse


@pytest.fixture(scope="module")
def parsed(icd10cm_xml):
    started = time.perf_counter()
    rows = list(parse(icd10cm_xml))
    return rows, time.perf_counter() - started


@pytest.fixture(scope="module")
def by_code(parsed):
    return {row.code: row for row in parsed[0]}


@pytest.mark.bench
def test_full_parse_is_fast(parsed):
    assert parsed[1] < 10, f"full parse took {parsed[1]:.1f} s"  # the figure: bench/bench_icd10cm.py


def test_full_parse_is_complete(parsed, by_code):
    rows = parsed[0]
    # Same totals as the FY2026 order file (LAYOUTS 1.1: 98,186 rows, 74,719 billable).
    assert len(rows) == 98186
    assert sum(row.billable for row in rows) == 74719
    assert len(by_code) == len(rows)


def test_every_code_agrees_with_simple_icd_10_cm(by_code):
    import simple_icd_10_cm as cm

    library = {
        code
        for code in cm.get_all_codes(with_dots=False)
        if not cm.is_chapter(code) and not (cm.is_block(code) and not cm.is_category(code))
    }
    assert set(by_code) - library == set()
    assert library - set(by_code) == set()
    wrong_billable = [code for code, row in by_code.items() if row.billable != cm.is_leaf(code)]
    assert wrong_billable == []
    # Descriptions match; the library appends a sevenChrDef <note> after "/", which we leave out.
    differ = {
        code: cm.get_description(code) for code, row in by_code.items() if row.description != cm.get_description(code)
    }
    assert all(text.startswith(by_code[code].description + "/") for code, text in differ.items())
    assert len(differ) < 1000


def test_known_codes(by_code):
    assert by_code["M4806"].billable is False
    assert by_code["M4806"].description == "Spinal stenosis, lumbar region"
    assert by_code["M48062"].billable is True
    assert by_code["M48062"].description == "Spinal stenosis, lumbar region with neurogenic claudication"
    assert by_code["Z006"].billable is True
    assert by_code["Z006"].description == (
        "Encounter for examination for normal comparison and control in clinical research program"
    )
    assert by_code["Z006"].short_description == ""
    assert by_code["QA00"].billable is False  # QA0: a new category with a letter in second place


def test_seventh_character_codes(by_code):
    # Own sevenChrDef at the category, inherited by S32.001.
    assert by_code["S32001"].billable is False
    assert by_code["S32001A"].billable is True
    assert by_code["S32001A"].description == (
        "Stable burst fracture of unspecified lumbar vertebra, initial encounter for closed fracture"
    )
    # Padding with X to six characters.
    assert by_code["S020"].billable is False
    assert by_code["S020XXA"].description == "Fracture of vault of skull, initial encounter for closed fracture"
    assert "S020A" not in by_code and "S020XA" not in by_code
    # A placeholder X already in the diag itself.
    assert by_code["T360X1A"].description == "Poisoning by penicillins, accidental (unintentional), initial encounter"
    # S06 with 6th character 7 or 8: the tabular's note allows only A.
    assert "S061X7A" in by_code
    assert "S061X7D" not in by_code and "S061X8S" not in by_code
    assert "S061X6D" in by_code


def test_tabular_order_parent_first(parsed):
    codes = [row.code for row in parsed[0]]
    at = codes.index("M4806")
    assert codes[at : at + 3] == ["M4806", "M48061", "M48062"]
    at = codes.index("S020")
    assert codes[at : at + 3] == ["S020", "S020XXA", "S020XXB"]


def test_display():
    assert icd10cm_display("M48062") == "M48.062"
    assert icd10cm_display("m48.062") == "M48.062"
    assert icd10cm_display("M48") == "M48"
    assert icd10cm_display("S020XXA") == "S02.0XXA"


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        ("icd10cm_tabular_2026.xml", date(2025, 10, 1), date(2026, 9, 30)),
        ("icd10cm-tabular-2026.xml", date(2025, 10, 1), date(2026, 9, 30)),
        ("ICD10CM_Tabular_2025.XML", date(2024, 10, 1), date(2025, 9, 30)),
        ("icd10cm-tabular-April-1-2026.xml", date(2026, 4, 1), date(2026, 9, 30)),
        ("icd10c-tabular-April-1-2026.xml", date(2026, 4, 1), date(2026, 9, 30)),
    ],
)
def test_file_info_from_name(tmp_path, name, start, end):
    info = file_info(tmp_path / name)
    assert (info.effective_from, info.effective_to) == (start, end)
    assert "FY" + str(end.year) in info.label


def test_file_info_of_the_shipped_file(icd10cm_xml):
    info = file_info(icd10cm_xml)
    assert info.effective_from == date(2026, 4, 1)
    assert info.label == "ICD-10-CM FY2026 (April 1, 2026 update)"


def test_file_info_falls_back_to_version(tmp_path):
    path = tmp_path / "tabular.xml"
    path.write_text("<ICD10CM.tabular><version>2025</version><chapter/></ICD10CM.tabular>")
    assert file_info(path).effective_from == date(2024, 10, 1)
    path.write_text("<ICD10CM.tabular><chapter/></ICD10CM.tabular>")
    assert file_info(path).effective_from is None


SMALL = """<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter><name>1</name><desc>Chapter</desc>
    <section id="A00-A09"><desc>Section</desc>
      <diag><name>A00</name><desc>Cholera</desc>
        <diag><name>A00.0</name><desc>Cholera one</desc></diag>
        {extra}
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"""


def write(tmp_path, text, name="icd10cm_tabular_2026.xml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_small_file(tmp_path):
    rows = list(parse(write(tmp_path, SMALL.format(extra=""))))
    assert [(row.code, row.billable) for row in rows] == [("A00", False), ("A000", True)]


def test_truncated_xml_names_the_line(icd10cm_xml, tmp_path):
    with open(icd10cm_xml, "rb") as source:
        head = source.read(200_000)
    path = tmp_path / "icd10cm_tabular_2026.xml"
    path.write_bytes(head)
    with pytest.raises(FormatError, match="not well-formed") as caught:
        list(parse(path))
    assert caught.value.line and caught.value.line > 100
    assert "icd10cm_tabular_2026.xml" in str(caught.value)


def test_wrong_kind_of_file(cms_dir, tmp_path):
    with pytest.raises(FormatError, match="not well-formed") as caught:
        list(parse(cms_dir / "icd10cm_order_2026_sample.txt"))
    assert caught.value.line == 1
    other = write(tmp_path, "<html><body/></html>")
    with pytest.raises(FormatError, match="does not look like an ICD-10-CM tabular XML"):
        list(parse(other))


def test_wrong_encoding(tmp_path):
    path = tmp_path / "icd10cm_tabular_2026.xml"
    path.write_bytes(SMALL.format(extra="<diag><name>A00.1</name><desc>Chol\xe9ra</desc></diag>").encode("latin-1"))
    with pytest.raises(FormatError, match="not well-formed") as caught:
        list(parse(path))
    assert caught.value.line == 8


def test_duplicate_code(tmp_path):
    path = write(tmp_path, SMALL.format(extra="<diag><name>A00.0</name><desc>Again</desc></diag>"))
    with pytest.raises(FormatError, match="A000 appears twice") as caught:
        list(parse(path))
    assert caught.value.line == 8


def test_bad_code_and_missing_desc(tmp_path):
    with pytest.raises(FormatError, match="not an ICD-10-CM code") as caught:
        list(parse(write(tmp_path, SMALL.format(extra="<diag><name>A0.01</name><desc>x</desc></diag>"))))
    assert caught.value.field == "name"
    with pytest.raises(FormatError, match="no <desc>"):
        list(parse(write(tmp_path, SMALL.format(extra="<diag><name>A00.1</name></diag>"))))


def test_seventh_character_inherited_in_small_file(tmp_path):
    extra = """<diag><name>A00.1</name><desc>With def</desc>
          <sevenChrDef><extension char="A">initial</extension><extension char="S">sequela</extension></sevenChrDef>
          <diag><name>A00.11</name><desc>Leaf</desc></diag>
        </diag>"""
    rows = [(row.code, row.billable, row.description) for row in parse(write(tmp_path, SMALL.format(extra=extra)))]
    assert rows[2:] == [
        ("A001", False, "With def"),
        ("A0011", False, "Leaf"),
        ("A0011XA", True, "Leaf, initial"),
        ("A0011XS", True, "Leaf, sequela"),
    ]
