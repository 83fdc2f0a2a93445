"""NCCI PTP edits on the real v32.2 excerpt and on files in the same layout (LAYOUTS 3.1)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codes.formats import ncci_ptp
from codes.formats._tabular import quarter_end
from codes.formats.base import FormatError
from codes.formats.rows import PtpRow

ROOT = Path(__file__).resolve().parents[3]
EXCERPT = "ccipra-v322r0-f1_excerpt.txt"
HEADER_LINES = 6


def _gen_module():
    spec = importlib.util.spec_from_file_location("gen_ptp", ROOT / "bench" / "gen_ptp.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def excerpt_bytes(cms_dir) -> bytes:
    return (cms_dir / EXCERPT).read_bytes()


@pytest.fixture(scope="module")
def rows(cms_dir):
    return list(ncci_ptp.parse(cms_dir / EXCERPT))


def _write(tmp_path: Path, data: bytes, name: str = "ccipra-v322r0-f1.TXT") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _lines(excerpt_bytes: bytes) -> list[bytes]:
    return excerpt_bytes.split(b"\n")[:-1]  # the real file ends with LF


def _join(lines: list[bytes]) -> bytes:
    return b"\n".join(lines) + b"\n"


# ---- the real excerpt ------------------------------------------------------------------------------------


def test_every_real_row(rows):
    assert len(rows) == 25
    assert rows[0] == PtpRow(
        "0001A",
        "0591T",
        False,
        date(2022, 1, 1),
        date(2023, 12, 31),
        "1",
        "CPT Manual or CMS manual coding instruction",
    )
    assert rows[-1].column1 == "0001U" and rows[-1].column2 == "81163"


def test_real_rows_from_layouts(rows):
    by_pair = {(r.column1, r.column2): r for r in rows}
    deleted = by_pair[("0001U", "0029U")]
    assert (deleted.effective, deleted.deleted, deleted.modifier_indicator) == (
        date(2018, 7, 1),
        date(2026, 6, 30),
        "1",
    )
    assert deleted.rationale == "Misuse of Column Two code with Column One code"
    active = by_pair[("0001U", "0030U")]
    assert active.deleted is None and active.effective == date(2018, 7, 1)
    withdrawn = by_pair[("0001A", "90473")]
    assert withdrawn.effective == withdrawn.deleted == date(2022, 1, 1)
    assert withdrawn.modifier_indicator == "9"
    assert by_pair[("0001M", "80050")].modifier_indicator == "0"
    assert by_pair[("0001A", "G0008")].rationale == "Mutually exclusive procedures"
    assert by_pair[("0001T", "36000")].rationale == "Standards of medical/surgical practice"


def test_all_four_rationales_and_no_prior_1996_in_the_excerpt(rows):
    assert {r.rationale for r in rows} == ncci_ptp.RATIONALES
    assert not any(r.prior_1996 for r in rows)


def test_parse_wraps_parse_tuples(cms_dir, rows):
    tuples = list(ncci_ptp.parse_tuples(cms_dir / EXCERPT))
    assert all(type(t) is tuple and len(t) == 7 for t in tuples)
    assert [PtpRow(*t) for t in tuples] == rows


def test_iso_dates_give_the_same_rows_as_text(cms_dir, rows):
    """The loader's SQLite path asks for ISO date strings: the same dates, as SQLite stores them."""
    iso = list(ncci_ptp.parse_tuples(cms_dir / EXCERPT, iso_dates=True))
    assert [(r.effective.isoformat(), r.deleted.isoformat() if r.deleted else None) for r in rows] == [
        (t[3], t[4]) for t in iso
    ]
    assert [t[:3] + t[5:] for t in iso] == [
        (r.column1, r.column2, r.prior_1996, r.modifier_indicator, r.rationale) for r in rows
    ]


