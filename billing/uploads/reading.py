"""Batch uploads, the pure part: a CSV or xlsx of claims (one row per service line) read as rows and grouped
into claims, within what one upload may cost (``Limits``). No Django here (csv and openpyxl only). The rest of the
pure part: ``workfile`` (the normalised work file and its chunks' byte ranges), ``payloads`` (a claim's rows as
the contract's claim), ``results`` (the results workbook); the jobs around it are in billing.uploads.jobs.

The file: a header row, then one row per service line. Header names are case-insensitive ("Claim Ref", "claim-ref"
and "CLAIM_REF" are one column); unknown columns are ignored.

    claim_ref, payer, claim_type, place_of_service, date_of_service, submitted_on, rendering_npi, diagnoses,
    clinical_trial_number, prior_authorization_number, condition_codes, location, patient_account,
    line_date_of_service, code, modifiers, units, diagnosis_pointers, charge

``claim_ref``, ``payer``, ``place_of_service``, ``date_of_service`` and ``code`` are required columns; the others
may be left out. Rows with the same ``claim_ref`` are one claim, its lines in file order (the rows need not be
next to each other). The claim-level columns must agree across a claim's rows; a blank cell on a later row means
"as above". Lists (diagnoses, modifiers, pointers, condition codes) are separated by ``;``, ``,`` or spaces;
diagnosis pointers may be numbers or the CMS-1500 letters A to L. Dates are YYYY-MM-DD (MM/DD/YYYY and real
spreadsheet dates are read too).
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import itertools
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from openpyxl import load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from billing.checking.claim import CLAIM_DIAGNOSIS_FIELDS, CLAIM_HEADER_FIELDS

CLAIM_COLUMNS = (
    *CLAIM_HEADER_FIELDS[1:],  # the reference is the file's claim_ref
    *CLAIM_DIAGNOSIS_FIELDS,
    "location",  # the key of one of the practice's locations (tx-asc); blank: the main location
    "patient_account",  # the practice's own patient account number (frequency limits); hashed, never shown
)
LINE_COLUMNS = ("line_date_of_service", "code", "modifiers", "units", "diagnosis_pointers", "charge")
COLUMNS = ("claim_ref", *CLAIM_COLUMNS, *LINE_COLUMNS)
REQUIRED = ("claim_ref", "payer", "place_of_service", "date_of_service", "code")

MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # about 500,000 service lines as CSV
HEADER_BYTES = 64 * 1024  # the header of a CSV must be within its first 64 KB


@dataclass(frozen=True)
class Limits:
    """What one upload may cost (settings UPLOAD_MAX_ROWS, UPLOAD_MAX_CLAIMS, UPLOAD_MAX_XLSX_BYTES,
    UPLOAD_MAX_SHARED_STRINGS_BYTES). Reading stops at the first row over a limit, so a file far over it costs
    no more than one at it; an xlsx's members are measured before anything is parsed (a few hundred KB of zip can
    unpack to gigabytes of XML: millions of cells referring to one shared string)."""

    max_rows: int = 400_000
    max_claims: int = 100_000
    max_xlsx_bytes: int = 256 * 1024 * 1024  # all members, unpacked
    max_shared_strings_bytes: int = 32 * 1024 * 1024  # read whole by openpyxl when the workbook opens


DEFAULT_LIMITS = Limits()
CSV_DELIMITERS = (",", ";", "\t", "|")


class UploadError(ValueError):
    """The file as a whole cannot be read (not CSV or xlsx, required columns missing, no rows). The message is
    for billing staff: it says what is wrong and what to do."""


@dataclass(frozen=True, slots=True)
class Row:
    """One service line as read: ``number`` is the row in the file as a spreadsheet shows it (the header is
    row 1); ``values`` maps every column of ``COLUMNS`` to its text ("" when blank or absent)."""

    number: int
    values: Mapping[str, str]


@dataclass
class UploadClaim:
    """The rows of one claim, in file order. ``ordinal`` numbers the claims of a file from 0."""

    ordinal: int
    ref: str
    rows: list[Row] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return self.rows[0].number if self.rows else 0


# ---- reading the upload ------------------------------------------------------------------------------------


def canonical(name: Any) -> str:
    """A header cell as a column name: "Claim Ref" / "claim-ref" / " CLAIM_REF " -> "claim_ref"."""
    text = "" if name is None else str(name)
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def cell_text(value: Any) -> str:
    """A cell as text: spreadsheet dates as YYYY-MM-DD, whole numbers without ".0" (an NPI or a unit count
    typed into Excel comes back as 1234567893.0), text stripped."""
    if type(value) is str:  # every cell of a CSV, most of an xlsx: first (3 million calls for 100,000 claims)
        return ILLEGAL_CHARACTERS_RE.sub("", value).strip() if value else ""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int | Decimal):
        return str(value)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value)).strip()


def file_kind(name: str, head: bytes) -> str:
    """``csv`` or ``xlsx``, from the file's first bytes (an xlsx is a zip) and its name."""
    lower = (name or "").lower()
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise UploadError(
            "This is an old Excel .xls file: save it as .xlsx (Excel Workbook) or as CSV and upload that."
        )
    if lower.endswith((".xlsx", ".xlsm")):
        raise UploadError("This file is named .xlsx but is not an Excel workbook: save it again from Excel.")
    if b"\x00" in head[:4096]:
        raise UploadError("This is not a CSV or xlsx file: export the claims as CSV or Excel (.xlsx).")
    return "csv"


