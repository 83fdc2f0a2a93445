"""Claim checks as services: a payload or a draft claim in, a stored check with its findings out.

The shared Checker (billing.claims.checker) checks; this module keeps each check with its findings and the
releases that answered, so it can be explained later, and sets each draft claim's status from its check.
"""

from __future__ import annotations

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
    """Keep checks and their findings with two bulk inserts (no query per finding). ``upload``: the batch
    upload they come from; ``payloads``: the claims checked, in the same order, so that a claim naming a patient
    account keeps the patient's keyed hash and its services for later frequency checks."""
    claims = claims or [None] * len(results)
    history = _history_fields(practice_id, payloads or [None] * len(results))
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
            checked_by=user if getattr(user, "pk", None) else None,
            upload=upload,
            patient_hash=patient,
            services=services,
        )
        for claim, result, (patient, services) in zip(claims, results, history)
    ]
    connection = connections[router.db_for_write(ClaimCheck)]
    if len(checks) == 1 and connection.vendor == "postgresql":
        _insert_one_check(connection, checks[0])  # one statement: no transaction to open and commit
        return checks
    with transaction.atomic():
        _insert_checks(checks)
        _insert_findings(_finding_rows(checks))
    return checks


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
    fields = _check_fields()
    values = [f.get_db_prep_save(f.pre_save(check, True), connection) for f in fields]
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


def _check_fields() -> list:
    return [f for f in ClaimCheck._meta.concrete_fields if not f.primary_key]


def _one_check_sql(connection, findings: int) -> str:
    """``_insert_one_check``'s statement for a check with ``findings`` findings (the same text each time, so the
    driver's own cache of parsed queries answers too)."""
    key = (connection.alias, findings)
    sql = _ONE_CHECK_SQL.get(key)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name
    fields = _check_fields()
    sql = (
        f"WITH c AS (INSERT INTO {quote(ClaimCheck._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (names from the models; values bound)
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(ClaimCheck._meta.pk.column)} AS id)"
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


FINDING_COLUMNS = ("check_run", "rule", "severity", "line", "codes", "message", "reference", "suggestion")
INSERT_BATCH = 500


def _insert_checks(checks: list[ClaimCheck]) -> None:
    """``bulk_create`` without the ORM's per-row SQL compilation: one multi-row INSERT ... RETURNING per batch.

    On PostgreSQL Django binds parameters in Python (client-side) and inserts through UNNEST of arrays: a batch
    of 500 results (about 3 kB of JSON each) spent most of its time escaping every quote of the JSON into array
    literals; bound by the server, it takes a quarter of the time. On SQLite the ORM's compiler preparing each
    field of each row was half of the store. The query still runs through Django's cursor (logging, execute
    wrappers). Each check gets its id, as with bulk_create (RETURNING, as bulk_create uses it)."""
    connection = connections[router.db_for_write(ClaimCheck)]
    if not checks:
        return
    if not connection.features.can_return_rows_from_bulk_insert:
        ClaimCheck.objects.bulk_create(checks, batch_size=INSERT_BATCH)
        return
    quote = connection.ops.quote_name
    fields = [f for f in ClaimCheck._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    size = INSERT_BATCH
    if connection.features.max_query_params:  # SQLite: at most 32,766 parameters a statement
        size = max(1, min(size, connection.features.max_query_params // len(fields)))
    cursor = _server_binding_cursor(connection) if connection.vendor == "postgresql" else connection.cursor()
    with cursor:
        for start in range(0, len(checks), size):
            batch = checks[start : start + size]
            values = [f.get_db_prep_save(f.pre_save(check, True), connection) for check in batch for f in fields]
            cursor.execute(
                f"INSERT INTO {quote(ClaimCheck._meta.db_table)} ({columns}) "  # noqa: S608 (names from the model)
                f"VALUES {', '.join([row] * len(batch))} RETURNING {quote(ClaimCheck._meta.pk.column)}",
                values,
            )
            for check, (pk,) in zip(batch, cursor.fetchall()):
                check.pk = pk
                check._state.adding, check._state.db = False, connection.alias


def _insert_findings(rows: Iterable[tuple]) -> int:
    """Insert findings as (check id, rule, severity, line, codes, message, reference, suggestion) with one
    ``executemany`` of a single INSERT: what ``bulk_create`` does, without building a model instance and
    compiling SQL for each of the thousands of findings of a batch (the store was half a chunk's time)."""
    connection = connections[router.db_for_write(Finding)]
    quote = connection.ops.quote_name
    fields = [Finding._meta.get_field(name) for name in FINDING_COLUMNS]
    codes_field = fields[FINDING_COLUMNS.index("codes")]
    table, columns = quote(Finding._meta.db_table), ", ".join(quote(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (names from the model; values bound)
    prepared = [
        (check_id, rule, severity, line, codes_field.get_db_prep_save(codes, connection), *texts)
        for check_id, rule, severity, line, codes, *texts in rows
    ]
    if prepared:
        cursor = _server_binding_cursor(connection) if connection.vendor == "postgresql" else connection.cursor()
        with cursor:
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