def test_file_info_and_table(cms_dir):
    info = ncci_ptp.file_info(cms_dir / EXCERPT)
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2026, 7, 1),
        date(2026, 9, 30),
        "NCCI PTP practitioner v32.2 (2026 Q3)",
    )
    assert ncci_ptp.table_of(cms_dir / EXCERPT) == "practitioner"
    assert ncci_ptp.part_of(cms_dir / EXCERPT) == 1
    info = ncci_ptp.file_info(Path("ccioph-v313r0-f4.txt"))
    assert (info.effective_from, info.effective_to, info.label) == (
        date(2025, 10, 1),
        date(2025, 12, 31),
        "NCCI PTP hospital v31.3 (2025 Q4)",
    )
    assert ncci_ptp.table_of("ccioph-v313r0-f4.txt") == "hospital"
    assert ncci_ptp.file_info("ccipra-v320r1-f2.TXT").label == "NCCI PTP practitioner v32.0r1 (2026 Q1)"
    assert ncci_ptp.file_info("ccipra-v324r0-f1.TXT").label is None  # no fifth quarter
    assert ncci_ptp.file_info("edits.txt").effective_from is None


# ---- layout variants -------------------------------------------------------------------------------------


def test_multi_line_quoted_notice(tmp_path, excerpt_bytes, rows):
    lines = _lines(excerpt_bytes)
    notice = [
        b'"CPT only copyright 2025 American Medical Association.  All rights reserved.',
        b"",
        b'Applicable FARS/DFARS Restrictions Apply to Government Use."\t\t\t\t\t\t',
    ]
    assert list(ncci_ptp.parse(_write(tmp_path, _join([*notice, *lines[1:]])))) == rows


def test_crlf_and_prior_1996(tmp_path, excerpt_bytes, rows):
    lines = _lines(excerpt_bytes)
    lines.append(b"0001U\t81200\t*\t19960101\t*\t1\tStandards of medical/surgical practice")
    parsed = list(ncci_ptp.parse(_write(tmp_path, b"\r\n".join(lines) + b"\r\n")))
    assert parsed[:-1] == rows
    assert parsed[-1] == PtpRow(
        "0001U", "81200", True, date(1996, 1, 1), None, "1", "Standards of medical/surgical practice"
    )


def test_last_line_without_line_end_is_refused_even_when_it_looks_complete(tmp_path, excerpt_bytes):
    # The real files end with a line end; without it the last rationale may be cut at a word that looks whole.
    with pytest.raises(FormatError, match="the last line has no line end") as exc:
        list(ncci_ptp.parse(_write(tmp_path, excerpt_bytes.rstrip(b"\n"))))
    assert exc.value.line == len(_lines(excerpt_bytes))


# ---- bad input -------------------------------------------------------------------------------------------


def _bad(tmp_path, excerpt_bytes, replace_line: int, new: bytes) -> Path:
    """The excerpt with (1-based) line ``replace_line`` replaced."""
    lines = _lines(excerpt_bytes)
    lines[replace_line - 1] = new
    return _write(tmp_path, _join(lines))


@pytest.mark.parametrize(
    ("line", "content", "message", "field"),
    [
        (9, b"0001A\t90473\t\t20220101", "truncated record: 4 of 7", None),
        (9, b"0001A\t90473\t\t20220101\t20220101\t9\tx\ty", "8 tab-separated fields", None),
        (
            9,
            b"0001A\t90473\t\t20221301\t*\t9\tMutually exclusive procedures",
            "'20221301' is not a date",
            "Effective Date",
        ),
        (9, b"0001A\t90473\t\t*\t*\t9\tMutually exclusive procedures", "'\\*' is not a date", "Effective Date"),
        (9, b"0001A\t90473\t\t20220101\t2022-12-31\t9\tMutually exclusive procedures", "not a date", "Deletion Date"),
        (9, b"0001A\t90473\t\t20220101\t20211231\t9\tMutually exclusive procedures", "before the effective", None),
        (9, b"0001A\t90473\t\t20220101\t*\t2\tMutually exclusive procedures", "not 0, 1 or 9", "Modifier"),
        (9, b"0001A\t90473\tY\t20220101\t*\t1\tMutually exclusive procedures", "neither '\\*' nor blank", None),
        (9, b"0001A\t9047\t\t20220101\t*\t1\tMutually exclusive procedures", "not a 5-character", "Column 2"),
        (9, b"0001A\t0591T\t\t20220101\t20231231\t1\tCPT Manual or CMS manual coding instruction", "duplicate", None),
    ],
)
def test_bad_rows(tmp_path, excerpt_bytes, line, content, message, field):
    with pytest.raises(FormatError, match=message) as err:
        list(ncci_ptp.parse_tuples(_bad(tmp_path, excerpt_bytes, line, content)))
    assert err.value.line == line
    if field:
        assert err.value.field == field


