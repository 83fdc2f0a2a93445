"""CARC and RARC code lists read from the project's CSV files (pure: a path in, a version and rows out).

The files (fixtures/x12/carc.csv, rarc.csv) carry the public X12 code values with the project's own short
summaries, a ``# version:`` line naming the list's version, and per code its first and last day of use where
known and how sure the summary is. A file that does not say its version, or has a broken row, is refused
with the line named.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

KINDS = ("carc", "rarc")
COLUMNS = ["code", "summary", "start", "stop", "certainty"]


class CodeListError(ValueError):
    pass


@dataclass(frozen=True)
class CodeRow:
    code: str
    summary: str
    start: date | None
    stop: date | None
    certainty: str


@dataclass(frozen=True)
class CodeList:
    kind: str
    version: str
    sha256: str
    rows: tuple[CodeRow, ...]


def read_code_list(kind: str, path: Path) -> CodeList:
    if kind not in KINDS:
        raise CodeListError(f"unknown code list {kind!r}: carc or rarc")
    raw = path.read_bytes()
    text = raw.decode("utf-8")
    version = ""
    body = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            if line[1:].strip().startswith("version:"):
                version = line.split(":", 1)[1].strip()
            continue
        body.append((number, line))
    if not version:
        raise CodeListError(f"{path.name}: no '# version:' line")
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in body))))
    if not rows or [c.strip() for c in rows[0]] != COLUMNS:
        raise CodeListError(f"{path.name}: the header must be {','.join(COLUMNS)}")
    out, seen = [], set()
    for (number, _), row in zip(body[1:], rows[1:]):
        if len(row) != len(COLUMNS):
            raise CodeListError(f"{path.name} line {number}: {len(row)} columns, expected {len(COLUMNS)}")
        code, summary, start, stop, certainty = (c.strip() for c in row)
        if not code or not summary or code in seen:
            raise CodeListError(f"{path.name} line {number}: a code and a summary are required, each code once")
        if certainty not in ("sure", "likely", "unverified"):
            raise CodeListError(f"{path.name} line {number}: certainty is sure, likely or unverified")
        try:
            out.append(CodeRow(code, summary, _date(start), _date(stop), certainty))
        except ValueError:
            raise CodeListError(f"{path.name} line {number}: dates are YYYY-MM-DD") from None
        seen.add(code)
    return CodeList(kind, version, hashlib.sha256(raw).hexdigest(), tuple(out))


def _date(text: str) -> date | None:
    return date.fromisoformat(text) if text else None
