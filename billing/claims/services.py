"""Claim checks as services: a payload or a draft claim in, a stored check with its findings out.

The pure engine (billing.checking) does the work; this module feeds it the coding snapshot as of each date
of service (codes.selectors.SnapshotFactory) and the payer rules in force (practice.selectors.RuleBook), and
keeps each check with its findings and the releases that answered, so it can be explained later.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connections, router, transaction
from django.utils import timezone

from billing.checking.claim import Claim, ClaimInputError, parse_claim
from billing.checking.engine import check_claim
from billing.checking.history import PastService, patient_hash, services_of
from billing.claims import readiness
from billing.models import ClaimCheck, ClaimNote, ClaimStatus, DraftClaim, Finding
from codes.selectors import SnapshotFactory
from practice.policy import LocationInfo
from practice.selectors import RuleBook


@dataclass
class Checker:
    """What a run of checks shares: one read of the releases and one of the payer rules."""

    snapshots: SnapshotFactory
    rulebook: RuleBook
    today: date
    # A batch (``create``) remembers each checked claim's services, so a later claim of the same patient in the
    # same batch counts them; the shared one-claim Checker (``shared``) does not.
    remember_batch: bool = True
    _locations: dict = field(default_factory=dict)  # practice id -> (locations by key, main location)
    _patient_keys: dict = field(default_factory=dict)  # practice id -> HMAC key
    _batch: dict = field(default_factory=dict)  # (practice id, patient hash) -> [PastService]
    _all_locations: bool = False  # every practice's locations were read (prefetch)

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
        checker.remember_batch = False
        with _shared_lock:
            _shared = (stamp, checker)
        return checker

    def check(self, payload: dict, practice_id: int | None) -> dict:
        """The contract's result for one claim payload. Raises ClaimInputError for malformed input."""
        claim = parse_claim(payload, today=self.today)
        location = self.location(claim, practice_id)
        patient = self.patient(claim, practice_id)
        history = self.history(practice_id, patient, claim) if patient else None
        payer = self.rulebook.payer(claim.payer)
        result = check_claim(
            claim,
            self.snapshots,
            payer,
            lambda on: self.rulebook.rules_for(claim.payer, on, practice_id),
            self.today,
            location=location,
            history=history,
        )
        if patient and self.remember_batch:
            self._batch.setdefault((practice_id, patient), []).extend(services_of(claim))
        return result.to_dict()

    # ---- where, and who -------------------------------------------------------------------------------
    def location(self, claim: Claim, practice_id: int | None) -> LocationInfo | None:
        """The claim's location (by key), else the practice's main one (or its only one); None when unknown.
        A key the practice does not have is an input error naming the field. One query per practice."""
        if practice_id is None:
            if claim.location:
                raise ClaimInputError({"location": "A location can only be named for a practice's claim."})
            return None
        if practice_id not in self._locations:
            if self._all_locations:
                self._locations[practice_id] = ({}, None)  # a practice with no location
            else:
                self._read_locations(practice_id)
        by_key, main = self._locations[practice_id]
        if not claim.location:
            return main
        found = by_key.get(claim.location)
        if found is None:
            known = ", ".join(sorted(by_key)) or "none has a key yet"
            raise ClaimInputError({"location": f'No location "{claim.location}" at this practice (its keys: {known}).'})
        return found

    def _read_locations(self, practice_id: int | None = None) -> None:
        """Every location of one practice (or, for a batch, of every practice) in one query."""
        from practice.models import Location

        rows = Location.objects.order_by("practice_id", "id")
        if practice_id is not None:
            rows = rows.filter(practice_id=practice_id)
            self._locations[practice_id] = ({}, None)
        grouped: dict[int, list] = {}
        for loc in rows:
            grouped.setdefault(loc.practice_id, []).append(loc)
        for pid, locs in grouped.items():
            main = next((loc for loc in locs if loc.is_main), locs[0] if len(locs) == 1 else None)
            self._locations[pid] = (
                {loc.key: loc.as_info() for loc in locs if loc.key},
                main.as_info() if main else None,
            )
        self._all_locations = practice_id is None

    def patient(self, claim: Claim, practice_id: int | None) -> str | None:
        """The claim's patient as the practice's keyed hash; None without an account number or a practice."""
        if not claim.patient_account or practice_id is None:
            return None
        return patient_hash(self.patient_key(practice_id), claim.patient_account)

    def patient_key(self, practice_id: int) -> bytes:
        key = self._patient_keys.get(practice_id)
        if key is None:
            from practice.models import Practice

            key = self._patient_keys[practice_id] = Practice.objects.get(pk=practice_id).patient_hmac_key()
        return key

    def history(self, practice_id: int, patient: str, claim: Claim) -> list[PastService]:
        """The patient's services kept with earlier checks in the longest window of the payer's frequency rules
        (one query), plus those of earlier claims in this batch."""
        dates = claim.service_dates()
        windows = [
            rule.frequency.window_days
            for on in dates
            for rule in self.rulebook.rules_for(claim.payer, on, practice_id)
            if rule.frequency is not None
        ]
        out = list(self._batch.get((practice_id, patient), ()))
        if not windows:
            return out
        since = dates[0] - timedelta(days=max(windows))
        stored = ClaimCheck.objects.filter(
            practice_id=practice_id, patient_hash=patient, date_of_service__gte=since
        ).values_list("services", flat=True)
        for services in stored:
            out.extend(PastService.from_json(s) for s in services or ())
        return out

    def prefetch(self, payloads: Iterable[dict]) -> None:
        """Ready a batch: the NCCI PTP pairs among all its codes, on all its dates, read with one query per
        release in force, and every practice location with one more, so each claim's check then asks the
        database nothing (a chunk of 500 claims costs one PTP query instead of one per claim; a claim naming a
        patient asks one query for the patient's history). Malformed payloads are skipped: their check says
        why."""
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
        if not self._all_locations:
            self._read_locations()  # one query for every practice's locations: the batch then asks none