def test_file_cut_inside_the_last_rationale(tmp_path, excerpt_bytes):
    with pytest.raises(FormatError, match="truncated record: the last line has no line end") as err:
        list(ncci_ptp.parse(_write(tmp_path, excerpt_bytes[:-20])))
    assert err.value.line == 31


def test_file_cut_inside_a_record(tmp_path, excerpt_bytes):
    with pytest.raises(FormatError, match="truncated record: 3 of 7") as err:
        list(ncci_ptp.parse(_write(tmp_path, excerpt_bytes[: excerpt_bytes.rindex(b"\t20190101")])))
    assert err.value.line == 31


def test_duplicate_in_a_file_not_in_cms_order(tmp_path, excerpt_bytes):
    lines = _lines(excerpt_bytes)
    lines.append(lines[HEADER_LINES])  # 0001A/0591T again, after 0001U rows
    with pytest.raises(FormatError, match=r"duplicate edit 0001A/0591T effective 20220101 \(first on line 7\)") as e:
        list(ncci_ptp.parse(_write(tmp_path, _join(lines))))
    assert e.value.line == 32


def test_unsorted_file_without_duplicates_is_accepted(tmp_path, excerpt_bytes, rows):
    lines = _lines(excerpt_bytes)
    body = lines[HEADER_LINES:]
    parsed = list(ncci_ptp.parse(_write(tmp_path, _join(lines[:HEADER_LINES] + body[::-1]))))
    assert parsed == rows[::-1]


def test_same_pair_twice_with_different_effective_dates_is_fine(tmp_path, excerpt_bytes):
    lines = _lines(excerpt_bytes)
    lines.insert(7, b"0001A\t0591T\t\t20250101\t*\t1\tCPT Manual or CMS manual coding instruction")
    parsed = list(ncci_ptp.parse(_write(tmp_path, _join(lines))))
    assert [(r.column2, r.effective.year) for r in parsed[:2]] == [("0591T", 2022), ("0591T", 2025)]


def test_unexpected_header(tmp_path, excerpt_bytes):
    path = _bad(tmp_path, excerpt_bytes, 4, b"\t\tprior to 1997\tDate\tDate\t0=not allowed\t")
    with pytest.raises(FormatError, match="unexpected header") as err:
        list(ncci_ptp.parse(path))
    assert err.value.line == 3


def test_header_missing_its_last_line(tmp_path, excerpt_bytes):
    lines = _lines(excerpt_bytes)
    del lines[5]
    with pytest.raises(FormatError, match="unexpected header"):
        list(ncci_ptp.parse(_write(tmp_path, _join(lines))))


def test_header_only(tmp_path, excerpt_bytes):
    with pytest.raises(FormatError, match="no edit rows"):
        list(ncci_ptp.parse(_write(tmp_path, _join(_lines(excerpt_bytes)[:HEADER_LINES]))))


@pytest.mark.parametrize(
    "other", ["MCR_MUE_PractitionerServices_Eff_07-01-2026_excerpt.csv", "PPRRVU2025_Oct.txt", "GPCI2025.csv"]
)
def test_wrong_kind_of_file(cms_dir, other):
    with pytest.raises(FormatError, match="does not look like an NCCI PTP file"):
        list(ncci_ptp.parse(cms_dir / other))


def test_utf16_and_xlsx_refused(tmp_path, excerpt_bytes):
    with pytest.raises(FormatError, match="UTF-16"):
        list(ncci_ptp.parse(_write(tmp_path, excerpt_bytes.decode("latin-1").encode("utf-16"))))
    with pytest.raises(FormatError, match="zip or Excel"):
        list(ncci_ptp.parse(_write(tmp_path, b"PK\x03\x04" + b"\x00" * 100, "ccipra-v322r0-f1.xlsx")))


