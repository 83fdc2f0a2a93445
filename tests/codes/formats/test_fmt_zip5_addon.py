"""The CMS ZIP code to carrier/locality file (ZIP5) and the NCCI add-on code edit file: real-shaped records,
cut files, and the loaded releases answering by date."""

import gzip
from datetime import date
from pathlib import Path

import pytest

from codes import snapshot as k
from codes.formats import ncci_addon, zip5
from codes.formats.base import FormatError
from codes.loading import LoadError, load_files
from codes.selectors import SnapshotFactory, zip_locality

DATA = Path(__file__).resolve().parents[2] / "data"
ZIP_SAMPLE = DATA / "cms" / "ZIP5_sample_OCT2025.txt"  # real records of the October 2025 file


def test_zip5_records_and_dates():
    rows = {r.zip_code: r for r in zip5.parse(ZIP_SAMPLE)}
    assert (rows["75201"].state, rows["75201"].carrier, rows["75201"].locality) == ("TX", "04412", "11")
    assert (rows["35203"].state, rows["35203"].carrier, rows["35203"].locality) == ("AL", "10112", "00")
    assert rows["99501"].year_quarter == "20254" and not rows["99501"].plus_four
    info = zip5.file_info(ZIP_SAMPLE)
    assert (info.effective_from, info.effective_to) == (date(2025, 10, 1), None)


def test_zip5_gzip_reads_the_same(tmp_path):
    packed = tmp_path / "ZIP5_OCT2025.txt.gz"
    packed.write_bytes(gzip.compress(ZIP_SAMPLE.read_bytes()))
    assert list(zip5.parse(packed)) == list(zip5.parse(ZIP_SAMPLE))


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda text: text[: len(text) - 30], "line 7"),  # the last record cut short
        (lambda text: text.replace("20254", "20261", 1), "Year/Quarter"),
        (lambda text: text.replace("TX75201", "TX7520X"), "Zip Code"),
        (lambda text: text + text.splitlines(True)[0], "appears twice"),
    ],
    ids=["cut", "two quarters", "bad zip", "repeated zip"],
)
def test_zip5_refuses_a_file_that_is_not_whole(tmp_path, change, message):
    bad = tmp_path / "ZIP5_OCT2025.txt"
    bad.write_bytes(change(ZIP_SAMPLE.read_text(encoding="latin-1")).encode("latin-1"))
    with pytest.raises(FormatError) as caught:
        list(zip5.parse(bad))
    assert message in str(caught.value) and "ZIP5_OCT2025.txt" in str(caught.value)


def _aoc(records: list[str]) -> str:
    return "\r\n".join(r.ljust(39) for r in records) + "\r\n"


AOC = [
    "164484       64483       2013091",  # type 1: 64484 with 64483
    "164492       64490       2013091",
    "164492       64491       2013091",
    "2G0001       CCCCC       2015001",  # type 2: the contractor decides
    "399999202000188888202136520130912022365",  # type 3, deleted 2022-12-31; primary 2020-01-01..2021-12-31
]


def test_addon_records(tmp_path):
    path = tmp_path / "AOC_V2026Q1_sample.txt"
    path.write_text(_aoc(AOC))
    rows = list(ncci_addon.parse(path))
    assert [(r.addon, r.primary, r.edit_type) for r in rows][:4] == [
        ("64484", "64483", 1),
        ("64492", "64490", 1),
        ("64492", "64491", 1),
        ("G0001", "", 2),
    ]
    last = rows[-1]
    assert (last.addon_effective, last.addon_deleted) == (date(2013, 4, 1), date(2022, 12, 31))
    assert (last.primary_effective, last.primary_deleted) == (date(2020, 1, 1), date(2021, 12, 31))
    assert ncci_addon.file_info(path).effective_from == date(2026, 1, 1)


@pytest.mark.parametrize(
    "record, field",
    [
        ("464484       64483       2013091", "AOC type"),
        ("164484       64483       2013400", "AOC effective date"),
        ("1644        64483       2013091", "add-on code"),
        ("164484       64483", "line 2"),  # cut
    ],
)
def test_addon_refuses_bad_records(tmp_path, record, field):
    path = tmp_path / "aoc.txt"
    path.write_text(_aoc([AOC[0], record]))
    with pytest.raises(FormatError) as caught:
        list(ncci_addon.parse(path))
    assert field in str(caught.value)


@pytest.mark.django_db
def test_loaded_releases_answer_by_date(tmp_path):
    path = tmp_path / "aoc.txt"
    path.write_text(_aoc(AOC))
    result = load_files(k.NCCI_ADDON, [path], effective_from=date(2013, 4, 1))
    assert result.rows == 5 and load_files(k.NCCI_ADDON, [path], effective_from=date(2013, 4, 1)).status == "unchanged"
    zips = load_files(k.ZIP5, [ZIP_SAMPLE])
    assert (zips.effective_from, zips.rows) == (date(2025, 10, 1), 7)
    factory = SnapshotFactory()
    snap = factory(date(2026, 2, 10))
    assert [(e.primary, e.edit_type) for e in snap.addon_edits("64492")] == [("64490", 1), ("64491", 1)]
    assert snap.addon_edits("64483") == []
    assert snap.addon_edits("99999") == []  # deleted 2022-12-31
    assert [e.primary for e in factory(date(2021, 6, 1)).addon_edits("99999")] == ["88888"]
    assert "zip5" not in {c["kind"] for c in snap.coding()}  # a claim never asks the ZIP crosswalk
    row, release = zip_locality("75201-1234", date(2026, 2, 10))
    assert (row.state, row.carrier, row.locality, release.kind) == ("TX", "04412", "11", "zip5")
    assert zip_locality("00000", date(2026, 2, 10)) is None


@pytest.mark.django_db
def test_a_cut_zip_file_loads_nothing(tmp_path):
    cut = tmp_path / "ZIP5_OCT2025.txt"
    cut.write_bytes(ZIP_SAMPLE.read_bytes()[:-40])
    with pytest.raises((FormatError, LoadError)):
        load_files(k.ZIP5, [cut])
    from codes.models import Release

    assert not Release.objects.filter(kind=k.ZIP5, status="loaded").exists()
