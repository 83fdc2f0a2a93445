"""The CPT descriptor parser, on synthetic files only (real AMA text is licensed and never in the repo)."""

from datetime import date

import pytest

from codes.formats.base import FormatError
from codes.formats.cpt_descriptors import file_info, parse
from codes.formats.rows import CptRow


def write(tmp_path, text, name="cpt_2026_descriptors.txt", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_plain_file(tmp_path):
    path = write(tmp_path, "10001\tTest descriptor one\n0001F\tTest descriptor two\n\n0002T\tTest descriptor three\n")
    assert list(parse(path)) == [
        CptRow("10001", "Test descriptor one"),
        CptRow("0001F", "Test descriptor two"),
        CptRow("0002T", "Test descriptor three"),
    ]


@pytest.mark.parametrize("header", ["Code\tDescriptor", "CPT Code\tLong Descriptor", "cpt code\tdescriptor\t"])
def test_header_skipped(tmp_path, header):
    path = write(tmp_path, f"{header}\r\n0003U\tTest descriptor, café\r\n0004M\tTest descriptor five\t\r\n")
    assert list(parse(path)) == [CptRow("0003U", "Test descriptor, café"), CptRow("0004M", "Test descriptor five")]


def test_cp1252_file(tmp_path):
    path = write(tmp_path, "10001\tTest descriptor \u2019quoted\u2019\n", encoding="cp1252")
    assert next(parse(path)).description == "Test descriptor \u2019quoted\u2019"


def test_bad_code_names_line_and_field(tmp_path):
    path = write(tmp_path, "Code\tDescriptor\n10001\tTest one\n1002\tTest two\n")
    with pytest.raises(FormatError, match="not a CPT code") as caught:
        list(parse(path))
    assert (caught.value.line, caught.value.field) == (3, "code")
    assert "cpt_2026_descriptors.txt, line 3, field code" in str(caught.value)


def test_duplicate_code(tmp_path):
    path = write(tmp_path, "10001\tTest one\n10002\tTest two\n10001\tTest again\n")
    with pytest.raises(FormatError, match="10001 appears twice \\(first on line 1\\)") as caught:
        list(parse(path))
    assert caught.value.line == 3


def test_wrong_columns_and_blank_descriptor(tmp_path):
    with pytest.raises(FormatError, match="expected 2 tab-separated columns") as caught:
        list(parse(write(tmp_path, "10001\tTest one\n10002 Test two\n")))
    assert caught.value.line == 2
    with pytest.raises(FormatError, match="has no descriptor"):
        list(parse(write(tmp_path, "10001\t  \n")))
    with pytest.raises(FormatError, match="expected 2 tab-separated columns"):
        list(parse(write(tmp_path, "10001\tTest one\tExtra column\n")))


def test_wrong_kind_of_file(cms_dir, tmp_path):
    with pytest.raises(FormatError, match="does not look like a CPT descriptor file") as caught:
        list(parse(cms_dir / "ccipra-v322r0-f1_excerpt.txt"))
    assert caught.value.line == 1
    with pytest.raises(FormatError, match="does not look like a CPT descriptor file"):
        list(parse(cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt"))
    with pytest.raises(FormatError, match="empty"):
        list(parse(write(tmp_path, "Code\tDescriptor\n")))
    with pytest.raises(FormatError, match="UTF-16"):
        list(parse(write(tmp_path, "10001\tTest one\n", encoding="utf-16")))


def test_file_info():
    assert file_info("cpt_2026_descriptors.txt").effective_from == date(2026, 1, 1)
    assert file_info("LONGULT2025.txt").label == "CPT 2025"
    assert file_info("LONGULT2025.txt").effective_to is None
    assert file_info("descriptors.txt").label is None
