"""Claim checks as services: a payload or a draft claim in, a stored check with its findings out.

The pure engine (billing.checking) does the work; this module feeds it the coding snapshot as of each date
of service (codes.selectors.SnapshotFactory) and the payer rules in force (practice.selectors.RuleBook), and
keeps each check with its findings and the releases that answered, so it can be explained later.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from django.db import connections, router, transaction
from django.utils import timezone

from billing.checking.claim import ClaimInputError, parse_claim
from billing.checking.engine import check_claim
from billing.models import ClaimCheck, ClaimStatus, DraftClaim, Finding
from codes.selectors import SnapshotFactory
from practice.selectors import RuleBook


@dataclass
class Checker:
    """What a run of checks shares: one read of the releases and one of the payer rules."""

    snapshots: SnapshotFactory
    rulebook: RuleBook
    today: date

    @classmethod
    def create(cls, today: date | None = None) -> Checker:
        return cls(SnapshotFactory(), RuleBook.load(), today or timezone.localdate())

    @classmethod
    def shared(cls, stamp: tuple | None = None) -> Checker:
        """A Checker kept by this process for one-claim checks (the API), while nothing it read has changed.

        Reading the releases, payers and rules again for every call was half an API call's time. Instead one
        light query per call compares a stamp: today's date, the releases in force (id, dates, status), and the
        highest history id of payers and payer rules (django-simple-history writes one on every save and
        delete of either, admin or script). Any difference builds a fresh Checker. ``stamp``: those rows when the
        caller read them already (``stamp_for_token``, the API's one query).
        """
        global _shared
        stamp = (timezone.localdate(), *(_stamp() if stamp is None else stamp))
        with _shared_lock:
            if _shared is not None and _shared[0] == stamp and len(_shared[1].snapshots._snapshots) < 5000:
                return _shared[1]
        checker = cls.create(today=stamp[0])
        with _shared_lock:
            _shared = (stamp, checker)
        return checker

    def check(self, payload: dict, practice_id: int | None) -> dict:
        """The contract's result for one claim payload. Raises ClaimInputError for malformed input."""
        claim = parse_claim(payload, today=self.today)
        payer = self.rulebook.payer(claim.payer)
        result = check_claim(
            claim,
            self.snapshots,
            payer,
            lambda on: self.rulebook.rules_for(claim.payer, on, practice_id),
            self.today,
        )
        return result.to_dict()

    def prefetch(self, payloads: Iterable[dict]) -> None:
        """Ready a batch: the NCCI PTP pairs among all its codes, on all its dates, read with one query per
        release in force, so each claim's check then asks the database nothing (a chunk of 500 claims costs
        one PTP query instead of one per claim). Malformed payloads are skipped: their check says why."""
        codes: set[str] = set()
        dates: set[date] = set()
        for payload in payloads:
            lines = payload.get("lines") if isinstance(payload, dict) else None
            if not isinstance(lines, list):
                continue
            lines = [line for line in lines if isinstance(line, dict)]
            codes.update(line["code"] for line in lines if isinstance(line.get("code"), str))
            for value in [payload.get("date_of_service"), *(line.get("date_of_service") for line in lines)]:
                if on := _iso_date(value):
                    dates.add(on)
        if codes and dates:
            self.snapshots.prefetch_ptp(codes, dates)


_shared_lock = threading.Lock()
_shared: tuple[tuple, Checker] | None = None


def _stamp_sql(connection) -> str:
    from codes.models import Release
    from practice.models import Payer, PayerRule

    quote = connection.ops.quote_name
    payers = quote(Payer.history.model._meta.db_table)
    rules = quote(PayerRule.history.model._meta.db_table)
    releases = quote(Release._meta.db_table)
    return (
        f"(SELECT MAX(history_id) FROM {payers}), (SELECT MAX(history_id) FROM {rules}), "  # noqa: S608
        f"r.id, r.status, r.effective_from, r.effective_to FROM {{source}} "
        f"LEFT JOIN {releases} AS r ON r.status = %s {{where}} ORDER BY r.id"
    )


def _stamp() -> tuple:
    """What a Checker read, in one query: the loaded releases and the latest payer and payer-rule history ids."""
    from codes.models import Release

    connection = connections[router.db_for_read(Release)]
    sql = "SELECT " + _stamp_sql(connection).format(source="(SELECT 1 AS one) AS x", where="")
    with connection.cursor() as cursor:
        cursor.execute(sql, [Release.Status.LOADED])
        return tuple(cursor.fetchall())


def stamp_for_token(key: str) -> tuple[int, int | None, tuple] | None:
    """An API call's one query: the token's user id, the access generation (``practice.access``) and the Checker's
    stamp (``_stamp``). None when no token has that key."""
    from rest_framework.authtoken.models import Token

    from codes.models import Release
    from practice.models import AccessStamp

    connection = connections[router.db_for_read(Release)]
    quote = connection.ops.quote_name
    source = f"{quote(Token._meta.db_table)} AS t LEFT JOIN {quote(AccessStamp._meta.db_table)} AS g ON g.id = 1"
    sql = "SELECT t.user_id, g.generation, " + _stamp_sql(connection).format(source=source, where="WHERE t.key = %s")
    with connection.cursor() as cursor:
        cursor.execute(sql, [Release.Status.LOADED, key])
        rows = cursor.fetchall()
    if not rows:
        return None
    return rows[0][0], rows[0][1], tuple(row[2:] for row in rows)


def reset_shared_checker() -> None:
    """Forget the process's shared Checker (tests, after rolling back what it read)."""
    global _shared
    with _shared_lock:
        _shared = None


def _iso_date(value) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        return None


def store_checks(
    practice_id: int,
    results: Sequence[dict],
    *,
    claims: Sequence[DraftClaim | None] | None = None,
    user=None,
    source: str = "api",
    upload=None,
) -> list[ClaimCheck]:
    """Keep checks and their findings with two bulk inserts (no query per finding). ``upload``: the batch
    upload they come from."""
    claims = claims or [None] * len(results)
    checks = [
        ClaimCheck(
            practice_id=practice_id,
            claim=claim,
            payer_key=_payer_key(claim, result),
            date_of_service=date.fromisoformat(result["date_of_service"]),
            status=result["status"],
            result=result,
            coding=result.get("coding", []),
            source=source,
            checked_by=user if getattr(user, "pk", None) else None,
            upload=upload,
        )
        for claim, result in zip(claims, results)
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
    quote = connection.ops.quote_name
    fields = [f for f in ClaimCheck._meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(check, True), connection) for f in fields]
    sql = (
        f"WITH c AS (INSERT INTO {quote(ClaimCheck._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608 (names from the models; values bound)
        f"VALUES ({', '.join(['%s'] * len(fields))}) RETURNING {quote(ClaimCheck._meta.pk.column)} AS id)"
    )
    findings = list(_finding_rows([check]))
    if findings:
        columns = [Finding._meta.get_field(name) for name in FINDING_COLUMNS]
        codes_field = columns[FINDING_COLUMNS.index("codes")]
        casts = ["varchar", "varchar", "smallint", "jsonb", "text", "text", "text"]
        row = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ")"
        names = ", ".join(quote(f.column) for f in columns)
        sql += (
            f", f AS (INSERT INTO {quote(Finding._meta.db_table)} ({names}) "  # noqa: S608 (names from the models; values bound)
            f"SELECT c.id, v.* FROM c, (VALUES {', '.join([row] * len(findings))}) AS v)"
        )
        for _check_id, rule, severity, line, codes, *texts in findings:
            values += [rule, severity, line, codes_field.get_db_prep_save(codes, connection), *texts]
    with _server_binding_cursor(connection) as cursor:
        cursor.execute(sql + " SELECT id FROM c", values)  # noqa: S608 (built above from model names only)
        check.pk = cursor.fetchone()[0]
    check._state.adding, check._state.db = False, connection.alias


FINDING_COLUMNS = ("check_run", "rule", "severity", "line", "codes", "message", "reference", "suggestion")
INSERT_BATCH = 500


def _insert_checks(checks: list[ClaimCheck]) -> None:
    """``bulk_create``, faster on PostgreSQL for batches of large JSON results.

    There Django binds parameters in Python (client-side) and inserts through UNNEST of arrays: a batch of 500
    results (about 3 kB of JSON each) spent most of its time escaping every quote of the JSON into array
    literals. One INSERT of all the rows, bound by the server, takes a quarter of the time. The query still
    runs through Django's cursor (logging, execute wrappers). Each check gets its id, as with bulk_create.
    """
    connection = connections[router.db_for_write(ClaimCheck)]
    if connection.vendor != "postgresql" or len(checks) < 2:
        ClaimCheck.objects.bulk_create(checks, batch_size=INSERT_BATCH)
        return
    quote = connection.ops.quote_name
    fields = [f for f in ClaimCheck._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(quote(f.column) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    with _server_binding_cursor(connection) as cursor:
        for start in range(0, len(checks), INSERT_BATCH):
            batch = checks[start : start + INSERT_BATCH]
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


def _payer_key(claim, result) -> str:
    if claim is not None:
        return claim.payer.key
    return result.get("payer", "")


def check_payload(
    payload: dict, practice_id: int, *, user=None, source: str = "api", stamp: tuple | None = None
) -> tuple[dict, ClaimCheck]:
    """Check one claim payload (API, CLI) and keep the check. ``stamp``: see ``Checker.shared``."""
    checker = Checker.shared(stamp)
    result = checker.check(payload, practice_id)
    result_to_store = {**result, "payer": payload.get("payer", "")}
    check = store_checks(practice_id, [result_to_store], user=user, source=source)[0]
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
            DraftClaim.objects.filter(pk=claim.pk).update(status=result["status"], last_checked_at=now)
            claim.status, claim.last_checked_at = result["status"], now
    return out


def input_error_result(date_of_service: date, exc: ClaimInputError) -> dict:
    """A stored draft that cannot be read as a claim (e.g. 13 diagnoses typed in) checks as errors, by field."""
    return {
        "status": ClaimStatus.ERROR.value,
        "date_of_service": date_of_service.isoformat(),
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
