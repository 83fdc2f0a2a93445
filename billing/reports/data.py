"""The check report's input from the database: one ``CheckRecord`` per checked claim, streamed.

A claim checked several times in the period counts once, by its latest check in the period (the highest id:
checks are stored in the order they were made); checks made without a draft claim (API, command line) count
each. Two queries stream the rows, both with ``.iterator()`` and in id order: the checks (with their claim's
reference) and the rule ids of their findings, merged in Python -- no query per row, no JSON decoding.
A check counts in the month of its claim's DATE OF SERVICE (not the day it was checked): the report answers "how
did March's services fare", and a claim checked again in April still belongs to March. Each rule id carries the
worst severity it had on the claim, so the report ranks the findings that cost money (errors, then warnings) and
keeps info notes (e.g. coding not loaded) apart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.db.models import Max, Q, QuerySet
from django.utils import timezone

from billing.checking.findings import SEVERITY_RANK
from billing.models import ClaimCheck, Finding
from billing.reports.figures import CheckRecord
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

    def bounds(self) -> tuple[date | None, date | None]:
        """[first day, first day after) of the period's dates of service."""
        start = end = None
        if self.start:
            start = date(int(self.start[:4]), int(self.start[5:]), 1)
        if self.end:
            year, month = int(self.end[:4]), int(self.end[5:])
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            end = date(year, month, 1)
        return start, end

    def text(self) -> str:
        if self.start and self.end:
            return self.start if self.start == self.end else f"{self.start} to {self.end}"
        return f"from {self.start}" if self.start else (f"to {self.end}" if self.end else "all checks")


def checks_in(practice_ids: Iterable[int], period: Period) -> QuerySet[ClaimCheck]:
    """The checks the report counts: each draft claim's latest check with a date of service in the period, and
    every claim-less check."""
    base = ClaimCheck.objects.filter(practice_id__in=list(practice_ids))
    start, end = period.bounds()
    if start is not None:
        base = base.filter(date_of_service__gte=start)
    if end is not None:
        base = base.filter(date_of_service__lt=end)
    latest = base.filter(claim__isnull=False).values("claim_id").annotate(last=Max("id")).values("last")
    return base.filter(Q(claim__isnull=True) | Q(id__in=latest))


def count_checks(practice_ids: Iterable[int], period: Period) -> int:
    return checks_in(practice_ids, period).count()


NO_DATE = "no date of service"


def check_records(practice_ids: Iterable[int], period: Period, *, chunk_size: int = CHUNK) -> Iterator[CheckRecord]:
    """One record per counted check, in id order (two streamed queries, plus two small name look-ups)."""
    practice_ids = list(practice_ids)
    practices = dict(Practice.objects.filter(pk__in=practice_ids).values_list("pk", "name"))
    payers = dict(Payer.objects.values_list("key", "name"))
    checks = (
        checks_in(practice_ids, period)
        .order_by("id")
        .values_list("id", "claim_id", "reference", "practice_id", "payer_key", "date_of_service", "status")
        .iterator(chunk_size=chunk_size)
    )
    findings = _findings(practice_ids, period, chunk_size)
    pending = next(findings, None)
    for check_id, claim_id, reference, practice_id, payer_key, served, status in checks:
        rules: dict[str, str] = {}  # rule id -> its worst severity on this claim
        while pending is not None and pending[0] < check_id:
            pending = next(findings, None)
        while pending is not None and pending[0] == check_id:
            rule, severity = pending[1], pending[2]
            if SEVERITY_RANK.get(severity, 0) > SEVERITY_RANK.get(rules.get(rule, ""), -1):
                rules[rule] = severity
            pending = next(findings, None)
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
            f"{served.year:04d}-{served.month:02d}" if served else NO_DATE,  # an upload row's unreadable date
            status,
            tuple(rules),
            tuple(rules.values()),
        )


def _findings(practice_ids: list[int], period: Period, chunk_size: int) -> Iterator[tuple[int, str, str]]:
    qs = Finding.objects.filter(check_run__practice_id__in=practice_ids)
    start, end = period.bounds()
    if start is not None:
        qs = qs.filter(check_run__date_of_service__gte=start)
    if end is not None:
        qs = qs.filter(check_run__date_of_service__lt=end)
    rows = qs.order_by("check_run_id", "id").values_list("check_run_id", "rule", "severity")
    return rows.iterator(chunk_size=chunk_size * 2)


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
