"""Parsers for the project's own fixture CSVs: procedure summaries, modifiers and places of service.

Not a CMS layout; this docstring is the format. The POS codes and facility split come from LAYOUTS 6.1, the
modifier notes from LAYOUTS 6.2. Procedure summaries are our own plain-language words, never AMA text.

File format (all three kinds):

- UTF-8 text (a BOM is allowed), comma-separated, fields quoted as in RFC 4180 when they hold commas or quotes.
- Lines starting with ``#`` (leading blanks allowed, outside a quoted field) are comments: source notes.
  Blank lines are skipped.
- The first other line is the header. It names exactly the columns of one kind, in any order:

  ============================  ================================================================================
  kind                          columns
  ============================  ================================================================================
  procedure summaries           ``code,code_system,summary,effective_from,effective_to,replacement``
  modifiers                     ``code,code_system,description,effective_from,effective_to,ncci_associated,anatomic``
  places of service             ``code,name,facility,effective_from,effective_to``
  ============================  ================================================================================

- ``code_system`` is ``CPT`` or ``HCPCS``. Procedure codes: CPT 5 digits or 4 digits + F/T/U/M, HCPCS a letter
  and 4 digits. Modifiers: 2 letters or digits. Places of service: 2 digits (``02``, ``24``).
- ``effective_from`` / ``effective_to``: ISO dates ``YYYY-MM-DD``; blank means open. ``effective_to`` is the
  last day the row applies and may not precede ``effective_from``.
- ``replacement``: blank, or the code that replaces this one.
- ``ncci_associated``, ``anatomic``, ``facility``: ``yes`` or ``no`` (any case); nothing else, not blank.
- Text columns (``summary``, ``description``, ``name``) may not be blank.
- Each (code_system, code, effective_from) - for places of service (code, effective_from) - appears once.

- A comment ``# rows: N`` before the header declares how many rows the file has; when present the count must
  match. It comes first so that a file cut anywhere after it still carries it.

Every error is a ``FormatError`` naming the file, the line where the record starts and the column.

What proves the file is whole (``textfile.proves_whole`` plus the checks here): the last line has its line end;
every record has the header's cells; and, when the file declares it, the ``# rows: N`` count. Without that comment
a cut on a line boundary leaves whole rows and is caught only by the loader's expected count or its comparison
with the release in force.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import cast

from .base import FileInfo, FormatError
from .cpt_descriptors import CPT_CODE
from .rows import ModifierRow, PlaceOfServiceRow, ProcedureSummaryRow
from .textfile import iter_lines, proves_whole

PROCEDURE_SUMMARIES = "procedure summaries"
MODIFIERS = "modifiers"
PLACES_OF_SERVICE = "places of service"
COLUMNS: dict[str, tuple[str, ...]] = {
    PROCEDURE_SUMMARIES: ("code", "code_system", "summary", "effective_from", "effective_to", "replacement"),
    MODIFIERS: (
        "code",
        "code_system",
        "description",
        "effective_from",
        "effective_to",
        "ncci_associated",
        "anatomic",
    ),
    PLACES_OF_SERVICE: ("code", "name", "facility", "effective_from", "effective_to"),
}
FixtureRow = ProcedureSummaryRow | ModifierRow | PlaceOfServiceRow

_HCPCS_CODE = re.compile(r"[A-Z][0-9]{4}")
_MODIFIER = re.compile(r"[A-Z0-9]{2}")
_POS = re.compile(r"[0-9]{2}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SYSTEMS = {"CPT": CPT_CODE, "HCPCS": _HCPCS_CODE}
_BOOLEANS = {"yes": True, "no": False}
_DECLARED_ROWS = re.compile(r"#\s*rows:\s*(\d+)", re.IGNORECASE)


class _Lines:
    """Non-comment lines for ``csv.reader``, remembering the line number where the current record starts."""

    def __init__(self, path: str | Path, what: str):
        self._lines = iter_lines(path, what=what, keepends=True, strict_utf8=True)
        self._in_quotes = False
        self.start = 0
        self.mark = True
        self.declared: tuple[int, int] | None = None  # (rows, line) of a "# rows: N" comment

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        for number, text in self._lines:
            if not self._in_quotes and text.lstrip().startswith("#"):
                match = _DECLARED_ROWS.fullmatch(text.strip())
                if match:
                    self.declared = (int(match[1]), number)
                continue
            if text.count('"') % 2:
                self._in_quotes = not self._in_quotes
            if self.mark:
                self.start, self.mark = number, False
            return text
        raise StopIteration


def parse(path: str | Path) -> Iterator[FixtureRow]:
    """Yield the rows of a fixture CSV of any of the three kinds (told from the header)."""
    return _parse(path, None)


def parse_procedure_summaries(path: str | Path) -> Iterator[ProcedureSummaryRow]:
    return cast(Iterator[ProcedureSummaryRow], _parse(path, PROCEDURE_SUMMARIES))


def parse_modifiers(path: str | Path) -> Iterator[ModifierRow]:
    return cast(Iterator[ModifierRow], _parse(path, MODIFIERS))


def parse_places_of_service(path: str | Path) -> Iterator[PlaceOfServiceRow]:
    return cast(Iterator[PlaceOfServiceRow], _parse(path, PLACES_OF_SERVICE))


def kind_of(path: str | Path) -> str:
    """Which of the three kinds the file's header names (a FormatError if none)."""
    lines = _Lines(path, "a fixture CSV")
    reader = csv.reader(lines)
    for cells in reader:
        if any(cell.strip() for cell in cells):
            return _kind(cells, str(path), lines.start, None)
    raise FormatError("no header: the file is empty", file=str(path))