def _header(cells: Iterable[Any]) -> list[str]:
    """Canonical names of the header cells; a known column named twice is an error; missing required ones too."""
    names = [canonical(c) for c in cells]
    seen: set[str] = set()
    for name in names:
        if name in COLUMNS:
            if name in seen:
                raise UploadError(f"The column {name} appears twice in the header row: keep one.")
            seen.add(name)
    missing = [c for c in REQUIRED if c not in seen]
    if missing:
        raise UploadError(
            f"The header row is missing the required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}. The first row must name the columns: {', '.join(COLUMNS)} "
            "(the download 'CSV template' has them)."
        )
    return names


def _csv_encoding(fh: IO[bytes]) -> str:
    """UTF-8 (with or without a byte-order mark) when the whole file decodes as UTF-8, else Windows-1252 (what
    Excel on Windows writes for "CSV")."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := fh.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        encoding = "utf-8-sig"
    except UnicodeDecodeError:
        encoding = "cp1252"
    fh.seek(0)
    return encoding


def _csv_rows(fh: IO[bytes]) -> Iterator[list[str]]:
    encoding = _csv_encoding(fh)
    text = io.TextIOWrapper(fh, encoding=encoding, errors="replace", newline="")
    first = text.readline()
    delimiter = max(CSV_DELIMITERS, key=lambda d: (first.count(d), d == ","))
    try:
        yield from csv.reader(itertools.chain([first], text), delimiter=delimiter)
    except csv.Error as exc:
        raise UploadError(
            f"The CSV file cannot be read ({exc}): export it again from the practice-management system."
        ) from exc
    finally:
        with contextlib.suppress(ValueError):  # closed by the caller before this generator was
            text.detach()


def check_xlsx_size(fh: IO[bytes], limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a workbook whose members unpack to more than the limits, before any XML is parsed. The sizes
    are the zip's own; ``zipfile`` never unpacks more than a member's stated size (and checks its CRC), so
    what openpyxl reads later is bounded by what is checked here. Leaves the file at its start."""
    try:
        with zipfile.ZipFile(fh) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise UploadError(
            f"The Excel file cannot be opened ({exc.__class__.__name__}): save it again from Excel."
        ) from exc
    finally:
        fh.seek(0)
    total = sum(m.file_size for m in members)
    if total > limits.max_xlsx_bytes:
        raise UploadError(
            f"The Excel file unpacks to {total / 1048576:,.0f} MB, more than the {limits.max_xlsx_bytes // 1048576:,} "
            "MB one upload may take (setting UPLOAD_MAX_XLSX_BYTES): save it as CSV, or split it into several files."
        )
    strings = sum(m.file_size for m in members if m.filename.lower().endswith("sharedstrings.xml"))
    if strings > limits.max_shared_strings_bytes:
        raise UploadError(
            f"The Excel file's text table unpacks to {strings / 1048576:,.0f} MB, more than the "
            f"{limits.max_shared_strings_bytes // 1048576:,} MB allowed (setting UPLOAD_MAX_SHARED_STRINGS_BYTES): "
            "save it as CSV and upload that."
        )


def _xlsx_rows(fh: IO[bytes], limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple]:
    check_xlsx_size(fh, limits)
    try:
        workbook = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise UploadError(
            f"The Excel file cannot be opened ({exc.__class__.__name__}): save it again from Excel."
        ) from exc
    try:
        sheet = workbook.worksheets[0]
        yield from sheet.iter_rows(values_only=True)
    finally:
        workbook.close()


