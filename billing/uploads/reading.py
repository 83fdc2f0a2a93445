"""Batch uploads, the pure part: a CSV or xlsx of claims (one row per service line) read into the contract's claim
objects, split into chunks, and the results workbook. No Django here (csv and openpyxl only); the jobs around it
are in billing.uploads.jobs and billing.tasks.

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

How a file is checked in chunks without any worker holding it all: ``write_work_file`` reads the upload once,
streaming (openpyxl read-only for xlsx), and writes a normalised CSV in which every row carries its claim's
ordinal (claims numbered in order of first appearance); it returns a ``Plan`` giving each chunk of
``chunk_claims`` claims the byte range of the work file that holds its rows. A chunk job reads only its byte
range (``read_chunk``). A claim whose rows cannot be read as a claim (rows that disagree, a unit that is not a
number) is not an error of the file: ``claim_payload`` and ``input_errors`` say which row and column, and the
job records it as that claim's ``CLAIM_INPUT_INVALID`` finding.
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

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

from billing.spreadsheets import SEVERITY_FONTS, WRAP_TOP, WriteOnlyCells, set_widths
from codes.formats.base import normalise_code

CLAIM_COLUMNS = (
    "payer",
    "claim_type",
    "place_of_service",
    "date_of_service",
    "submitted_on",
    "rendering_npi",
    "diagnoses",
    "clinical_trial_number",
    "prior_authorization_number",
    "condition_codes",
    "location",  # the key of one of the practice's locations (tx-asc); blank: the main location
    "patient_account",  # the practice's own patient account number (frequency limits); hashed, never shown
)
LINE_COLUMNS = ("line_date_of_service", "code", "modifiers", "units", "diagnosis_pointers", "charge")
COLUMNS = ("claim_ref", *CLAIM_COLUMNS, *LINE_COLUMNS)
REQUIRED = ("claim_ref", "payer", "place_of_service", "date_of_service", "code")
WORK_COLUMNS = ("ordinal", "row", *COLUMNS)

DEFAULT_CHUNK_CLAIMS = 500
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # about 500,000 service lines as CSV
HEADER_BYTES = 64 * 1024  # the header of a CSV must be within its first 64 KB


@dataclass(frozen=True)
class Limits:
    """What one upload may cost (settings UPLOAD_MAX_ROWS, UPLOAD_MAX_CLAIMS, UPLOAD_MAX_XLSX_BYTES,
    UPLOAD_MAX_SHARED_STRINGS_BYTES). Reading stops at the first row over a limit, so a file far over it costs
    no more than one at it; an xlsx's members are measured before anything is parsed (a few hundred KB of zip can
    unpack to gigabytes of XML: millions of cells referring to one shared string)."""

    max_rows: int = 200_000
    max_claims: int = 50_000
    max_xlsx_bytes: int = 256 * 1024 * 1024  # all members, unpacked
    max_shared_strings_bytes: int = 32 * 1024 * 1024  # read whole by openpyxl when the workbook opens


DEFAULT_LIMITS = Limits()
CSV_DELIMITERS = (",", ";", "\t", "|")
POINTER_LETTERS = "ABCDEFGHIJKL"  # CMS-1500 box 24E

_LIST_SPLIT = re.compile(r"[;,\s]+")
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO_START = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
_WHOLE = re.compile(r"\d+(?:\.0*)?")


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


@dataclass
class Plan:
    """What ``write_work_file`` found: the number of claims and rows, and one entry per chunk:
    ``{"first": first claim ordinal, "count": claims, "start": byte offset, "end": byte offset}``."""

    total_claims: int = 0
    total_rows: int = 0
    chunks: list[dict] = field(default_factory=list)


# ---- reading the upload ------------------------------------------------------------------------------------


def canonical(name: Any) -> str:
    """A header cell as a column name: "Claim Ref" / "claim-ref" / " CLAIM_REF " -> "claim_ref"."""
    text = "" if name is None else str(name)
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


def cell_text(value: Any) -> str:
    """A cell as text: spreadsheet dates as YYYY-MM-DD, whole numbers without ".0" (an NPI or a unit count
    typed into Excel comes back as 1234567893.0), text stripped."""
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


# ---- the work file and its chunks --------------------------------------------------------------------------


def write_work_file(
    rows: Iterable[Row], out: IO[bytes], chunk_claims: int = DEFAULT_CHUNK_CLAIMS, max_claims: int | None = None
) -> Plan:
    """Write ``rows`` as the normalised work file (UTF-8 CSV, columns ``WORK_COLUMNS``) and plan the chunks.

    Claims are numbered in order of first appearance; a row without a ``claim_ref`` is a claim of its own (it
    will be reported as such). Chunk ``i`` holds claims ``i * chunk_claims`` onwards; its byte range runs from
    the first row of its first claim to the end of the last row of any of its claims, so a chunk reads one
    contiguous slice (exactly its own rows when each claim's rows are together, as exports have them).
    """
    if chunk_claims < 1:
        raise ValueError("chunk_claims must be at least 1")
    plan = Plan()
    ordinals: dict[str, int] = {}
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(WORK_COLUMNS)
    offset = _flush(buffer, out)
    for row in rows:
        ref = row.values["claim_ref"]
        ordinal = ordinals.get(ref) if ref else None
        if ordinal is None:
            ordinal = plan.total_claims
            plan.total_claims += 1
            if max_claims is not None and plan.total_claims > max_claims:
                raise too_many_claims(max_claims)
            if ref:
                ordinals[ref] = ordinal
            index, position = divmod(ordinal, chunk_claims)
            if position == 0:
                plan.chunks.append({"first": ordinal, "count": 0, "start": offset, "end": offset})
            plan.chunks[index]["count"] += 1
        writer.writerow([ordinal, row.number, *(row.values[c] for c in COLUMNS)])
        offset += _flush(buffer, out)
        chunk = plan.chunks[ordinal // chunk_claims]
        chunk["end"] = max(chunk["end"], offset)
        plan.total_rows += 1
    return plan


def _flush(buffer: io.StringIO, out: IO[bytes]) -> int:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    out.write(data)
    return len(data)


def read_chunk(work: IO[bytes], chunk: Mapping[str, int]) -> list[UploadClaim]:
    """The claims of one chunk of the plan, read from its byte range of the work file, in ordinal order."""
    first, last = chunk["first"], chunk["first"] + chunk["count"]
    work.seek(chunk["start"])
    data = work.read(chunk["end"] - chunk["start"]).decode("utf-8")
    claims: dict[int, UploadClaim] = {}
    for record in csv.reader(io.StringIO(data, newline="")):
        ordinal = int(record[0])
        if not first <= ordinal < last:
            continue
        values = dict(zip(COLUMNS, record[2:]))
        claim = claims.get(ordinal)
        if claim is None:
            claim = claims[ordinal] = UploadClaim(ordinal, values["claim_ref"])
        claim.rows.append(Row(int(record[1]), values))
    return [claims[o] for o in sorted(claims)]


def group_claims(rows: Iterable[Row]) -> list[UploadClaim]:
    """Every claim of a file at once (small files, tests): the same grouping as the work file's."""
    out = io.BytesIO()
    plan = write_work_file(rows, out, chunk_claims=1 << 30)
    if not plan.chunks:
        return []
    return read_chunk(out, plan.chunks[0])


# ---- a claim's rows as the contract's claim ---------------------------------------------------------------


def split_list(text: str) -> list[str]:
    return [item for item in _LIST_SPLIT.split(text.strip()) if item]


def date_text(text: str) -> str:
    """YYYY-MM-DD from what a person or a spreadsheet writes (ISO, ISO with a time, MM/DD/YYYY); anything
    else is returned as it is, for the claim check to say it is not a date."""
    text = text.strip()
    if match := _ISO_START.fullmatch(text):
        return match.group(1)
    if match := _US_DATE.fullmatch(text):
        month, day, year = (int(g) for g in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text


def _units(text: str) -> int | str | None:
    if not text:
        return None
    if _WHOLE.fullmatch(text):
        return int(text.split(".")[0])
    return text  # the check says "Units must be a whole number of 1 or more."


def _pointer(text: str) -> int | str:
    if text.isdigit():
        return int(text)
    if len(text) == 1 and text.upper() in POINTER_LETTERS:
        return POINTER_LETTERS.index(text.upper()) + 1
    return text


def _charge(text: str) -> str | None:
    """The cell as it is written: the claim check applies the API's rule (a decimal with up to two places), so
    "6,500.00" or "$95" get a finding naming row and column instead of being read as something else."""
    return text.strip() or None


_SAME = {
    "payer": lambda v: v.lower(),
    "claim_type": lambda v: v.lower(),
    "place_of_service": lambda v: v.zfill(2),
    "date_of_service": date_text,
    "submitted_on": date_text,
    "rendering_npi": str.upper,
    "diagnoses": lambda v: tuple(normalise_code(x) for x in split_list(v)),
    "clinical_trial_number": str.upper,
    "prior_authorization_number": str.upper,
    "condition_codes": lambda v: tuple(x.upper() for x in split_list(v)),
    "location": str.lower,
    "patient_account": lambda v: v.strip().upper(),
}


def claim_payload(claim: UploadClaim) -> tuple[dict, dict[str, str]]:
    """The contract's claim object for a claim's rows, and the errors that stop it being one: a missing
    ``claim_ref``, or rows that disagree on a claim-level column ({column: "row 7 has ... but row 5 has ..."})."""
    errors: dict[str, str] = {}
    if not claim.ref:
        errors["claim_ref"] = (
            f"Row {claim.first_row} has no claim_ref: every row needs the claim it belongs to, so its lines can be "
            "put together."
        )
    chosen: dict[str, tuple[str, int]] = {}
    for row in claim.rows:
        for column in CLAIM_COLUMNS:
            text = row.values[column]
            if not text:
                continue
            if column not in chosen:
                chosen[column] = (text, row.number)
            elif column not in errors:
                first_text, first_row = chosen[column]
                same = _SAME[column]
                if same(first_text) != same(text):
                    shown = (  # a patient's account number is never echoed
                        ("another account", "a different one")
                        if column == "patient_account"
                        else (repr(text), repr(first_text))
                    )
                    errors[column] = (
                        f"Row {row.number} has {shown[0]} but row {first_row} has {shown[1]}: every row of claim "
                        f"{claim.ref} must give the same {column} (or leave it blank)."
                    )

    def value(column: str) -> str:
        return chosen.get(column, ("", 0))[0]

    payload: dict[str, Any] = {
        "payer": value("payer") or None,
        "place_of_service": value("place_of_service") or None,
        "date_of_service": date_text(value("date_of_service")) or None,
        "submitted_on": date_text(value("submitted_on")) or None,
        "rendering_npi": value("rendering_npi") or None,
        "diagnoses": split_list(value("diagnoses")),
        "clinical_trial_number": value("clinical_trial_number") or None,
        "prior_authorization_number": value("prior_authorization_number") or None,
        "condition_codes": split_list(value("condition_codes")),
        "lines": [],
    }
    if value("claim_type"):
        payload["claim_type"] = value("claim_type").lower()
    if value("location"):
        payload["location"] = value("location")
    if value("patient_account"):
        payload["patient"] = {"account": value("patient_account")}
    for row in claim.rows:
        v = row.values
        line: dict[str, Any] = {
            "code": v["code"],
            "modifiers": [m.upper() for m in split_list(v["modifiers"])],
            "diagnosis_pointers": [_pointer(p) for p in split_list(v["diagnosis_pointers"])],
            "charge": _charge(v["charge"]),
        }
        units = _units(v["units"])
        if units is not None:
            line["units"] = units
        if v["line_date_of_service"]:
            line["date_of_service"] = date_text(v["line_date_of_service"])
        payload["lines"].append(line)
    return payload, errors


def _row_of(claim: UploadClaim, column: str) -> str:
    """ "row 7, " for the first row of the claim that fills a claim-level column (else its first row)."""
    for row in claim.rows:
        if row.values.get(column):
            return f"row {row.number}, "
    return f"row {claim.first_row}, " if claim.rows else ""


_LINE_PATH = re.compile(r"lines\[(\d+)\](?:\.([a-z_]+))?(?:\[(\d+)\])?")
_LIST_PATH = re.compile(r"([a-z_]+)\[(\d+)\]")


def input_errors(errors: Mapping[str, str], claim: UploadClaim) -> list[tuple[str, str, int | None]]:
    """The claim check's input errors (JSON paths, ``lines[1].units``) as (field, message, line) in the words
    of the file: ``("row 12, units", "Units must be ...", 2)``; ``line`` is the claim's 1-based line."""
    out: dict[str, tuple[str, int | None]] = {}
    for path, message in errors.items():
        line = None
        if match := _LINE_PATH.fullmatch(path):
            index, column, item = int(match.group(1)), match.group(2), match.group(3)
            number = claim.rows[index].number if index < len(claim.rows) else "?"
            line = index + 1
            column = "line_date_of_service" if column == "date_of_service" else column
            label = f"row {number}" + (f", {column}" if column else "")
            if item is not None:
                label += f" (item {int(item) + 1})"
        elif match := _LIST_PATH.fullmatch(path):
            label = f"{_row_of(claim, match.group(1))}{match.group(1)} (item {int(match.group(2)) + 1})"
        elif path.startswith("patient"):
            label = f"{_row_of(claim, 'patient_account')}patient_account"  # the claim's "patient": {"account"}
        elif path in CLAIM_COLUMNS:
            label = f"{_row_of(claim, path)}{path}"
        else:
            label = path or "claim"
        if label in out:
            message = f"{out[label][0]} {message}"
        out[label] = (message, line)
    return [(label, message, line) for label, (message, line) in out.items()]


# ---- the results workbook ----------------------------------------------------------------------------------

RESULT_HEADERS = (
    "claim_ref",
    "row",
    "payer",
    "date_of_service",
    "status",
    "errors",
    "warnings",
    "info",
    "rules",
)
RESULT_WIDTHS = (18, 7, 18, 14, 10, 8, 9, 7, 60)
FINDING_HEADERS = ("claim_ref", "line", "severity", "rule", "message", "suggestion", "reference")
FINDING_WIDTHS = (18, 6, 10, 28, 70, 60, 60)


def result_row(result: Mapping) -> tuple:
    """One claim's row on the Results sheet."""
    counts = {"error": 0, "warning": 0, "info": 0}
    rules: list[str] = []
    for finding in result.get("findings", []):
        counts[finding["severity"]] = counts.get(finding["severity"], 0) + 1
        if finding["rule"] not in rules:
            rules.append(finding["rule"])
    return (
        result.get("claim_ref", ""),
        result.get("row"),
        result.get("payer", ""),
        result.get("date_of_service", ""),
        result.get("status", ""),
        counts["error"],
        counts["warning"],
        counts["info"],
        ", ".join(rules),
    )


def write_results(out: IO[bytes] | str, results: Iterable[Mapping]) -> dict[str, int]:
    """The results workbook (openpyxl write-only, so any number of claims): a Results sheet with one row per
    claim and a Findings sheet with one row per finding, each with a frozen, filtered header.

    ``results`` are the contract's result objects with ``claim_ref``, ``row`` and ``payer`` added, in file
    order. Returns the number of claims by status.
    """
    workbook = Workbook(write_only=True)
    results_sheet, result_cell = _sheet(workbook, "Results", RESULT_HEADERS, RESULT_WIDTHS)
    findings_sheet, finding_cell = _sheet(workbook, "Findings", FINDING_HEADERS, FINDING_WIDTHS)
    counts: dict[str, int] = {}
    claims = findings = 0
    for result in results:
        row = result_row(result)
        status = row[4]
        counts[status] = counts.get(status, 0) + 1
        cells = [result_cell(v) for v in row]
        cells[4] = result_cell(status, font=SEVERITY_FONTS.get(status))
        results_sheet.append(cells)
        claims += 1
        for finding in result.get("findings", []):
            severity = finding["severity"]
            findings_sheet.append(
                [
                    finding_cell(result.get("claim_ref", "")),
                    finding.get("line"),
                    finding_cell(severity, font=SEVERITY_FONTS.get(severity)),
                    finding["rule"],
                    *(
                        finding_cell(finding.get(key) or "", alignment=WRAP_TOP)
                        for key in ("message", "suggestion", "reference")
                    ),
                ]
            )
            findings += 1
    results_sheet.auto_filter.ref = f"A1:{get_column_letter(len(RESULT_HEADERS))}{claims + 1}"
    findings_sheet.auto_filter.ref = f"A1:{get_column_letter(len(FINDING_HEADERS))}{findings + 1}"
    workbook.save(out)
    return counts


def _sheet(workbook: Workbook, title: str, headers: tuple[str, ...], widths: tuple[int, ...]):
    sheet = workbook.create_sheet(title)
    sheet.freeze_panes = "A2"
    set_widths(sheet, widths)
    cells = WriteOnlyCells(sheet)
    sheet.append(cells.header(headers, alignment=None))
    return sheet, cells


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