_shared_lock = threading.Lock()
_shared: tuple[tuple, Checker] | None = None


def _stamp_sql(connection) -> str:
    """The columns and joins of the Checker's stamp (``{source}`` and ``{where}`` filled in by the caller): the loaded
    releases, the latest payer and payer-rule history ids and the practice locations' latest change and count."""
    from codes.models import Release
    from practice.models import Location, Payer, PayerRule

    quote = connection.ops.quote_name
    payers = quote(Payer.history.model._meta.db_table)
    rules = quote(PayerRule.history.model._meta.db_table)
    releases = quote(Release._meta.db_table)
    locations = quote(Location._meta.db_table)  # locations (keys, ZIPs) decide which scoped rules apply
    return (
        f"(SELECT MAX(history_id) FROM {payers}), (SELECT MAX(history_id) FROM {rules}), "  # noqa: S608
        f"(SELECT MAX(updated_at) FROM {locations}), (SELECT COUNT(*) FROM {locations}), "
        f"r.id, r.status, r.effective_from, r.effective_to FROM {{source}} "
        f"LEFT JOIN {releases} AS r ON r.status = %s {{where}} ORDER BY r.id"
    )


def _stamp() -> tuple:
    """What a Checker read, in one query (``_stamp_sql``)."""
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


def _history_fields(practice_id: int, payloads: Sequence[dict | None]) -> list[tuple[str, list]]:
    """(patient hash, services) for each payload: empty for a payload without a patient account or that is not a
    readable claim. The practice's key is read once, and only when some payload names a patient."""
    out: list[tuple[str, list]] = []
    key = None
    for payload in payloads:
        try:
            claim = parse_claim(payload) if isinstance(payload, dict) else None
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
    payload: dict, practice_id: int, *, user=None, source: str = "api", stamp: tuple | None = None
) -> tuple[dict, ClaimCheck]:
    """Check one claim payload (API, CLI) and keep the check. ``stamp``: see ``Checker.shared``."""
    checker = Checker.shared(stamp)
    result = checker.check(payload, practice_id)
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


# ---- ready to send, notes and overrides (billing.claims.readiness has the rule) ----------------------------------


