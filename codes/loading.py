"""A parsed file set becomes a release: checksum, dates, bulk insert, atomic switch.

One straight path: ``load_files(kind, paths)`` picks the parser for the kind and file, checksums the
files (the same file set twice is ``unchanged`` and loads nothing), works out the in-force dates (options
first, then what the file or its name says; when neither says, it stops and names the option to give),
and writes every row in one transaction with the database's bulk path: PostgreSQL ``COPY`` and SQLite
``executemany``. Django's ``bulk_create`` builds a model instance per row, several times slower on two
million NCCI rows, which is why this module writes its own bulk insert. A parse error anywhere rolls the
whole load back: nothing half-written, the release in force untouched.

A file must prove it is whole before its release is committed (issue 14): each parser checks what its layout
lets it check (``codes.formats.textfile.proves_whole``: a line end after the last line, an xlsx's CRC; then
footers, closing tags, record lengths, fixed decimals: see each parser's docstring). Where a layout has no end
marker a cut on a line boundary leaves whole rows, so the loader also refuses a file set whose row count differs
from ``expected_rows`` (when the caller knows it, e.g. a refresh from the count on the source's page), or that
has far fewer rows than the release of its kind it takes over from (``CODESET_MAX_ROW_DROP``). And it checks the file's
identity against the kind: a PTP or MUE table of the other kind (practitioner / outpatient hospital / DME) is
refused by its name and, for MUE, by its header.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from django.conf import settings
from django.db import connection, transaction

from codes import models
from codes import snapshot as k
from codes.formats.base import FileInfo, FormatError

log = logging.getLogger(__name__)


class LoadError(Exception):
    """A load refused as a whole (bad file, missing dates, conflicting release). Nothing was written."""


@dataclass(frozen=True)
class LoadResult:
    kind: str
    release_id: int
    label: str
    effective_from: date
    effective_to: date | None
    rows: int
    status: str  # "loaded" | "unchanged" | "held"
    seconds: float = 0.0

    def as_json(self) -> dict:
        return {
            "kind": self.kind,
            "release": self.label,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
            "rows": self.rows,
            "status": self.status,
        }


def _join(values) -> str:
    return " ".join(v for v in values if v)


@dataclass(frozen=True)
class KindSpec:
    """How one kind is read and stored: parser choice, table, columns and row -> tuple."""

    model: type
    columns: tuple[str, ...]
    to_tuple: Callable[[object], tuple]
    parser: Callable[[Path], object]  # path -> parser module (parse, file_info)
    key: Callable[[object], object] | None = None  # duplicate-key check across files of one set
    tuples: Callable[[Path], Iterator[tuple]] | None = None  # fast path yielding ready tuples
    table: str | None = None  # PTP and MUE: the CMS table the kind holds ("practitioner", "hospital")


def _module(name: str):
    return importlib.import_module(f"codes.formats.{name}")


def _icd_parser(path: Path):
    return _module("icd10cm_tabular" if path.suffix.lower() == ".xml" else "icd10cm_order")


def _fixed(name: str):
    return lambda path: _module(name)


def _fixture(parse_name: str):
    """The project's fixture CSVs: one module, a parse function per kind."""

    def pick(path: Path):
        module = _module("fixtures_csv")
        return SimpleNamespace(parse=getattr(module, parse_name), file_info=module.file_info)

    return pick


def _ptp_tuples(path: Path):
    # SQLite stores dates as ISO text: giving it strings saves an adapter call per date (bulk_insert's SQLite path).
    return _module("ncci_ptp").parse_tuples(path, iso_dates=connection.vendor == "sqlite")