# ---- any valid table reads back as written ----------------------------------------------------------------

_code = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=5, max_size=5)
_day = st.dates(min_value=date(1996, 1, 1), max_value=date(2026, 9, 30))


@st.composite
def _edit(draw) -> tuple:
    effective = draw(_day)
    deleted = draw(st.none() | st.dates(min_value=effective, max_value=date(2026, 9, 30)))
    return (
        draw(_code),
        draw(_code),
        draw(st.booleans()),
        effective,
        deleted,
        draw(st.sampled_from("019")),
        draw(st.sampled_from(sorted(ncci_ptp.RATIONALES))),
    )


@settings(max_examples=60, deadline=None)
@given(edits=st.lists(_edit(), min_size=1, max_size=40, unique_by=lambda e: (e[0], e[1], e[3])), ordered=st.booleans())
def test_round_trip(edits, ordered):
    if ordered:
        edits = sorted(edits, key=lambda e: (e[0], e[1]))
    lines = [*_gen_module().HEADER_LINES]
    for c1, c2, prior, effective, deleted, modifier, rationale in edits:
        when = f"{deleted:%Y%m%d}" if deleted else "*"
        lines.append(f"{c1}\t{c2}\t{'*' if prior else ''}\t{effective:%Y%m%d}\t{when}\t{modifier}\t{rationale}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ccipra-v322r0-f1.TXT"
        path.write_text("\n".join(lines) + "\n", encoding="latin-1")
        assert list(ncci_ptp.parse_tuples(path)) == edits


# ---- the benchmark generator -----------------------------------------------------------------------------


def test_generated_file_has_the_real_layout_and_parses(tmp_path, excerpt_bytes):
    gen = _gen_module()
    path = tmp_path / "ccipra-v322r0-f1.TXT"
    assert gen.generate(path, 20000, seed=7) == 20000
    data = path.read_bytes()
    header = b"\n".join(_lines(excerpt_bytes)[:HEADER_LINES]) + b"\n"
    assert data.startswith(header)
    assert b"\r" not in data
    tuples = list(ncci_ptp.parse_tuples(path))
    assert len(tuples) == 20000
    assert len({(t[0], t[1], t[3]) for t in tuples}) == 20000
    assert {t[5] for t in tuples} == {"0", "1", "9"}
    assert {t[6] for t in tuples} == ncci_ptp.RATIONALES
    assert any(t[2] for t in tuples)  # some prior-1996
    deleted = [t[4] for t in tuples if t[4] is not None]
    assert 0.2 < len(deleted) / len(tuples) < 0.5
    assert all(quarter_end(d) == d for d in deleted if d != date(d.year, d.month, 1))
    assert all(len(t[0]) == len(t[1]) == 5 for t in tuples)
    assert any(t[0][0].isalpha() for t in tuples) and any(t[0].isdigit() for t in tuples)
    # The same seed writes the same file.
    again = tmp_path / "again.TXT"
    gen.generate(again, 20000, seed=7)
    assert again.read_bytes() == data


def test_generator_command_line(tmp_path):
    out = tmp_path / "ccioph-v322r0-f2.txt"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "gen_ptp.py"), "--rows", "500", "--out", str(out), "--seed", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "wrote 500 rows" in done.stderr
    assert sum(1 for _ in ncci_ptp.parse(out)) == 500


@pytest.mark.bench
def test_parse_tuples_speed(tmp_path):
    path = tmp_path / "ccipra-v322r0-f1.TXT"
    _gen_module().generate(path, 300_000, seed=1)
    started = time.perf_counter()
    count = sum(1 for _ in ncci_ptp.parse_tuples(path))
    elapsed = time.perf_counter() - started
    print(f"parse_tuples: {count / elapsed:,.0f} rows/s")
    assert count == 300_000
    assert count / elapsed > 300_000  # about 1.8M rows/s on the development machine; a loose floor
