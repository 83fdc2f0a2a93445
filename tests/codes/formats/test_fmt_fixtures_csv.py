"""The project's fixture CSV parsers (procedure summaries, modifiers, places of service), on tmp_path files."""

from datetime import date

import pytest

from codes.formats.base import FormatError
from codes.formats.fixtures_csv import (
    MODIFIERS,
    PLACES_OF_SERVICE,
    PROCEDURE_SUMMARIES,
    file_info,
    kind_of,
    parse,
    parse_modifiers,
    parse_places_of_service,
    parse_procedure_summaries,
)
from codes.formats.rows import ModifierRow, PlaceOfServiceRow, ProcedureSummaryRow

SUMMARIES = """# Our own words; never AMA descriptor text.
# Source: project notes, 2026-01
code,code_system,summary,effective_from,effective_to,replacement
G0276,HCPCS,"Lumbar decompression (PILD) or placebo control, in a CMS-approved clinical trial",2015-01-01,,
0275T,cpt,"Percutaneous lumbar decompression, image guided",2010-01-01,2025-12-31,

  # an indented comment between rows
64483,CPT,"Epidural steroid injection, lumbar or sacral, one level, with imaging",,,
"""

MODIFIER_CSV = """code,code_system,description,effective_from,effective_to,ncci_associated,anatomic
# HCPCS text from the CMS file; CPT modifiers in our words.
Q0,HCPCS,Investigational clinical service in a clinical research study,2008-01-01,,no,no
XS,HCPCS,Separate structure,2015-01-01,,YES,no
59,CPT,"Distinct procedural service, our wording",,,yes,no
RT,HCPCS,Right side,,,no,yes
GD,HCPCS,Units of service exceed the MUE,2008-01-01,2019-12-31,no,no
"""

POS_CSV = """# LAYOUTS 6.1
name,code,facility,effective_from,effective_to
Office,11,no,,
Ambulatory Surgical Center,24,yes,,
Telehealth in Patient's Home,10,no,2022-01-01,
"""