SPECS: dict[str, KindSpec] = {
    k.ICD10CM: KindSpec(
        models.IcdCode,
        ("code", "billable", "description", "short_description"),
        lambda r: (r.code, r.billable, r.description, r.short_description),
        _icd_parser,
        key=lambda r: r.code,
    ),
    k.HCPCS: KindSpec(
        models.HcpcsCode,
        (
            "code",
            "is_modifier",
            "long_description",
            "short_description",
            "pricing_indicators",
            "multiple_pricing",
            "coverage",
            "asc_group",
            "asc_date",
            "proc_note",
            "betos",
            "type_of_service",
            "xrefs",
            "added",
            "action_effective",
            "terminated",
            "action_code",
        ),
        lambda r: (
            r.code,
            r.is_modifier,
            r.long_description,
            r.short_description,
            _join(r.pricing_indicators),
            r.multiple_pricing,
            r.coverage,
            r.asc_group,
            r.asc_date,
            r.proc_note,
            r.betos,
            _join(r.type_of_service),
            _join(r.xrefs),
            r.added,
            r.action_effective,
            r.terminated,
            r.action_code,
        ),
        _fixed("hcpcs"),
        key=lambda r: r.code,
    ),
    k.CPT: KindSpec(
        models.CptDescriptor,
        ("code", "description"),
        lambda r: (r.code, r.description),
        _fixed("cpt_descriptors"),
        key=lambda r: r.code,
    ),
    k.PROCEDURE_SUMMARIES: KindSpec(
        models.ProcedureSummary,
        ("code", "code_system", "summary", "effective_from", "effective_to", "replacement"),
        lambda r: (r.code, r.code_system, r.summary, r.effective_from, r.effective_to, r.replacement),
        _fixture("parse_procedure_summaries"),
        key=lambda r: r.code,
    ),
    k.MODIFIERS: KindSpec(
        models.ModifierCode,
        ("code", "code_system", "description", "effective_from", "effective_to", "ncci_associated", "anatomic"),
        lambda r: (
            r.code,
            r.code_system,
            r.description,
            r.effective_from,
            r.effective_to,
            r.ncci_associated,
            r.anatomic,
        ),
        _fixture("parse_modifiers"),
        key=lambda r: r.code,
    ),
    k.POS: KindSpec(
        models.PlaceOfService,
        ("code", "name", "facility", "effective_from", "effective_to"),
        lambda r: (r.code, r.name, r.facility, r.effective_from, r.effective_to),
        _fixture("parse_places_of_service"),
        key=lambda r: r.code,
    ),
    k.PFS_RVU: KindSpec(
        models.RvuValue,
        (
            "code",
            "modifier",
            "description",
            "status",
            "work_rvu",
            "pe_nonfacility_rvu",
            "pe_nonfacility_na",
            "pe_facility_rvu",
            "pe_facility_na",
            "mp_rvu",
            "total_nonfacility",
            "total_facility",
            "pctc_indicator",
            "global_days",
            "mult_proc",
            "bilat_surg",
            "asst_surg",
            "co_surg",
            "team_surg",
            "conversion_factor",
        ),
        lambda r: (
            r.code,
            r.modifier,
            r.description,
            r.status,
            r.work_rvu,
            r.pe_nonfacility_rvu,
            r.pe_nonfacility_na,
            r.pe_facility_rvu,
            r.pe_facility_na,
            r.mp_rvu,
            r.total_nonfacility,
            r.total_facility,
            r.pctc_indicator,
            r.global_days,
            r.mult_proc,
            r.bilat_surg,
            r.asst_surg,
            r.co_surg,
            r.team_surg,
            r.conversion_factor,
        ),
        _fixed("pfs_rvu"),
        key=lambda r: (r.code, r.modifier),
    ),
    k.GPCI: KindSpec(
        models.Gpci,
        ("mac", "state", "locality", "name", "work", "pe", "mp"),
        lambda r: (r.mac, r.state, r.locality, r.name, r.work, r.pe, r.mp),
        _fixed("gpci"),
        key=lambda r: (r.mac, r.locality),
    ),
    k.LOCALITY: KindSpec(
        models.Locality,
        ("mac", "locality", "state", "area", "counties"),
        lambda r: (r.mac, r.locality, r.state, r.area, r.counties),
        _fixed("locality"),
    ),
    k.MUE_PRACTITIONER: KindSpec(
        models.MueValue,
        ("code", "value", "adjudication_indicator", "rationale"),
        lambda r: (r.code, r.value, r.adjudication_indicator, r.rationale),
        _fixed("mue"),
        key=lambda r: r.code,
    ),
    k.OPPS: KindSpec(
        models.OppsRate,
        (
            "code",
            "short_description",
            "status_indicator",
            "apc",
            "relative_weight",
            "payment_rate",
            "national_copayment",
            "minimum_copayment",
        ),
        lambda r: (
            r.code,
            r.short_description,
            r.status_indicator,
            r.apc,
            r.relative_weight,
            r.payment_rate,
            r.national_copayment,
            r.minimum_copayment,
        ),
        _fixed("opps_addendum_b"),
        key=lambda r: r.code,
    ),
    k.ASC: KindSpec(
        models.AscRate,
        (
            "code",
            "short_description",
            "multiple_procedure_discount",
            "comment_indicator",
            "payment_indicator",
            "payment_weight",
            "payment_rate",
        ),
        lambda r: (
            r.code,
            r.short_description,
            r.multiple_procedure_discount,
            r.comment_indicator,
            r.payment_indicator,
            r.payment_weight,
            r.payment_rate,
        ),
        _fixed("asc_addendum_aa"),
        key=lambda r: r.code,
    ),
    k.ZIP5: KindSpec(
        models.ZipLocality,
        ("zip_code", "state", "carrier", "locality", "rural", "plus_four", "year_quarter"),
        lambda r: (r.zip_code, r.state, r.carrier, r.locality, r.rural, r.plus_four, r.year_quarter),
        _fixed("zip5"),
        key=lambda r: r.zip_code,
    ),
    k.NCCI_ADDON: KindSpec(
        models.AddonEdit,
        ("addon", "primary", "edit_type", "addon_effective", "addon_deleted", "primary_effective", "primary_deleted"),
        lambda r: (
            r.addon,
            r.primary,
            r.edit_type,
            r.addon_effective,
            r.addon_deleted,
            r.primary_effective,
            r.primary_deleted,
        ),
        _fixed("ncci_addon"),
        key=lambda r: (r.addon, r.primary, r.addon_effective),
    ),
}
_PTP = KindSpec(
    models.PtpEdit,
    ("column1", "column2", "prior_1996", "effective", "deleted", "modifier_indicator", "rationale"),
    lambda r: (r.column1, r.column2, r.prior_1996, r.effective, r.deleted, r.modifier_indicator, r.rationale),
    _fixed("ncci_ptp"),
    tuples=_ptp_tuples,  # the parser checks duplicate keys itself, per file
)
SPECS[k.PTP_PRACTITIONER] = dataclasses.replace(_PTP, table="practitioner")
SPECS[k.PTP_HOSPITAL] = dataclasses.replace(_PTP, table="hospital")
SPECS[k.MUE_HOSPITAL] = dataclasses.replace(SPECS[k.MUE_PRACTITIONER], table="hospital")
SPECS[k.MUE_PRACTITIONER] = dataclasses.replace(SPECS[k.MUE_PRACTITIONER], table="practitioner")
IMPORT_KINDS = tuple(SPECS)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def set_checksum(hashes: list[str]) -> str:
    """One checksum for a file set, independent of the order the files were named in."""
    if len(hashes) == 1:
        return hashes[0]
    return hashlib.sha256("".join(sorted(hashes)).encode()).hexdigest()


