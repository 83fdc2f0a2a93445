"""The shared Checker: what a run of claim checks reads once (the releases and the payer rules) and asks per claim.

The pure engine (billing.checking) does the work; the Checker feeds it the coding snapshot as of each date of
service (codes.selectors.SnapshotFactory), the payer rules in force (practice.selectors.RuleBook), the claim's
location and the patient's earlier services. ``Checker.shared`` keeps one per process for one-claim checks (the
API), rebuilt when its stamp (``stamp_for_token``, ``_stamp``) says something it read has changed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db import connections, router
from django.utils import timezone

from billing.checking.claim import Claim, ClaimInputError, parse_claim
from billing.checking.engine import check_claim
from billing.checking.history import PastService, patient_hash, services_of
from billing.models import ClaimCheck
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

    def check(self, payload: dict, practice_id: int | None, *, text_checked: bool = False) -> dict:
        """The contract's result for one claim payload. Raises ClaimInputError for malformed input.
        ``text_checked``: see ``parse_claim``."""
        claim = parse_claim(payload, today=self.today, text_checked=text_checked)
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


_STAMP_SQL: dict[str, str] = {}  # by database vendor: built once (the history managers cost 3 ms to look up)


def _stamp_sql(connection) -> str:
    """The columns and joins of the Checker's stamp (``{source}`` and ``{where}`` filled in by the caller): the loaded
    releases, the latest payer and payer-rule history ids and the practice locations' latest change and count."""
    sql = _STAMP_SQL.get(connection.vendor)
    if sql is None:
        sql = _STAMP_SQL[connection.vendor] = _build_stamp_sql(connection)
    return sql


def _build_stamp_sql(connection) -> str:
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
