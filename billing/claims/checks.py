"""Claim checks as services: a payload or a draft claim in, a stored check with its findings out.

The shared Checker (billing.claims.checker) checks; this module keeps each check with its findings and the
releases that answered, so it can be explained later, and sets each draft claim's status from its check.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

from django.db import connections, router, transaction
from django.utils import timezone

from billing.checking.claim import ClaimInputError, parse_claim
from billing.checking.history import patient_hash, services_of
from billing.claims.checker import Checker
from billing.models import ClaimCheck, ClaimStatus, DraftClaim, Finding


def store_checks(
    practice_id: int,
    results: Sequence[dict],
    *,
    claims: Sequence[DraftClaim | None] | None = None,
    user=None,
    source: str = "api",
    upload=None,
    payloads: Sequence[dict | None] | None = None,
) -> list[ClaimCheck]:
    """Keep checks and their findings in bulk (no query per check or finding; PostgreSQL: COPY). ``upload``: the
    batch upload they come from; ``payloads``: the claims checked, in the same order, so that a claim naming a
    patient account keeps the patient's keyed hash and its services for later frequency checks."""
    claims = claims or [None] * len(results)
    history = _history_fields(practice_id, payloads or [None] * len(results))
    checked_by = user if getattr(user, "pk", None) else None
    checks = [
        ClaimCheck(
            practice_id=practice_id,
            claim=claim,
            reference=_reference(claim, result),
            payer_key=_payer_key(claim, result),
            date_of_service=date.fromisoformat(result["date_of_service"]) if result.get("date_of_service") else None,
            status=result["status"],
            result=result,
            coding=result.get("coding", []),
            source=source,
            checked_by=checked_by,
            upload=upload,
            patient_hash=patient,
            services=services,
        )
        for claim, result, (patient, services) in zip(claims, results, history)
    ]
    connection = connections[router.db_for_write(ClaimCheck)]
    if not checks:
        return checks
    now = timezone.now()  # checked_at (auto_now_add): one moment for the batch
    for check in checks:
        check.checked_at = now
    if len(checks) == 1 and connection.vendor == "postgresql":
        _insert_one_check(connection, checks[0])  # one statement: no transaction to open and commit
        return checks
    with transaction.atomic(using=connection.alias):
        if connection.vendor == "postgresql":
            _copy_checks(connection, checks)
            _copy_findings(connection, _finding_rows(checks))
            # The foreign keys (deferred to the commit, as Django declares them) are checked now: a caller that
            # takes a lock after the store (billing.uploads.jobs.check_chunk) holds it for its commit alone, not
            # for the ~4,000 checks of a chunk's rows (a quarter of a chunk's store had waited in the commit).
            connection.check_constraints()
        else:
            _insert_checks(connection, checks)
            _insert_findings(connection, _finding_rows(checks))
    for check in checks:
        check._state.adding, check._state.db = False, connection.alias
    return checks


# The columns a batch writes, with each check's value read straight from the instance (no field's
# get_db_prep_save per value: the values are already plain ints, strings, dates and JSON-able data).
CHECK_COLUMNS = (
    "practice_id", "claim_id", "reference", "payer_key", "date_of_service", "status", "result", "coding", "source",
    "upload_id", "checked_at", "checked_by_id", "patient_hash", "services",
)  # fmt: skip
_DATE, _RESULT, _CODING, _CHECKED_AT, _SERVICES = (
    CHECK_COLUMNS.index(name) for name in ("date_of_service", "result", "coding", "checked_at", "services")
)
FINDING_COLUMNS = ("check_run", "rule", "severity", "line", "codes", "message", "reference", "suggestion")
INSERT_BATCH = 500


def _check_columns() -> tuple[str, ...]:
    """CHECK_COLUMNS, proved to be every column of ClaimCheck but its id (a column added to the model and not here
    would otherwise be left to its database default, silently)."""
    model = {f.attname for f in ClaimCheck._meta.concrete_fields if not f.primary_key}
    if model != set(CHECK_COLUMNS):
        raise RuntimeError(f"billing.claims.checks.CHECK_COLUMNS is out of step with ClaimCheck: {sorted(model)}")
    return CHECK_COLUMNS