def resolve_dates(
    infos: list[FileInfo], effective_from: date | None, effective_to: date | None, label: str | None, kind: str
) -> tuple[date, date | None, str]:
    """Options first, then what the files say. Every file of a set must agree on what it says."""
    said_from = {i.effective_from for i in infos if i.effective_from}
    said_to = {i.effective_to for i in infos if i.effective_to}
    if effective_from is None:
        if len(said_from) > 1:
            raise LoadError(f"the files disagree on their start date ({sorted(said_from)}): give --effective-from")
        effective_from = next(iter(said_from), None)
    if effective_from is None:
        raise LoadError(
            f"neither the {kind} file nor its name says when it takes effect: give --effective-from YYYY-MM-DD"
        )
    if effective_to is None and len(said_to) == 1:
        effective_to = next(iter(said_to))
    if effective_to is not None and effective_to < effective_from:
        raise LoadError(f"--effective-to {effective_to} is before --effective-from {effective_from}")
    if not label:
        label = next((i.label for i in infos if i.label), None) or f"{k.KIND_LABELS[kind]} from {effective_from}"
    return effective_from, effective_to, label


_PG_TYPES = {
    "CharField": "text",
    "TextField": "text",
    "BooleanField": "bool",
    "DateField": "date",
    "DecimalField": "numeric",
    "PositiveIntegerField": "int4",
    "PositiveSmallIntegerField": "int2",
    "IntegerField": "int4",
    "ForeignKey": "int8",
    "BigAutoField": "int8",
}