def _kind(cells: list[str], file: str, line: int, wanted: str | None) -> str:
    names = [cell.strip().lower() for cell in cells]
    for kind, columns in COLUMNS.items():
        if sorted(names) == sorted(columns):
            if wanted and kind != wanted:
                raise FormatError(f"expected a {wanted} fixture, the header is for {kind}", file=file, line=line)
            return kind
    target = COLUMNS[wanted] if wanted else None
    if target is None:  # name the closest kind
        target = max(COLUMNS.values(), key=lambda columns: len(set(columns) & set(names)))
    missing = [name for name in target if name not in names]
    extra = [name for name in names if name not in target]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    details = "; ".join(
        part
        for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unexpected {', '.join(extra)}" if extra else "",
            f"repeated {', '.join(duplicated)}" if duplicated else "",
        )
        if part
    )
    raise FormatError(f"unexpected header ({details}); expected {','.join(target)}", file=file, line=line)


@proves_whole("a fixture CSV")
def _parse(path: str | Path, wanted: str | None) -> Iterator[FixtureRow]:
    file = str(path)
    lines = _Lines(path, f"a {wanted or 'fixture'} CSV")
    reader = csv.reader(lines)
    header: list[str] | None = None
    kind = ""
    seen: dict[tuple, int] = {}
    while True:
        lines.mark = True
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FormatError(f"bad CSV: {exc}", file=file, line=lines.start) from None
        line = lines.start
        if not any(cell.strip() for cell in cells):
            continue
        if header is None:
            kind = _kind(cells, file, line, wanted)
            header = [cell.strip().lower() for cell in cells]
            continue
        if len(cells) != len(header):
            raise FormatError(f"row has {len(cells)} cells, the header has {len(header)}", file=file, line=line)
        values = {name: cell.strip() for name, cell in zip(header, cells)}
        row, key = _BUILDERS[kind](values, _Field(file, line))
        if key in seen:
            system, code, start = key
            since = f" from {start}" if start else ""
            raise FormatError(
                f"{system} {code}{since} appears twice (first on line {seen[key]})",
                file=file,
                line=line,
                field="code",
            )
        seen[key] = line
        yield row
    if header is None:
        raise FormatError("no header: the file is empty", file=file)
    if lines.declared is not None and lines.declared[0] != len(seen):
        declared, at = lines.declared
        raise FormatError(
            f"the file declares {declared} rows ('# rows: {declared}') but has {len(seen)}: cut short or edited"
            " without updating the count",
            file=file,
            line=at,
        )