def _raw_rows(fh: IO[bytes], name: str, limits: Limits = DEFAULT_LIMITS) -> Iterator[tuple[int, Any]]:
    """(row number, cells) of every non-blank row, the header first."""
    head = fh.read(8)
    fh.seek(0)
    raw = _xlsx_rows(fh, limits) if file_kind(name, head) == "xlsx" else _csv_rows(fh)
    for number, cells in enumerate(raw, start=1):
        if any(cell_text(c) for c in cells):
            yield number, cells


def too_many_rows(limit: int) -> UploadError:
    return UploadError(
        f"The file has more than {limit:,} service lines, the most one upload may have (setting UPLOAD_MAX_ROWS): "
        f"split it into files of at most {limit:,} lines and upload each."
    )


def too_many_claims(limit: int) -> UploadError:
    return UploadError(
        f"The file has more than {limit:,} claims, the most one upload may have (setting UPLOAD_MAX_CLAIMS): "
        f"split it into files of at most {limit:,} claims and upload each. Nothing was checked."
    )


def read_rows(fh: IO[bytes], name: str = "", limits: Limits = DEFAULT_LIMITS) -> Iterator[Row]:
    """Every non-blank service-line row of a CSV or xlsx upload (the first sheet of a workbook), streaming.

    Raises ``UploadError`` when the file is not CSV or xlsx, is empty, its header (the first non-blank row)
    lacks a required column, or it is over the limits (the row after the last one allowed stops the reading).
    """
    names: list[str] | None = None
    rows = 0
    for number, cells in _raw_rows(fh, name, limits):
        if names is None:
            names = _header(cells)
            continue
        rows += 1
        if rows > limits.max_rows:
            raise too_many_rows(limits.max_rows)
        values = dict.fromkeys(COLUMNS, "")
        for column, cell in zip(names, cells):
            if column in values:
                values[column] = cell_text(cell)
        yield Row(number, values)
    if names is None:
        raise UploadError("The file is empty: it needs a header row and one row per service line.")


def _csv_head_rows(fh: IO[bytes]) -> Iterator[list[str]]:
    """The rows of a CSV's first ``HEADER_BYTES`` (the last, maybe cut, line left out unless the file ends)."""
    block = fh.read(HEADER_BYTES + 1)
    whole = len(block) <= HEADER_BYTES
    block = block[:HEADER_BYTES]
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(block, final=whole)
    except UnicodeDecodeError:
        text = block.decode("cp1252", errors="replace")
    lines = text.splitlines()
    if not whole and lines:
        lines = lines[:-1]
    first = lines[0] if lines else ""
    delimiter = max(CSV_DELIMITERS, key=lambda d: (first.count(d), d == ","))
    try:
        yield from csv.reader(lines, delimiter=delimiter)
    except csv.Error as exc:
        raise UploadError(
            f"The CSV file cannot be read ({exc}): export it again from the practice-management system."
        ) from exc


def check_header(fh: IO[bytes], name: str = "", limits: Limits = DEFAULT_LIMITS) -> list[str]:
    """The known columns the file's header names, or ``UploadError`` as ``read_rows`` would raise it (the
    admin's form calls this before it accepts a file). Reads only the start of a CSV; an xlsx's sizes are
    checked first and its sheet streamed up to the header row. Leaves the file at its start."""
    head = fh.read(8)
    fh.seek(0)
    try:
        if file_kind(name, head) == "xlsx":
            raw: Iterator = _xlsx_rows(fh, limits)
        else:
            raw = _csv_head_rows(fh)
        first = None
        try:
            for cells in raw:
                if any(cell_text(c) for c in cells):
                    first = cells
                    break
        finally:
            raw.close()
    finally:
        fh.seek(0)
    if first is None:
        if file_kind(name, head) == "csv" and getattr(fh, "size", 0) > HEADER_BYTES:
            raise UploadError(f"No header row in the first {HEADER_BYTES // 1024} KB of the file: the first row must "
                              "name the columns.")  # fmt: skip
        raise UploadError("The file is empty: it needs a header row and one row per service line.")
    return [c for c in _header(first) if c in COLUMNS]


# ---- the template ----------------------------------------------------------------------------------------


def template_csv() -> str:
    """A CSV with the header and one two-line example claim, for billing staff to fill in."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    claim = [
        "EXAMPLE-1",
        "medicare",
        "professional",
        "24",
        "2026-05-04",
        "2026-05-11",
        "1234567893",
        "M48.062; Z00.6",
        "NCT03072927",
        "",
        "",
        "",  # location: blank is the practice's main location
        "",  # patient_account: the practice's own number, when the frequency limits should count
    ]
    writer.writerow([*claim, "", "0275T", "Q0", "1", "1; 2", "9500.00"])
    writer.writerow([*claim, "", "77003", "", "1", "1", "250.00"])
    return buffer.getvalue()