def _pg_type(model, column: str) -> str:
    field = model._meta.get_field(column[:-3] if column.endswith("_id") else column)
    return _PG_TYPES[field.get_internal_type()]


def bulk_insert(model, columns: tuple[str, ...], release_id: int, rows: Iterable[tuple]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) for one release with the backend's bulk path."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ("release_id", *columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            names = ", ".join(connection.ops.quote_name(c) for c in cols)
            # Binary COPY: psycopg converts each value once, PostgreSQL parses no text (about twice the text rate).
            # The queued writer sends from a thread, so parsing here overlaps with the server's work.
            writer = QueuedLibpqWriter(raw)
            with raw.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)", writer=writer) as copy:
                copy.set_types([_pg_type(model, c) for c in cols])
                write = copy.write_row
                for row in rows:
                    write((release_id, *row))
                    count += 1
        else:
            import sqlite3

            names = ", ".join(connection.ops.quote_name(c) for c in columns)
            # The release id is an int written into the statement, so each row goes to sqlite3 as the parser made
            # it (no tuple rebuilt per row); sqlite3 reads the iterator as it inserts (memory flat). Django's
            # wrapper is skipped: it tees the iterator to peek at the first row.
            marks = ", ".join(["?"] * len(columns))
            sql = f"INSERT INTO {table} (release_id, {names}) VALUES ({int(release_id)}, {marks})"  # noqa: S608 (names from model meta)
            raw = cursor.cursor
            sqlite3.Cursor.executemany(raw, sql, rows)
            count = max(raw.rowcount, 0)
    return count


def _rows(spec: KindSpec, kind: str, paths: list[Path]) -> Iterator[tuple]:
    """Every row of the file set as a tuple, checking duplicate keys across the files."""
    for path in paths:
        if spec.tuples is not None:
            yield from spec.tuples(path)
            continue
        module = spec.parser(path)
        seen: set = set()
        to_tuple, key = spec.to_tuple, spec.key
        for n, row in enumerate(module.parse(path), 1):
            if key is not None:
                kv = key(row)
                if kv in seen:
                    raise FormatError(f"duplicate key {kv!r} (record {n})", file=str(path))
                seen.add(kv)
            yield to_tuple(row)


_TABLE_WORDS = {"practitioner": "practitioner", "hospital": "outpatient hospital", "dme": "DME supplier"}
_TABLE_NAMES = {
    (k.PTP_PRACTITIONER, "practitioner"): "ccipra-v...-f1..4.txt",
    (k.PTP_HOSPITAL, "hospital"): "ccioph-v...-f1..4.txt",
    (k.MUE_PRACTITIONER, "practitioner"): "MCR_MUE_PractitionerServices_Eff_...csv",
    (k.MUE_HOSPITAL, "hospital"): "MCR_MUE_OutpatientHospitalServices_Eff_...csv",
}


def check_identity(kind: str, path: Path, name: str | None = None) -> None:
    """Refuse a file of another table than ``kind`` holds (issue 14 item 6): a practitioner PTP file given as
    ``ncci-ptp-hospital``, an outpatient hospital or DME MUE file as ``mue-practitioner``... PTP: from the name
    (``ccipra`` / ``ccioph``; both tables share one header, so a name that says neither is accepted). MUE: from
    the name and from the header's second column (``Practitioner Services MUE Values``). Other kinds: each
    parser's header checks refuse files of another kind. ``name`` is the file's name at its source."""
    spec = SPECS[kind]
    if spec.table is None:
        return
    name = name or path.name
    if kind in (k.PTP_PRACTITIONER, k.PTP_HOSPITAL):
        said = {"name": _module("ncci_ptp").table_of(name)}
    else:
        mue = _module("mue")
        said = {"name": mue.name_table(name), "header": mue.header_table(path)}
    for where, table in said.items():
        if table is not None and table != spec.table:
            raise LoadError(
                f"{name}: its {where} says this is the {_TABLE_WORDS[table]} table, but {kind} takes the "
                f"{_TABLE_WORDS[spec.table]} table (a file named like {_TABLE_NAMES[kind, spec.table]}): "
                "nothing was loaded"
            )


