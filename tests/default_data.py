"""The default data (``load_defaults --demo``) made once per test process, then copied into each test database
that asks for it.

``load_defaults --demo`` parses the shipped ICD-10-CM XML (98,186 codes), the CMS starter files and the fixtures
and builds the demo practice through the ORM: seconds of work, and the suite asked for it once per module (43% of
the suite's time, issue 11). Here the first call in a process runs the command for real and keeps what
it wrote (every table's new and changed rows, read back raw); later calls write those rows (same ids) with the
backend's bulk path: ``executemany`` on SQLite, ``COPY`` on PostgreSQL. What tests see is the command's own output.

The rows the command found already there (content types, permissions: written by migrate) are kept as they were
when the copy was taken. A transactional test's flush writes them again with other ids; when they differ, the
copy would point at the wrong rows, so the command runs for real again and its rows become the new copy.
A row found before that the command changed (the access generation it bumps) is deleted and written as the
command left it; one it deleted is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import StringIO

from django.apps import apps
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import connection


@dataclass
class _Copy:
    before: dict[str, list[tuple]]  # table -> the rows found before the command (sorted), for the check
    sqlite_rows: dict[str, list[tuple]]  # table -> the rows the command wrote, new or changed (SQLite)
    copy_text: dict[str, bytes]  # table -> the same rows in COPY text format (PostgreSQL)
    removed: dict[str, tuple[str, list]]  # table -> its key column, the keys of rows found before and changed/deleted
    models: list  # the models whose tables got rows (sequences to move past them on PostgreSQL)


_copy: _Copy | None = None


def load_default_data() -> None:
    """``load_defaults --demo`` into the current database: for real the first time in a process (or when the
    rows it builds on differ from that time), from the copy afterwards."""
    global _copy
    tables = _tables()
    before = _rows_present(tables)
    if _copy is not None and before == _copy.before:
        _write(_copy)
        return
    call_command("load_defaults", "--demo", stdout=StringIO())
    _copy = _take(tables, before)


def _tables() -> dict[str, object]:
    """Every table of a concrete model (auto-created many-to-many tables included) -> its model."""
    found = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in found:
            continue
        found[meta.db_table] = model
    return found


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _pk(model) -> str:
    return _q(model._meta.pk.column)


def _select(table: str, model) -> list[tuple]:
    """Every row of ``table``, primary key first (as the check below reads it), then the table's own columns."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_pk(model)}, * FROM {_q(table)} ORDER BY {_pk(model)}")  # noqa: S608 (names from model meta)
        return [tuple(row) for row in cursor.fetchall()]


def _rows_present(tables: dict) -> dict[str, list[tuple]]:
    """The rows already in the database, of the tables that have any (a few small ones written by migrate)."""
    with connection.cursor() as cursor:
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {_q(table)}")  # noqa: S608 (names from model meta)
            counts[table] = cursor.fetchone()[0]
    return {table: _select(table, model) for table, model in tables.items() if counts[table]}


def _literal(value) -> str:
    return str(int(value)) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def _take(tables: dict, before: dict[str, list[tuple]]) -> _Copy:
    """What the command did, per table: the rows it wrote (new or changed, e.g. the access generation it bumps)
    and the ones it changed or deleted (removed first when the copy is written)."""
    after = _rows_present(tables)
    sqlite_rows, copy_text, removed, touched = {}, {}, {}, []
    for table in sorted(set(before) | set(after)):
        old = {row[0]: row for row in before.get(table, [])}
        rows = after.get(table, [])
        unchanged = {row[0] for row in rows if old.get(row[0]) == row}
        if len(unchanged) == len(rows) == len(old):
            continue
        model = tables[table]
        touched.append(model)
        removed[table] = (_pk(model), [key for key in old if key not in unchanged])
        if connection.vendor == "postgresql":
            where = f"WHERE {_pk(model)} NOT IN ({', '.join(_literal(k) for k in unchanged)})" if unchanged else ""
            copy_text[table] = _copy_out(f"SELECT * FROM {_q(table)} {where}")  # noqa: S608 (names from model meta)
        else:
            sqlite_rows[table] = [row[1:] for row in rows if row[0] not in unchanged]
    return _Copy(before, sqlite_rows, copy_text, removed, touched)


def _copy_out(query: str) -> bytes:
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY ({query}) TO STDOUT") as copy:
        return b"".join(bytes(data) for data in copy)


def _write(data: _Copy) -> None:
    """The copied rows, ids and all. Foreign keys are checked at commit (Django makes them deferred on both
    backends), so the order of the tables does not matter."""
    with connection.cursor() as cursor:
        for table, (pk, keys) in data.removed.items():
            if keys:
                cursor.execute(f"DELETE FROM {_q(table)} WHERE {pk} IN ({', '.join(_literal(k) for k in keys)})")  # noqa: S608
        if connection.vendor == "postgresql":
            for table, text in data.copy_text.items():
                with cursor.cursor.copy(f"COPY {_q(table)} FROM STDIN") as copy:
                    copy.write(text)
            # Rows written with their ids leave the sequences behind: move each past its table's ids.
            for sql in connection.ops.sequence_reset_sql(no_style(), data.models):
                cursor.execute(sql)
        else:
            import sqlite3

            for table, rows in data.sqlite_rows.items():
                marks = ", ".join(["?"] * len(rows[0]))
                # Django's wrapper is skipped (as in codes.loading.bulk_insert): it would copy every row first.
                sqlite3.Cursor.executemany(cursor.cursor, f"INSERT INTO {_q(table)} VALUES ({marks})", rows)  # noqa: S608
