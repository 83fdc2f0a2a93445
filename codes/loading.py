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

import hashlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from codes import kinds, models
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


IMPORT_KINDS = kinds.ALL_KINDS


def _known(kind: str) -> kinds.Kind:
    if kind not in kinds.KINDS:
        raise LoadError(f"unknown kind {kind!r}: one of {', '.join(IMPORT_KINDS)}")
    return kinds.KINDS[kind]


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
        label = next((i.label for i in infos if i.label), None) or f"{kinds.label(kind)} from {effective_from}"
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


def _release_partition(cursor, model, release_id: int) -> tuple[str, Callable[[], None]] | None:
    """PostgreSQL, a table partitioned by release (the NCCI PTP rows, migration 0005): a new table of the parent's
    columns for this release's rows, with no index yet, and what attaches it once they are in (its primary key
    built then, in one sorted pass, instead of kept up row by row through the COPY). None for a plain table."""
    parent = model._meta.db_table
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [parent])
    found = cursor.fetchone()
    if not found or found[0] != "p":
        return None
    quote = connection.ops.quote_name
    release_id = int(release_id)
    name = f"{parent}_r{release_id}"
    key = ", ".join(quote(f.column) for f in model._meta.pk_fields)
    # A release id is never given twice, but a test database's sequences can restart: an old partition goes.
    cursor.execute(f"DROP TABLE IF EXISTS {quote(name)}")
    # The CHECK matches the partition's bound, so attaching it does not scan the rows again. The release id is the
    # column's default while the rows go in: the COPY leaves it out, so no tuple is rebuilt and no id encoded per
    # row (2,632,389 rows: 4.6 -> 4.1 s of the loader's CPU); dropped before the partition is attached.
    cursor.execute(
        f"CREATE TABLE {quote(name)} (LIKE {quote(parent)} INCLUDING DEFAULTS, "
        f"CONSTRAINT {quote(name + '_release')} CHECK (release_id = {release_id}))"
    )
    cursor.execute(f"ALTER TABLE {quote(name)} ALTER COLUMN release_id SET DEFAULT {release_id}")

    def attach() -> None:
        cursor.execute(f"ALTER TABLE {quote(name)} ALTER COLUMN release_id DROP DEFAULT")
        cursor.execute(f"ALTER TABLE {quote(name)} ADD PRIMARY KEY ({key})")
        cursor.execute(f"ALTER TABLE {quote(parent)} ATTACH PARTITION {quote(name)} FOR VALUES IN ({release_id})")

    return quote(name), attach


def drop_release_partitions(sender, instance, **kwargs) -> None:
    """post_delete of a Release: on PostgreSQL, the release's partition of each partitioned row table (NCCI PTP)
    is dropped; the cascade has emptied it, and an empty table per deleted release would otherwise stay."""
    if connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in _partitioned_models():
            cursor.execute(f"DROP TABLE IF EXISTS {quote(f'{model._meta.db_table}_r{int(instance.pk)}')}")


def _partitioned_models():
    from codes.models import PtpEdit

    return (PtpEdit,)


def bulk_insert(model, columns: tuple[str, ...], release_id: int, rows: Iterable[tuple]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order) for one release with the backend's bulk path."""
    table = connection.ops.quote_name(model._meta.db_table)
    cols = ("release_id", *columns)
    count = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            partition = _release_partition(cursor, model, release_id)
            if partition is not None:
                table, attach = partition
                cols = columns  # the release id is the partition's default (_release_partition)

            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            names = ", ".join(connection.ops.quote_name(c) for c in cols)
            # Binary COPY: psycopg converts each value once, PostgreSQL parses no text (about twice the text rate).
            # The queued writer sends from a thread, so parsing here overlaps with the server's work.
            writer = QueuedLibpqWriter(raw)
            with raw.copy(f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)", writer=writer) as copy:
                copy.set_types([_pg_type(model, c) for c in cols])
                write = copy.write_row
                if partition is not None:
                    for row in rows:
                        write(row)
                        count += 1
                else:
                    for row in rows:
                        write((release_id, *row))
                        count += 1
            if partition is not None:
                attach()
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


def _rows(kind: kinds.Kind, paths: list[Path]) -> Iterator[tuple]:
    """Every row of the file set as a tuple, checking duplicate keys across the files."""
    to_tuple, key = kind.to_tuple, kind.key_of if kind.unique else None
    for path in paths:
        module = kind.parser_for(path)
        if kind.in_database:  # the fast path: ready tuples (the parser checks duplicate keys itself, per file)
            # SQLite stores dates as ISO text: giving it strings saves an adapter call per date (bulk_insert).
            yield from module.parse_tuples(path, iso_dates=connection.vendor == "sqlite")
            continue
        seen: set = set()
        for n, row in enumerate(module.parse(path), 1):
            if key is not None:
                kv = key(row)
                if kv in seen:
                    raise FormatError(f"duplicate key {kv!r} (record {n})", file=str(path))
                seen.add(kv)
            yield to_tuple(row)


def check_identity(kind: str, path: Path, name: str | None = None) -> None:
    """Refuse a file of another table than ``kind`` holds (issue 14 item 6): a practitioner PTP file given as
    ``ncci-ptp-hospital``, an outpatient hospital or DME MUE file as ``mue-practitioner``... PTP: from the name
    (``ccipra`` / ``ccioph``; both tables share one header, so a name that says neither is accepted). MUE: from
    the name and from the header's second column (``Practitioner Services MUE Values``). Other kinds: each
    parser's header checks refuse files of another kind. ``name`` is the file's name at its source."""
    table = kinds.KINDS[kind].table
    if table is None:
        return
    name = name or path.name
    module = kinds.KINDS[kind].parser_for(path)
    if hasattr(module, "header_table"):  # MUE: the name and the header's second column say the table
        said = {"name": module.name_table(name), "header": module.header_table(path)}
    else:  # PTP: both tables share one header, only the name says
        said = {"name": module.table_of(name)}
    for where, other in said.items():
        if other is not None and other != table:
            raise LoadError(
                f"{name}: its {where} says this is the {kinds.TABLE_WORDS[other]} table, but {kind} takes the "
                f"{kinds.TABLE_WORDS[table]} table (a file named like {kinds.KINDS[kind].table_file}): "
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
    spec = _known(kind)
    paths = [Path(p) for p in paths]
    names = names or [p.name for p in paths]
    for path, name in zip(paths, names):
        check_identity(kind, path, name)
    count = 0
    for row in _rows(spec, paths):
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
    spec = _known(kind)
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
        infos = [spec.parser_for(p).file_info(p) for p in paths]
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
            count = bulk_insert(spec.model_class, spec.columns, release.id, rows)
            if count == 0:
                raise LoadError(f"{', '.join(names)}: no rows found: is this a {kind} file?")
            release.row_count = count
            release.status = status
            release.save(update_fields=["row_count", "status"])
    except FormatError as exc:
        raise LoadError(str(exc)) from exc
    except (IntegrityError, connection.Database.IntegrityError) as exc:  # bulk_insert talks to the driver itself
        # a key the files repeat that no one file's parser saw twice (PTP: across parts)
        raise LoadError(f"{', '.join(names)}: the same key twice across the files ({exc})") from exc
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