def latest_checks(claim_ids: Iterable[int]) -> dict[int, ClaimCheck]:
    """Each claim's latest check, in one query."""
    from django.db.models import Max

    claim_ids = list(claim_ids)
    last = (
        ClaimCheck.objects.filter(claim_id__in=claim_ids)
        .values("claim_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {c.claim_id: c for c in ClaimCheck.objects.filter(id__in=list(last))}


def overridden_rules(claims: Sequence[DraftClaim]) -> dict[int, set[str]]:
    """The findings overridden on each claim since its last edit (an edit asks for a new look)."""
    out: dict[int, set[str]] = {c.pk: set() for c in claims}
    edited = {c.pk: c.edited_at for c in claims}
    notes = ClaimNote.objects.filter(claim_id__in=list(out), kind=ClaimNote.Kind.OVERRIDE)
    for claim_id, rule, created_at in notes.values_list("claim_id", "rule", "created_at"):
        if edited[claim_id] is None or created_at >= edited[claim_id]:
            out[claim_id].add(rule)
    return out


def not_ready(claims: Sequence[DraftClaim]) -> dict[int, list[str]]:
    """claim id -> why it is not validated (empty list: it may be marked ready)."""
    checks = latest_checks(c.pk for c in claims)
    overrides = overridden_rules(claims)
    out = {}
    for claim in claims:
        check = checks.get(claim.pk)
        latest = readiness.LatestCheck(check.checked_at, tuple(check.result.get("findings", []))) if check else None
        out[claim.pk] = readiness.not_ready_reasons(latest, claim.edited_at, overrides[claim.pk])
    return out


@dataclass
class ReadyOutcome:
    marked: int = 0
    already: int = 0  # were ready before
    overridden: int = 0  # marked ready with the user's override reason
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> claims left as they were

    def message(self) -> str:
        text = f"{self.marked} claim(s) marked ready"
        if self.overridden:
            text += f" ({self.overridden} with your override reason, kept as a claim note)"
        if self.already:
            text += f"; {self.already} already ready"
        skipped = sum(self.skipped.values())
        if skipped:
            why = ", ".join(f"{n} {reason}" for reason, n in self.skipped.items())
            text += f"; {skipped} not marked ({why}): give an override reason to mark them anyway"
        return text + "."


def mark_ready(claims: Sequence[DraftClaim], *, user, reason: str = "") -> ReadyOutcome:
    """Mark validated claims ready; with a ``reason``, the others too, each keeping the reason as a claim note.
    Counts come from the claims as read, before any update (never a negative "skipped")."""
    reason = reason.strip()
    outcome = ReadyOutcome(skipped={})
    todo = [c for c in claims if c.status != ClaimStatus.READY]
    outcome.already = len(claims) - len(todo)
    problems = not_ready(todo)
    ok, forced = [], []
    for claim in todo:
        why = problems[claim.pk]
        if not why:
            ok.append(claim)
        elif reason:
            forced.append((claim, why))
        else:
            for r in why[:1]:
                outcome.skipped[r] = outcome.skipped.get(r, 0) + 1
    now = timezone.now()
    with transaction.atomic():
        ids = [c.pk for c in ok] + [c.pk for c, _ in forced]
        DraftClaim.objects.filter(pk__in=ids).update(status=ClaimStatus.READY, ready_at=now, ready_by=user)
        ClaimNote.objects.bulk_create(
            ClaimNote(
                claim=claim,
                kind=ClaimNote.Kind.READY_OVERRIDE,
                text=f"{reason} (not validated: {', '.join(why)})",
                author=user,
            )
            for claim, why in forced
        )
    outcome.marked, outcome.overridden = len(ids), len(forced)
    return outcome


def override_finding(claim: DraftClaim, rule: str, reason: str, *, user) -> ClaimNote:
    """Override one finding of the claim's latest check, with the reason kept as a claim note."""
    check = latest_checks([claim.pk]).get(claim.pk)
    return ClaimNote.objects.create(
        claim=claim, kind=ClaimNote.Kind.OVERRIDE, rule=rule, check_run=check, text=reason.strip(), author=user
    )


def overrides_of(claim: DraftClaim) -> dict[str, ClaimNote]:
    """rule -> the latest override note of that finding on the claim since its last edit."""
    notes = claim.notes.filter(kind=ClaimNote.Kind.OVERRIDE).select_related("author").order_by("created_at", "id")
    if claim.edited_at is not None:
        notes = notes.filter(created_at__gte=claim.edited_at)
    return {note.rule: note for note in notes}


def latest_notes(claim_ids: Sequence[int]) -> dict[int, ClaimNote]:
    """Each claim's latest note (two queries, whatever the number of claims)."""
    from django.db.models import Max

    last = ClaimNote.objects.filter(claim_id__in=list(claim_ids)).values("claim_id").annotate(last=Max("id"))
    ids = [row["last"] for row in last]
    return {n.claim_id: n for n in ClaimNote.objects.filter(id__in=ids).select_related("author")}