def _check_rows(checks: Sequence[ClaimCheck], adapt_date, adapt_datetime) -> Iterator[list]:
    """Each check's values in CHECK_COLUMNS order, dates through the backend's adapters (called once for the
    batch's one ``checked_at``), JSON encoded as the JSONField would (``json.dumps``), with the ``coding`` encoded
    once for the checks that share it (``_ResultJson``)."""
    checked_at = {}
    columns = _check_columns()
    encode = _ResultJson()
    dumps = _json
    for check in checks:
        row = [getattr(check, name) for name in columns]
        row[_RESULT], row[_CODING] = encode(row[_RESULT], row[_CODING])
        row[_SERVICES] = dumps(row[_SERVICES])
        if row[_DATE] is not None:
            row[_DATE] = adapt_date(row[_DATE])
        when = row[_CHECKED_AT]
        if when not in checked_at:
            checked_at[when] = adapt_datetime(when)
        row[_CHECKED_AT] = checked_at[when]
        yield row


_json = json.JSONEncoder().encode  # json.dumps as the JSONField calls it (no encoder), without dumps' own checks


def _text_key(entries: list) -> tuple | None:
    """A key equal for equal lists of objects whose values are text or null (equal keys: equal JSON; numbers are
    left out, True == 1 == 1.0 would share a key), None for any other list."""
    key = []
    for entry in entries:
        if not isinstance(entry, dict):
            return None
        items = tuple(entry.items())
        for name, value in items:
            if type(name) is not str or (value is not None and type(value) is not str):
                return None
        key.append(items)
    return tuple(key)


class _ResultJson:
    """A check's ``result`` and ``coding`` as JSON, the text ``json.dumps`` gives, with the coding (a third of a
    result's JSON: the releases that answered) encoded once per batch for the checks that share it (most of a batch:
    one coding per date range of the releases) and put into the result's text in its place, where it appeared
    twice (in the result and alone). The stdlib's C encoder already encodes; this only avoids encoding the same
    thing again (a placeholder string stands for the coding in the result and is replaced by the coding's text,
    when it occurs exactly once)."""

    PLACEHOLDER = "\x00coding\x00"  # a NUL character cannot be stored (config.unstorable): no result holds it

    def __init__(self):
        self.codings: dict[tuple, str] = {}
        self.placeholder = _json(self.PLACEHOLDER)

    def __call__(self, result, coding) -> tuple[str, str]:
        if not isinstance(result, dict) or result.get("coding") is not coding or not isinstance(coding, list):
            return _json(result), _json(coding)
        key = _text_key(coding)
        if key is None:  # not a list of objects of text (or null) values: encoded as it is
            return _json(result), _json(coding)
        coding_json = self.codings.get(key)
        if coding_json is None:
            coding_json = self.codings[key] = _json(coding)
        text = _json({**result, "coding": self.PLACEHOLDER})
        if text.count(self.placeholder) != 1:
            return _json(result), coding_json
        return text.replace(self.placeholder, coding_json), coding_json


def _finding_rows(checks: Iterable[ClaimCheck]) -> Iterator[tuple]:
    for check in checks:
        for f in check.result.get("findings", []):
            yield (
                check.pk,
                f["rule"],
                f["severity"],
                f.get("line"),
                f.get("codes", []),
                f.get("message", ""),
                f.get("reference", ""),
                f.get("suggestion", ""),
            )


def _insert_one_check(connection, check: ClaimCheck) -> None:
    """One check and its findings in one statement (PostgreSQL: a data-modifying WITH), atomic by itself: the API's
    path, which would otherwise open a transaction for two INSERTs (four round trips with BEGIN and COMMIT)."""
    (values,) = _check_rows([check], _same, _same)  # psycopg adapts dates and times itself
    findings = list(_finding_rows([check]))
    if findings:
        codes_field = Finding._meta.get_field("codes")
        for _check_id, rule, severity, line, codes, *texts in findings:
            values += [rule, severity, line, codes_field.get_db_prep_save(codes, connection), *texts]
    with _server_binding_cursor(connection) as cursor:
        cursor.execute(_one_check_sql(connection, len(findings)), values)
        check.pk = cursor.fetchone()[0]
    check._state.adding, check._state.db = False, connection.alias


