"""Locality to county crosswalk (``25LOCCO.csv`` / ``25LOCCO.txt``, LAYOUTS.md section 4.6).

Both forms: a title line (``COUNTIES INCLUDED IN 2025 LOCALITIES...``), a blank line, a header, then one group
of rows per state separated by blank lines, then a footnote. The state is only on the first row of a group; the
parser carries it down to the other rows of that group.

CSV: header ``Medicare Adminstrative Contractor,Locality Number,State ,Fee Schedule Area ,Counties`` (sic).
Leading zeros are lost (``2102``, ``0``): the MAC is restored to 5 digits and the locality to 2.

TXT: fixed width, positions read off the real file (0-based slices): MAC 4-9, locality 16-18, state 22-45,
fee schedule area 45-143, counties from 143. The TXT cuts the counties text at 58 characters and leaves the
state of the California group blank; the CSV has the full text, so prefer it when both are at hand.

The real 2025 files list Missouri 05302-99 twice with the same text: an exact repeat is yielded once, a
repeated MAC and locality with different text is a FormatError.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end
(CRLF in the real files); the table has its end: both forms close with a footnote after the last group
(``*  Payment locality is serviced by two carriers.``), so a file whose rows run to its last line (blank lines
aside) was cut on a line boundary and is refused; a TXT record must reach the counties column (143) and a CSV
row must have the header's cells. The counties text itself has no end marker: a cut inside it is caught only by
the missing line end.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator

from ._tabular import FixedWidthTable, PathLike, calendar_year, clean, find_csv_header, open_checked
from .base import FileInfo, FormatError
from .rows import LocalityRow
from .textfile import proves_whole

__all__ = ["parse", "parse_csv", "parse_txt", "file_info"]

_HEADER_SCAN_ROWS = 20
_TXT_SLICES = {"mac": (4, 9), "locality": (16, 18), "state": (22, 45), "area": (45, 143), "counties": (143, None)}
_YEAR_IN_TITLE = re.compile(r"INCLUDED IN (20\d\d) LOCALITIES", re.IGNORECASE)
_YEAR_IN_NAME = re.compile(r"^(\d\d)LOCCO", re.IGNORECASE)


def parse(path: PathLike) -> Iterator[LocalityRow]:
    """Rows of a locality crosswalk, CSV or TXT (told apart by the header line)."""
    with open_checked(path) as fh:
        for _ in range(_HEADER_SCAN_ROWS):
            line = fh.readline()
            if "FEE SCHEDULE AREA" in line.upper():
                return parse_csv(path) if "," in line else parse_txt(path)
    return parse_csv(path)  # raises the "does not look like" error


class _Collector:
    """Carries the state down a group, restores zeros and applies the duplicate rule."""

    def __init__(self, file: str):
        self.file = file
        self.state = ""
        self.seen: dict[tuple[str, str], tuple[int, LocalityRow]] = {}

    def new_group(self) -> None:
        self.state = ""

    def row(self, mac: str, locality: str, state: str, area: str, counties: str, line: int) -> LocalityRow | None:
        mac, locality = mac.strip(), locality.strip()
        if not mac.isdigit() or len(mac) > 5:
            raise FormatError(f"{mac!r} is not a MAC number", file=self.file, line=line, field="MAC")
        if not locality.isdigit() or len(locality) > 2:
            raise FormatError(f"{locality!r} is not a locality number", file=self.file, line=line, field="Locality")
        state = clean(state)
        if state:
            self.state = state
        record = LocalityRow(
            mac=mac.zfill(5), locality=locality.zfill(2), state=self.state, area=clean(area), counties=clean(counties)
        )
        key = (record.mac, record.locality)
        if key in self.seen:
            first_line, first = self.seen[key]
            if first == record:
                return None
            raise FormatError(
                f"locality {record.mac}-{record.locality} repeated with different text (first on line {first_line})",
                file=self.file,
                line=line,
            )
        self.seen[key] = (line, record)
        return record


@proves_whole("a locality crosswalk (LOCCO) CSV")
def parse_csv(path: PathLike) -> Iterator[LocalityRow]:
    """Rows of the CSV crosswalk, zeros restored."""
    name = str(path)
    collect = _Collector(name)
    with open_checked(path, newline="") as fh:
        reader = csv.reader(fh)
        columns = find_csv_header(
            reader,
            file=name,
            needles=("LOCALITY NUMBER", "COUNTIES"),
            scan=_HEADER_SCAN_ROWS,
            what="a locality crosswalk (LOCCO): no header with Locality Number and Counties",
        )
        wanted = {
            "mac": "CONTRACTOR",
            "locality": "LOCALITY NUMBER",
            "state": "STATE",
            "area": "FEE SCHEDULE AREA",
            "counties": "COUNTIES",
        }
        index: dict[str, int] = {}
        for field, word in wanted.items():
            found = [i for i, c in enumerate(columns) if word in c]
            if len(found) != 1:
                raise FormatError(
                    f"unexpected header: column {word!r} is {'missing' if not found else 'ambiguous'}",
                    file=name,
                    line=reader.line_num,
                )
            index[field] = found[0]
        width = max(index.values()) + 1
        ended = False
        try:
            for row in reader:
                line = reader.line_num
                if not any(c.strip() for c in row):
                    collect.new_group()
                    continue
                first = row[index["mac"]].strip() if len(row) > index["mac"] else ""
                if ended or not first.isdigit():
                    if ended and first.isdigit():
                        raise FormatError("a locality row after the footnotes", file=name, line=line)
                    ended = ended or bool(collect.seen)
                    continue
                if len(row) < width:
                    raise FormatError(f"truncated record: {len(row)} of {width} columns", file=name, line=line)
                record = collect.row(*(row[index[f]] for f in wanted), line=line)
                if record is not None:
                    yield record
        except csv.Error as exc:
            raise FormatError(f"unreadable CSV: {exc}", file=name, line=reader.line_num) from None
        last = reader.line_num
    if not collect.seen:
        raise FormatError("no locality rows after the header", file=name)
    if not ended:
        raise _no_end(name, last)


def _no_end(name: str, line: int) -> FormatError:
    return FormatError(
        "the file ends inside the locality table (no footnote after the last group): cut short?", file=name, line=line
    )


@proves_whole("a locality crosswalk (LOCCO) TXT")
def parse_txt(path: PathLike) -> Iterator[LocalityRow]:
    """Rows of the fixed-width TXT crosswalk (positions in the module docstring)."""
    name = str(path)
    collect = _Collector(name)
    with open_checked(path) as fh:
        table = FixedWidthTable(fh, ("FEE SCHEDULE AREA", "LOCALITY"), _HEADER_SCAN_ROWS)
        ended = False
        for line_no, text in table:
            if not text.strip():
                collect.new_group()
                continue
            is_row = text[:4] == "    " and text[4:9].isdigit()
            if ended or not is_row:
                if ended and is_row:
                    raise FormatError("a locality row after the footnotes", file=name, line=line_no)
                ended = ended or bool(collect.seen)
                continue
            if len(text) <= _TXT_SLICES["counties"][0] or text[9:16].strip() or text[18:22].strip():
                raise FormatError("truncated record or text where the layout has spaces", file=name, line=line_no)
            record = collect.row(*(text[a:b] for a, b in _TXT_SLICES.values()), line=line_no)
            if record is not None:
                yield record
    table.check_end(
        name,
        no_header="this does not look like a locality crosswalk (LOCCO): no Fee Schedule Area",
        rows=len(collect.seen),
        ended=ended,
        no_end=_no_end,
    )


def file_info(path: PathLike) -> FileInfo:
    """The calendar year of the title (``COUNTIES INCLUDED IN 2025 LOCALITIES``) or the name (``25LOCCO``)."""
    return calendar_year(path, said=_YEAR_IN_TITLE.search, lines=1, name=_YEAR_IN_NAME, label="Locality crosswalk")