def read_rows(
    kind: str,
    paths: list[Path],
    *,
    names: list[str] | None = None,
    expected_rows: int | None = None,
    min_rows: int | None = None,
    at_least: str = "",
) -> Iterator[tuple]:
    """Every row of the file set as a tuple, checked as a whole (pure: no database). Each file's identity against
    ``kind``, then its rows (its parser proves it whole and checks duplicate keys), then the count: a LoadError
    when it differs from ``expected_rows`` or is below ``min_rows`` (``at_least`` says why). The error comes after
    the last row, so a caller writing the rows must do so in a transaction (``load_files`` does)."""
    if kind not in SPECS:
        raise LoadError(f"unknown kind {kind!r}: one of {', '.join(IMPORT_KINDS)}")
    paths = [Path(p) for p in paths]
    names = names or [p.name for p in paths]
    for path, name in zip(paths, names):
        check_identity(kind, path, name)
    count = 0
    for row in _rows(SPECS[kind], kind, paths):
        count += 1
        yield row
    files = ", ".join(names)
    if expected_rows is not None and count != expected_rows:
        raise LoadError(
            f"{files}: {count:,} rows where {expected_rows:,} were expected (the record count given for the file"
            f"{'s' if len(names) > 1 else ''}): the file is cut short or not the one announced; nothing was loaded"
        )
    if min_rows is not None and count < min_rows:
        raise LoadError(f"{files}: {count:,} rows, far fewer than {at_least}: a file cut short? Nothing was loaded")


def release_followed(kind: str, effective_from: date) -> models.Release | None:
    """The loaded release of ``kind`` a new one starting ``effective_from`` takes over from: the latest loaded one
    that starts on or before that day (the one in force then). None for a release older than every loaded one
    (a back-fill of history replaces nothing)."""
    loaded = models.Release.objects.filter(
        kind=kind, status=models.Release.Status.LOADED, effective_from__lte=effective_from
    )
    return loaded.order_by("-effective_from", "-id").first()


def _row_floor(kind: str, effective_from: date, max_row_drop: float | None) -> tuple[int | None, str]:
    """The fewest rows a new release of ``kind`` may have against the release it takes over from, and why."""
    current = release_followed(kind, effective_from)
    if current is None or not current.row_count:
        return None, ""
    drop = settings.CODESET_MAX_ROW_DROP if max_row_drop is None else max_row_drop
    floor = math.ceil(current.row_count * (1 - drop))
    return floor, (
        f"the {current.row_count:,} of {current.label} in force before it (more than {drop:.0%} fewer, the setting "
        "CODESET_MAX_ROW_DROP; give allow_fewer_rows / --allow-fewer-rows if the smaller file is meant)"
    )


PROGRESS_EVERY = 10_000


def _counted(rows: Iterator[tuple], progress: Callable[[int], None]) -> Iterator[tuple]:
    for n, row in enumerate(rows, 1):
        if n % PROGRESS_EVERY == 0:
            progress(n)
        yield row


