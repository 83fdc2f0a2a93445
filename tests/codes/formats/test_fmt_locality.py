"""Locality to county crosswalk, CSV and TXT, on the real 2025 files (LAYOUTS 4.6)."""

from __future__ import annotations

from datetime import date

import pytest

from codes.formats import locality
from codes.formats.base import FormatError
from codes.formats.rows import LocalityRow


@pytest.fixture(scope="module")
def csv_rows(cms_dir):
    return list(locality.parse(cms_dir / "25LOCCO.csv"))


@pytest.fixture(scope="module")
def txt_rows(cms_dir):
    return list(locality.parse(cms_dir / "25LOCCO.txt"))


def test_zeros_restored_in_the_csv(csv_rows, cms_dir):
    assert "\n2102,1,ALASKA" in (cms_dir / "25LOCCO.csv").read_text(encoding="latin-1").replace("\r", "")
    alaska = next(r for r in csv_rows if r.state == "ALASKA")
    assert alaska == LocalityRow("02102", "01", "ALASKA", "STATEWIDE", "ALL COUNTIES")
    assert all(len(r.mac) == 5 and len(r.locality) == 2 for r in csv_rows)


def test_csv_and_txt_agree_after_restoring_zeros(csv_rows, txt_rows):
    assert len(csv_rows) == len(txt_rows) == 109
    assert [(r.mac, r.locality) for r in csv_rows] == [(r.mac, r.locality) for r in txt_rows]
    for c, t in zip(csv_rows, txt_rows):
        if c.state == "CALIFORNIA":
            assert t.state == ""  # the TXT leaves the California group without a state
        else:
            assert c.state == t.state
            assert c.area == t.area
            assert c.counties.startswith(t.counties)  # the TXT cuts counties at 58 characters
    assert sum(c == t for c, t in zip(csv_rows, txt_rows)) == 71


def test_state_carried_down_a_group(csv_rows):
    miami = next(r for r in csv_rows if r.area == "MIAMI")
    assert (miami.mac, miami.locality, miami.state) == ("09102", "04", "FLORIDA")


def test_exact_repeat_yielded_once(csv_rows, txt_rows):
    for rows in (csv_rows, txt_rows):
        missouri = [r for r in rows if (r.mac, r.locality) == ("05302", "99")]
        assert len(missouri) == 1
        assert missouri[0].area == "REST OF STATE*"


def test_file_info(cms_dir):
    info = locality.file_info(cms_dir / "25LOCCO.txt")
    assert (info.effective_from, info.effective_to) == (date(2025, 1, 1), date(2025, 12, 31))


def _header() -> str:
    return (
        "COUNTIES INCLUDED IN 2025 LOCALITIES.,,,,\n,,,,\n"
        "Medicare Adminstrative Contractor,Locality Number,State ,Fee Schedule Area ,Counties\n,,,,\n"
    )


def test_repeat_with_different_text_is_an_error(tmp_path):
    path = tmp_path / "25LOCCO.csv"
    path.write_text(_header() + "5302,99,MISSOURI,REST OF STATE,ALL\n5302,99,,REST OF STATE,SOME\n")
    with pytest.raises(FormatError, match="05302-99 repeated with different text") as err:
        list(locality.parse(path))
    assert err.value.line == 6


def test_bad_locality_number(tmp_path):
    path = tmp_path / "25LOCCO.csv"
    path.write_text(_header() + "5302,9X,MISSOURI,REST OF STATE,ALL\n")
    with pytest.raises(FormatError, match="not a locality number") as err:
        list(locality.parse(path))
    assert err.value.line == 5


def test_wrong_kind_of_file(cms_dir):
    with pytest.raises(FormatError, match="does not look like a locality crosswalk"):
        list(locality.parse(cms_dir / "GPCI2025.csv"))