def write(tmp_path, text, name="fixture.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_procedure_summaries(tmp_path):
    rows = list(parse_procedure_summaries(write(tmp_path, SUMMARIES)))
    assert rows == [
        ProcedureSummaryRow(
            code="G0276",
            summary="Lumbar decompression (PILD) or placebo control, in a CMS-approved clinical trial",
            code_system="HCPCS",
            effective_from=date(2015, 1, 1),
        ),
        ProcedureSummaryRow(
            code="0275T",
            summary="Percutaneous lumbar decompression, image guided",
            code_system="CPT",
            effective_from=date(2010, 1, 1),
            effective_to=date(2025, 12, 31),
        ),
        ProcedureSummaryRow(
            code="64483",
            summary="Epidural steroid injection, lumbar or sacral, one level, with imaging",
            code_system="CPT",
        ),
    ]


def test_modifiers(tmp_path):
    rows = list(parse_modifiers(write(tmp_path, MODIFIER_CSV)))
    assert [row.code for row in rows] == ["Q0", "XS", "59", "RT", "GD"]
    assert rows[1] == ModifierRow("XS", "Separate structure", "HCPCS", date(2015, 1, 1), None, True, False)
    assert rows[3].anatomic is True and rows[3].ncci_associated is False
    assert rows[4].effective_to == date(2019, 12, 31)


def test_places_of_service_columns_in_any_order(tmp_path):
    rows = list(parse_places_of_service(write(tmp_path, POS_CSV)))
    assert rows == [
        PlaceOfServiceRow("11", "Office", False),
        PlaceOfServiceRow("24", "Ambulatory Surgical Center", True),
        PlaceOfServiceRow("10", "Telehealth in Patient's Home", False, date(2022, 1, 1)),
    ]


def test_parse_tells_the_kind(tmp_path):
    assert kind_of(write(tmp_path, SUMMARIES, "a.csv")) == PROCEDURE_SUMMARIES
    assert kind_of(write(tmp_path, MODIFIER_CSV, "b.csv")) == MODIFIERS
    assert kind_of(write(tmp_path, POS_CSV, "c.csv")) == PLACES_OF_SERVICE
    assert all(isinstance(row, ModifierRow) for row in parse(tmp_path / "b.csv"))
    assert len(list(parse(tmp_path / "c.csv"))) == 3


def test_utf8_bom_and_crlf(tmp_path):
    path = write(tmp_path, "\ufeff" + POS_CSV.replace("\n", "\r\n"))
    assert [row.code for row in parse_places_of_service(path)] == ["11", "24", "10"]


def test_quoted_multiline_field_with_hash(tmp_path):
    text = 'code,name,facility,effective_from,effective_to\n11,"Office\n# not a comment",no,,\n24,ASC,yes,,\n'
    rows = list(parse_places_of_service(write(tmp_path, text)))
    assert rows[0].name == "Office\n# not a comment"
    assert rows[1].code == "24"


def error(tmp_path, text, parser=parse):
    with pytest.raises(FormatError) as caught:
        list(parser(write(tmp_path, text, "pos.csv")))
    return caught.value


def test_wrong_kind_and_header(tmp_path):
    err = error(tmp_path, MODIFIER_CSV, parse_places_of_service)
    assert "expected a places of service fixture, the header is for modifiers" in str(err)
    assert err.line == 1
    err = error(tmp_path, "# note\ncode,name,facility,effective_from\n11,Office,no,\n")
    assert "missing effective_to" in err.message and err.line == 2
    err = error(tmp_path, "code,name,facility,effective_from,effective_to,extra\n")
    assert "unexpected extra" in err.message
    assert "empty" in error(tmp_path, "# only a comment\n\n").message


def test_bad_values_name_line_and_field(tmp_path):
    head = "code,name,facility,effective_from,effective_to\n11,Office,no,,\n"
    cases = [
        ("1,Office,no,,", "code", "not a place of service code"),
        ("12,Home,maybe,,", "facility", "not yes or no"),
        ("12,Home,,,", "facility", "not yes or no"),
        ("12,,no,,", "name", "blank"),
        ("12,Home,no,2025-02-30,", "effective_from", "not a date"),
        ("12,Home,no,20250101,", "effective_from", "not a date"),
        ("12,Home,no,2025-02-01,2025-01-31", "effective_to", "before effective_from"),
    ]
    for row, field, message in cases:
        err = error(tmp_path, head + "# comment\n" + row + "\n")
        assert (err.line, err.field) == (4, field), row
        assert message in err.message, row
        assert str(err).startswith("pos.csv, line 4, field " + field)


def test_bad_codes(tmp_path):
    head = "code,code_system,summary,effective_from,effective_to,replacement\n"
    assert error(tmp_path, head + "G0276,CPT,Summary,,,\n").field == "code"
    assert error(tmp_path, head + "G0276,ICD,Summary,,,\n").field == "code_system"
    assert error(tmp_path, head + "G0276,HCPCS,Summary,,,M48.062\n").field == "replacement"
    head = "code,code_system,description,effective_from,effective_to,ncci_associated,anatomic\n"
    assert error(tmp_path, head + "Q,HCPCS,Text,,,no,no\n").field == "code"


def test_duplicates(tmp_path):
    text = SUMMARIES + "g0276,HCPCS,Again,2015-01-01,,\n"
    err = error(tmp_path, text)
    assert "HCPCS G0276 from 2015-01-01 appears twice (first on line 4)" in err.message
    assert err.line == 9
    # The same code with another start date is a new period, not a duplicate.
    assert len(list(parse(write(tmp_path, SUMMARIES + "G0276,HCPCS,Later words,2027-01-01,,\n")))) == 4
    err = error(tmp_path, POS_CSV + "Another ASC,24,yes,,\n")
    assert "POS 24 appears twice" in err.message


def test_row_length_and_truncation(tmp_path):
    err = error(tmp_path, POS_CSV + "Another,24,yes\n")
    assert "row has 3 cells, the header has 5" in err.message and err.line == 6
    err = error(tmp_path, POS_CSV + '99,"Other place of service')
    assert err.line == 6


def test_encoding(tmp_path):
    path = write(tmp_path, POS_CSV.replace("Office", "Cabinet m\u00e9dical"), "latin.csv", encoding="latin-1")
    with pytest.raises(FormatError, match="not UTF-8") as caught:
        list(parse(path))
    assert caught.value.line == 3
    path = write(tmp_path, POS_CSV, "utf16.csv", encoding="utf-16")
    with pytest.raises(FormatError, match="UTF-16"):
        list(parse(path))


def test_file_info(tmp_path):
    info = file_info(tmp_path / "places_of_service.csv")
    assert info.effective_from is None and info.effective_to is None
    assert info.label == "fixture places_of_service.csv"