_ONE_CHECK_SQL: dict[tuple[str, int], str] = {}  # (database alias, findings) -> the statement: built once


def _one_check_sql(connection, findings: int) -> str:
    """``_insert_one_check``'s statement for a check with ``findings`` findings (the same text each time, so the
    driver's own cache of parsed queries answers too)."""
    key = (connection.alias, findings)
    sql = _ONE_CHECK_SQL.get(key)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name
    columns = _check_columns()
    sql = (
        f"WITH c AS (INSERT INTO {quote(ClaimCheck._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608 (names from the models; values bound)
        f"VALUES ({', '.join(['%s'] * len(columns))}) RETURNING {quote(ClaimCheck._meta.pk.column)} AS id)"
    )
    if findings:
        columns = [Finding._meta.get_field(name) for name in FINDING_COLUMNS]
        casts = ["varchar", "varchar", "smallint", "jsonb", "text", "text", "text"]
        row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
        names = ", ".join(quote(f.column) for f in columns)
        sql += (
            f", f AS (INSERT INTO {quote(Finding._meta.db_table)} ({names}) "  # noqa: S608 (names from the models; values bound)
            f"SELECT c.id, v.* FROM c, (VALUES {', '.join([row] * findings)}) AS v)"
        )
    sql += " SELECT id FROM c"
    if len(_ONE_CHECK_SQL) < 1000:
        _ONE_CHECK_SQL[key] = sql
    return sql


def _history_fields(practice_id: int, payloads: Sequence[dict | None]) -> list[tuple[str, list]]:
    """(patient hash, services) for each payload: empty for a payload without a patient account or that is not a
    readable claim. The practice's key is read once, and only when some payload names a patient."""
    out: list[tuple[str, list]] = []
    key = None
    for payload in payloads:
        if not isinstance(payload, dict) or not payload.get("patient"):  # no patient account: nothing to parse for
            out.append(("", []))
            continue
        try:
            claim = parse_claim(payload)
        except ClaimInputError:
            claim = None
        if claim is None or not claim.patient_account:
            out.append(("", []))
            continue
        if key is None:
            from practice.models import Practice

            key = Practice.objects.get(pk=practice_id).patient_hmac_key()
        out.append((patient_hash(key, claim.patient_account), [s.to_json() for s in services_of(claim)]))
    return out


def _copy_checks(connection, checks: Sequence[ClaimCheck]) -> None:
    """PostgreSQL: the batch's ids in one query (nextval over generate_series), then its rows with one COPY.

    COPY, rather than a multi-row INSERT: psycopg parsed each 7,000-placeholder INSERT's text in Python and the
    server planned it; COPY streams the rows, formatted by psycopg's C code, and the server neither parses nor
    plans a statement per batch. The ids are drawn first so that the findings can name their checks."""
    table, pk = ClaimCheck._meta.db_table, ClaimCheck._meta.pk.column
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(s) FROM (SELECT pg_get_serial_sequence(%s, %s)::regclass AS s) AS q, "
            "generate_series(1, %s) ORDER BY 1",
            [quote(table), pk, len(checks)],
        )
        ids = [i for (i,) in cursor.fetchall()]
    for check, pk_value in zip(checks, ids):
        check.pk = pk_value
    columns = ", ".join(quote(c) for c in (pk, *_check_columns()))
    rows = _check_rows(checks, _same, _same)  # psycopg formats dates and times itself
    sql = f"COPY {quote(table)} ({columns}) FROM STDIN"  # noqa: S608 (names from the model)
    with connection.wrap_database_errors, connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        write = copy.write_row
        for check, row in zip(checks, rows):
            write([check.pk, *row])


