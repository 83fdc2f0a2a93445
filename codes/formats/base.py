"""What every parser shares: the error it raises and how it opens files.

Parsers are pure: they take a path (or an open binary stream) and yield row objects from
``codes.formats.rows``. They never touch the ORM. On bad input they raise ``FormatError`` naming the
file and the line, so the loader can refuse the whole file and keep what is stored untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

# Fixed English month names: CMS file names and headers do not follow the locale.
MONTH_NAME = ("", "January", "February", "March", "April", "May", "June", "July", "August", "September")
MONTH_NAME += ("October", "November", "December")
MONTH_ABBR = tuple(name[:3] for name in MONTH_NAME)
MONTHS: dict[str, int] = {name.lower(): i for i, name in enumerate(MONTH_NAME) if name} | {
    name[:3].lower(): i for i, name in enumerate(MONTH_NAME) if name
}  # "october" and "oct" -> 10


class FormatError(ValueError):
    """A file that cannot be read in full. ``str()`` names the file, the line and (when known) the field."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None, field: str | None = None):
        self.message = message
        self.file = file
        self.line = line
        self.field = field
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(Path(self.file).name)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.field:
            where.append(f"field {self.field}")
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass(frozen=True)
class FileInfo:
    """What a file says about itself (from its name or its content). Any field may be unknown (None)."""

    effective_from: date | None = None
    effective_to: date | None = None
    label: str | None = None


def parse_yyyymmdd(value: str, *, file: str | None = None, line: int | None = None, field: str | None = None):
    """``20150101`` -> date; blank or ``*`` -> None; anything else is a FormatError."""
    value = (value or "").strip()
    if not value or value == "*":
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        raise FormatError(f"{value!r} is not a date (YYYYMMDD)", file=file, line=line, field=field) from None


_DOT = re.compile(r"[.\s]")


def normalise_code(value: str) -> str:
    """Upper case, no dots or spaces: ``m48.062`` -> ``M48062``."""
    if value and value.isalnum():  # no dot or space to take out (the usual case: codes already normalised)
        return value.upper()
    return _DOT.sub("", (value or "")).upper()