class _Field:
    """Checks one record's cells, raising FormatErrors that name the file, the line and the column."""

    def __init__(self, file: str, line: int):
        self.file, self.line = file, line

    def fail(self, message: str, field: str) -> FormatError:
        return FormatError(message, file=self.file, line=self.line, field=field)

    def text(self, values: dict[str, str], name: str) -> str:
        if not values[name]:
            raise self.fail("blank", name)
        return values[name]

    def code(self, values: dict[str, str], name: str, pattern: re.Pattern, kind: str, blank: bool = False) -> str:
        value = values[name].upper()
        if blank and not value:
            return ""
        if not pattern.fullmatch(value):
            raise self.fail(f"{values[name]!r} is not a {kind}", name)
        return value

    def system(self, values: dict[str, str]) -> str:
        value = values["code_system"].upper()
        if value not in _SYSTEMS:
            raise self.fail(f"{values['code_system']!r} is not CPT or HCPCS", "code_system")
        return value

    def boolean(self, values: dict[str, str], name: str) -> bool:
        value = values[name].lower()
        if value not in _BOOLEANS:
            raise self.fail(f"{values[name]!r} is not yes or no", name)
        return _BOOLEANS[value]

    def dates(self, values: dict[str, str]) -> tuple[date | None, date | None]:
        found: list[date | None] = []
        for name in ("effective_from", "effective_to"):
            value = values[name]
            if not value:
                found.append(None)
                continue
            try:
                if not _ISO_DATE.fullmatch(value):
                    raise ValueError
                found.append(date.fromisoformat(value))
            except ValueError:
                raise self.fail(f"{value!r} is not a date (YYYY-MM-DD)", name) from None
        start, end = found
        if start and end and end < start:
            raise self.fail(f"{end} is before effective_from {start}", "effective_to")
        return start, end


def _procedure_summary(values: dict[str, str], check: _Field) -> tuple[ProcedureSummaryRow, tuple]:
    system = check.system(values)
    code = check.code(values, "code", _SYSTEMS[system], f"{system} procedure code")
    replacement = values["replacement"].upper()
    if replacement and not any(pattern.fullmatch(replacement) for pattern in _SYSTEMS.values()):
        raise check.fail(f"{values['replacement']!r} is not a CPT or HCPCS code", "replacement")
    start, end = check.dates(values)
    row = ProcedureSummaryRow(
        code=code,
        summary=check.text(values, "summary"),
        code_system=system,
        effective_from=start,
        effective_to=end,
        replacement=replacement,
    )
    return row, (system, code, start)


def _modifier(values: dict[str, str], check: _Field) -> tuple[ModifierRow, tuple]:
    system = check.system(values)
    code = check.code(values, "code", _MODIFIER, "modifier (2 letters or digits)")
    start, end = check.dates(values)
    row = ModifierRow(
        code=code,
        description=check.text(values, "description"),
        code_system=system,
        effective_from=start,
        effective_to=end,
        ncci_associated=check.boolean(values, "ncci_associated"),
        anatomic=check.boolean(values, "anatomic"),
    )
    return row, (system, code, start)


def _place_of_service(values: dict[str, str], check: _Field) -> tuple[PlaceOfServiceRow, tuple]:
    code = check.code(values, "code", _POS, "place of service code (2 digits)")
    start, end = check.dates(values)
    row = PlaceOfServiceRow(
        code=code,
        name=check.text(values, "name"),
        facility=check.boolean(values, "facility"),
        effective_from=start,
        effective_to=end,
    )
    return row, ("POS", code, start)


_BUILDERS: dict[str, Callable[[dict[str, str], _Field], tuple[FixtureRow, tuple]]] = {
    PROCEDURE_SUMMARIES: _procedure_summary,
    MODIFIERS: _modifier,
    PLACES_OF_SERVICE: _place_of_service,
}


def file_info(path: str | Path) -> FileInfo:
    """Fixture rows carry their own dates, so the file has none; the label names the file."""
    return FileInfo(label=f"fixture {Path(path).name}")
