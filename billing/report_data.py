"""The check report's input from the database: one ``CheckRecord`` per checked claim, streamed.

A claim checked several times in the period counts once, by its latest check in the period (the highest id:
checks are stored in the order they were made); checks made without a draft claim (API, command line) count
each. Two queries stream the rows, both with ``.iterator()`` and in id order: the checks (with their claim's
reference) and the rule ids of their findings, merged in Python -- no query per row, no JSON decoding.
The month of a check is the month of ``checked_at`` in the practice's time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from billing.models import ClaimCheck, Finding
from billing.reports import CheckRecord
from practice.models import Payer, Practice

CHUNK = 5_000
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class Period:
    """Months ``YYYY-MM``, inclusive; None: open."""

    start: str | None = None
    end: str | None = None

    def __post_init__(self):
        for month in (self.start, self.end):
            if month is not None and not _MONTH.match(month):
                raise ValueError(f"a month is YYYY-MM, not {month!r}")
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"the period starts ({self.start}) after it ends ({self.end})")

    @classmethod
    def last_months(cls, n: int = 12, today: date | None = None) -> Period:
        """The ``n`` months up to and including this one."""
        today = today or timezone.localdate()
        index = today.year * 12 + today.month - 1 - (n - 1)
        return cls(f"{index // 12:04d}-{index % 12 + 1:02d}", f"{today.year:04d}-{today.month:02d}")

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        """[first instant, first instant after) in the current time zone."""
        zone = timezone.get_current_timezone()
        start = end = None
        if self.start:
            start = datetime.combine(date(int(self.start[:4]), int(self.start[5:]), 1), time.min, zone)
        if self.end:
            year, month = int(self.end[:4]), int(self.end[5:])
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            end = datetime.combine(date(year, month, 1), time.min, zone)
        return start, end

    def text(self) -> str:
        if self.start and self.end:
            return self.start if self.start == self.end else f"{self.start} to {self.end}"
        return f"from {self.start}" if self.start else (f"to {self.end}" if self.end else "all checks")


def checks_in(practice_ids: Iterable[int], period: Period) -> QuerySet[ClaimCheck]:
    """The checks the report counts: each draft claim's latest check in the period, and every claim-less check."""
    base = ClaimCheck.objects.filter(practice_id__in=list(practice_ids))
    start, end = period.bounds()
    if start is not None:
        base = base.filter(checked_at__gte=start)
    if end is not None:
        base = base.filter(checked_at__lt=end)
    latest = base.filter(claim__isnull=False).values("claim_id").annotate(last=Max("id")).values("last")
    return base.filter(Q(claim__isnull=True) | Q(id__in=latest))


def count_checks(practice_ids: Iterable[int], period: Period) -> int:
    return checks_in(practice_ids, period).count()


def check_records(practice_ids: Iterable[int], period: Period, *, chunk_size: int = CHUNK) -> Iterator[CheckRecord]:
    """One record per counted check, in id order (two streamed queries, plus two small name look-ups)."""
    practice_ids = list(practice_ids)
    practices = dict(Practice.objects.filter(pk__in=practice_ids).values_list("pk", "name"))
    payers = dict(Payer.objects.values_list("key", "name"))
    checks = (
        checks_in(practice_ids, period)
        .order_by("id")
        .values_list("id", "claim_id", "reference", "practice_id", "payer_key", "checked_at", "status")
        .iterator(chunk_size=chunk_size)
    )
    findings = _findings(practice_ids, period, chunk_size)
    pending = next(findings, None)
    zone = timezone.get_current_timezone()
    for check_id, claim_id, reference, practice_id, payer_key, checked_at, status in checks:
        rules: list[str] = []
        while pending is not None and pending[0] < check_id:
            pending = next(findings, None)
        while pending is not None and pending[0] == check_id:
            rules.append(pending[1])
            pending = next(findings, None)
        local = checked_at.astimezone(zone)
        if reference:
            claim = reference
        elif claim_id is not None:
            claim = f"claim #{claim_id}"
        else:
            claim = f"check #{check_id}"
        yield CheckRecord(
            claim,
            practices.get(practice_id, ""),
            payers.get(payer_key, payer_key),
            f"{local.year:04d}-{local.month:02d}",
            status,
            tuple(dict.fromkeys(rules)),
        )


def _findings(practice_ids: list[int], period: Period, chunk_size: int) -> Iterator[tuple[int, str]]:
    qs = Finding.objects.filter(check_run__practice_id__in=practice_ids)
    start, end = period.bounds()
    if start is not None:
        qs = qs.filter(check_run__checked_at__gte=start)
    if end is not None:
        qs = qs.filter(check_run__checked_at__lt=end)
    return qs.order_by("check_run_id", "id").values_list("check_run_id", "rule").iterator(chunk_size=chunk_size * 2)


def overrides_in(practice_ids: Iterable[int], period: Period) -> list[tuple[str, int]]:
    """Findings overridden with a reason (claim notes) in the period, per rule, most first."""
    from django.db.models import Count

    from billing.models import ClaimNote

    qs = ClaimNote.objects.filter(claim__practice_id__in=list(practice_ids), kind=ClaimNote.Kind.OVERRIDE)
    start, end = period.bounds()
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    rows = qs.values("rule").annotate(n=Count("id")).order_by("-n", "rule")
    return [(row["rule"], row["n"]) for row in rows]


def rule_titles() -> dict[str, str]:
    """Each checker rule id with its message (the rule's docstring): the report's "What it checks"."""
    from billing.checking.rules import ALL_RULES

    titles = {rule.id: rule.message() for rule in ALL_RULES if rule.id}
    titles.setdefault("CLAIM_INPUT_INVALID", "The stored claim could not be read as a claim (a field is malformed).")
    return titles