def load_files(
    kind: str,
    paths: list[str | Path],
    *,
    effective_from: date | None = None,
    effective_to: date | None = None,
    label: str | None = None,
    user=None,
    hold: bool = False,
    replace: bool = False,
    source_names: list[str] | None = None,
    progress: Callable[[int], None] | None = None,
    expected_rows: int | None = None,
    allow_fewer_rows: bool = False,
    max_row_drop: float | None = None,
) -> LoadResult:
    """Load one file set as a release of ``kind``. Atomic and idempotent by checksum.

    ``hold``: load it as HELD (not used to answer) for the caller to review and ``activate``.
    ``replace``: a loaded release of the kind with the same start date is marked superseded.
    ``progress``: called with the number of rows written so far, every ``PROGRESS_EVERY`` rows.
    ``expected_rows``: the number of rows the file set must give (as this function reports them: codes for HCPCS,
    edits for PTP...), e.g. the record count on the source's download page; any other count fails the load.
    ``allow_fewer_rows`` / ``max_row_drop``: a release put in force directly (not ``hold``) may not have more than
    ``max_row_drop`` (default: the setting ``CODESET_MAX_ROW_DROP``) fewer rows than the release it takes over from
    (``release_followed``: in force on its start date), unless allowed. A held load skips this check: the refresh
    reviews held releases itself (``REFRESH_MAX_ROW_DROP`` holds them for review, the release in force staying).
    """
    if kind not in SPECS:
        raise LoadError(f"unknown kind {kind!r}: one of {', '.join(IMPORT_KINDS)}")
    spec = SPECS[kind]
    paths = [Path(p) for p in paths]
    for p in paths:
        if not p.is_file():
            raise LoadError(f"{p}: no such file")
    started = time.monotonic()
    hashes = [file_sha256(p) for p in paths]
    checksum = set_checksum(hashes)
    existing = (
        models.Release.objects.filter(kind=kind, sha256=checksum)
        .exclude(status__in=[models.Release.Status.FAILED, models.Release.Status.LOADING])
        .order_by("-id")
        .first()
    )
    if existing is not None:
        return LoadResult(
            kind,
            existing.id,
            existing.label,
            existing.effective_from,
            existing.effective_to,
            existing.row_count,
            "unchanged",
            time.monotonic() - started,
        )
    try:
        infos = [spec.parser(p).file_info(p) for p in paths]
    except FormatError as exc:
        raise LoadError(str(exc)) from exc
    eff_from, eff_to, label = resolve_dates(infos, effective_from, effective_to, label, kind)
    floor, floor_reason = (None, "") if hold or allow_fewer_rows else _row_floor(kind, eff_from, max_row_drop)
    names = source_names or [p.name for p in paths]
    try:
        for path, name in zip(paths, names):
            check_identity(kind, path, name)
    except FormatError as exc:
        raise LoadError(str(exc)) from exc
    sources = [{"name": n, "size": p.stat().st_size, "sha256": h} for n, p, h in zip(names, paths, hashes)]
    status = models.Release.Status.HELD if hold else models.Release.Status.LOADED
    try:
        with transaction.atomic():
            clash = models.Release.objects.select_for_update().filter(
                kind=kind, effective_from=eff_from, status=models.Release.Status.LOADED
            )
            if clash.exists() and not hold:
                if not replace:
                    other = clash.first()
                    raise LoadError(
                        f"{other.label} is already in force from {eff_from} for {kind} (a different file): "
                        "give --replace to supersede it, or other dates"
                    )
                clash.update(status=models.Release.Status.SUPERSEDED)
            release = models.Release.objects.create(
                kind=kind,
                label=label,
                effective_from=eff_from,
                effective_to=eff_to,
                sources=sources,
                sha256=checksum,
                loaded_by=user if getattr(user, "pk", None) else None,
                status=models.Release.Status.LOADING,
            )
            rows = read_rows(
                kind, paths, names=names, expected_rows=expected_rows, min_rows=floor, at_least=floor_reason
            )
            if progress is not None:
                rows = _counted(rows, progress)
            count = bulk_insert(spec.model, spec.columns, release.id, rows)
            if count == 0:
                raise LoadError(f"{', '.join(names)}: no rows found: is this a {kind} file?")
            release.row_count = count
            release.status = status
            release.save(update_fields=["row_count", "status"])
    except FormatError as exc:
        raise LoadError(str(exc)) from exc
    seconds = time.monotonic() - started
    log.info("loaded release %s kind=%s rows=%d in %.2fs", release.id, kind, count, seconds)
    return LoadResult(kind, release.id, label, eff_from, eff_to, count, status, seconds)


def activate(release: models.Release) -> None:
    """Put a held release in force: any loaded release of its kind with the same start is superseded."""
    with transaction.atomic():
        models.Release.objects.select_for_update().filter(
            kind=release.kind, effective_from=release.effective_from, status=models.Release.Status.LOADED
        ).exclude(pk=release.pk).update(status=models.Release.Status.SUPERSEDED)
        models.Release.objects.filter(pk=release.pk).update(status=models.Release.Status.LOADED, held_reason="")
    release.refresh_from_db()