def _copy_findings(connection, rows: Iterable[tuple]) -> None:
    """PostgreSQL: findings with one COPY (was one INSERT per finding, executemany: a round of parse, bind and
    execute on the server for each of the ~3.5 findings of a claim)."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(Finding._meta.get_field(name).column) for name in FINDING_COLUMNS)
    table = quote(Finding._meta.db_table)
    dumps, codes_json = _json, {}
    sql = f"COPY {table} ({columns}) FROM STDIN"  # noqa: S608 (names from the model)
    with connection.wrap_database_errors, connection.connection.cursor() as cursor, cursor.copy(sql) as copy:
        write = copy.write_row
        for check_id, rule, severity, line, codes, *texts in rows:
            if type(codes) is list and all(type(code) is str for code in codes):  # the usual: the same few lists
                key = tuple(codes)
                encoded = codes_json.get(key)
                if encoded is None:
                    encoded = codes_json[key] = dumps(codes)
            else:
                encoded = dumps(codes)
            write((check_id, rule, severity, line, encoded, *texts))


def _same(value):
    return value


def _insert_checks(connection, checks: Sequence[ClaimCheck]) -> None:
    """Other databases (SQLite): one multi-row INSERT ... RETURNING per batch, values straight from the instances
    (the ORM's compiler preparing each field of each row was half of the store); each check gets its id, as with
    bulk_create. The query runs through Django's cursor (logging, execute wrappers)."""
    if not connection.features.can_return_rows_from_bulk_insert:
        ClaimCheck.objects.bulk_create(checks, batch_size=INSERT_BATCH)
        return
    quote = connection.ops.quote_name
    names = _check_columns()
    columns = ", ".join(quote(c) for c in names)
    row = f"({', '.join(['%s'] * len(names))})"
    size = INSERT_BATCH
    if connection.features.max_query_params:  # SQLite: at most 32,766 parameters a statement
        size = max(1, min(size, connection.features.max_query_params // len(names)))
    ops = connection.ops
    rows = list(_check_rows(checks, ops.adapt_datefield_value, ops.adapt_datetimefield_value))
    with connection.cursor() as cursor:
        for start in range(0, len(checks), size):
            batch = rows[start : start + size]
            cursor.execute(
                f"INSERT INTO {quote(ClaimCheck._meta.db_table)} ({columns}) "  # noqa: S608 (names from the model)
                f"VALUES {', '.join([row] * len(batch))} RETURNING {quote(ClaimCheck._meta.pk.column)}",
                [value for values in batch for value in values],
            )
            for check, (pk,) in zip(checks[start : start + size], cursor.fetchall()):
                check.pk = pk


def _insert_findings(connection, rows: Iterable[tuple]) -> int:
    """Other databases (SQLite): findings with one ``executemany`` of a single INSERT: what ``bulk_create`` does,
    without building a model instance and compiling SQL for each of the thousands of findings of a batch."""
    quote = connection.ops.quote_name
    table = quote(Finding._meta.db_table)
    columns = ", ".join(quote(Finding._meta.get_field(name).column) for name in FINDING_COLUMNS)
    marks = ", ".join(["%s"] * len(FINDING_COLUMNS))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from the model; values bound)
    dumps = _json
    prepared = [
        (check_id, rule, severity, line, dumps(codes), *texts) for check_id, rule, severity, line, codes, *texts in rows
    ]
    if prepared:
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)
    return len(prepared)


def _server_binding_cursor(connection):
    """A Django cursor (logging, execute wrappers, error wrapping) whose parameters PostgreSQL binds itself,
    whatever the connection's ``server_side_binding`` option says."""
    import psycopg

    connection.ensure_connection()
    return connection._prepare_cursor(psycopg.Cursor(connection.connection))


def _reference(claim, result) -> str:
    """The claim's name: its draft's reference, else the upload's claim_ref or the payload's reference."""
    if claim is not None and claim.reference:
        return claim.reference
    name = result.get("claim_ref") or result.get("reference") or ""
    return name[:40] if isinstance(name, str) else ""


def _payer_key(claim, result) -> str:
    if claim is not None:
        return claim.payer.key
    return result.get("payer", "")


def check_payload(
    payload: dict,
    practice_id: int,
    *,
    user=None,
    source: str = "api",
    stamp: tuple | None = None,
    text_checked: bool = False,
) -> tuple[dict, ClaimCheck]:
    """Check one claim payload (API, CLI) and keep the check. ``stamp``: see ``Checker.shared``; ``text_checked``:
    see ``parse_claim``."""
    checker = Checker.shared(stamp)
    result = checker.check(payload, practice_id, text_checked=text_checked)
    result_to_store = {**result, "payer": payload.get("payer", "")}
    check = store_checks(practice_id, [result_to_store], user=user, source=source, payloads=[payload])[0]
    return result, check


def draft_payload(claim: DraftClaim) -> dict:
    """A draft claim in the contract's claim format."""
    return {
        "payer": claim.payer.key,
        "claim_type": claim.claim_type,
        "place_of_service": claim.place_of_service,
        "date_of_service": claim.date_of_service.isoformat(),
        "submitted_on": claim.submitted_on.isoformat() if claim.submitted_on else None,
        "rendering_npi": claim.rendering_npi or None,
        "diagnoses": list(claim.diagnoses or []),
        "clinical_trial_number": claim.clinical_trial_number or None,
        "prior_authorization_number": claim.prior_authorization_number or None,
        "condition_codes": list(claim.condition_codes or []),
        **({"location": claim.location} if claim.location else {}),
        "lines": [
            {
                "code": line.code,
                "modifiers": list(line.modifiers or []),
                "units": line.units,
                "diagnosis_pointers": list(line.diagnosis_pointers or []),
                "charge": str(line.charge) if line.charge is not None else None,
                **({"date_of_service": line.date_of_service.isoformat()} if line.date_of_service else {}),
            }
            for line in claim.lines.all()
        ],
    }


def check_drafts(claims: Iterable[DraftClaim], *, user=None, checker: Checker | None = None) -> list[ClaimCheck]:
    """Check draft claims (the admin's button and bulk action), keep the checks, update each claim's status."""
    claims = list(claims)
    if not claims:
        return []
    checker = checker or Checker.create()
    out: list[ClaimCheck] = []
    by_practice: dict[int, list[tuple[DraftClaim, dict]]] = {}
    payloads = [draft_payload(claim) for claim in claims]
    checker.prefetch(payloads)
    for claim, payload in zip(claims, payloads):
        try:
            result = checker.check(payload, claim.practice_id)
        except ClaimInputError as exc:
            result = input_error_result(claim.date_of_service, exc)
        by_practice.setdefault(claim.practice_id, []).append((claim, result))
    now = timezone.now()
    for practice_id, pairs in by_practice.items():
        out.extend(
            store_checks(practice_id, [r for _, r in pairs], claims=[c for c, _ in pairs], user=user, source="admin")
        )
        for claim, result in pairs:
            # a new check replaces the verdict: a claim that was ready is ready no more until marked again
            DraftClaim.objects.filter(pk=claim.pk).update(
                status=result["status"], last_checked_at=now, ready_at=None, ready_by=None
            )
            claim.status, claim.last_checked_at = result["status"], now
    return out


def input_error_result(date_of_service: date | None, exc: ClaimInputError) -> dict:
    """A stored draft that cannot be read as a claim (e.g. 13 diagnoses typed in) checks as errors, by field.
    ``date_of_service`` None: the claim's date could not be read (never replaced by another day)."""
    return {
        "status": ClaimStatus.ERROR.value,
        "date_of_service": date_of_service.isoformat() if date_of_service else None,
        "coding": [],
        "findings": [
            {
                "rule": "CLAIM_INPUT_INVALID",
                "severity": "error",
                "codes": [],
                "message": f"{field}: {message}",
                "reference": "Claim format (contract)",
                "suggestion": "Correct the field and check again.",
            }
            for field, message in exc.errors.items()
        ],
    }
