"""The managers' claim-check report's figures, aggregated in one pass (pure; ``billing.reports.workbook`` writes them).

Input: one ``CheckRecord`` (or a mapping/object with the same fields) per checked claim: the practice,
the payer, the month of its date of service (``YYYY-MM``), the outcome (``clean``, ``warnings``: warnings only,
``errors``: at least one error), the ids of the rules behind its findings and, optionally, each one's severity.
Findings are ranked by what they cost: rules that raised errors first, then warnings; info notes (coding not
loaded, whatever its severity; fee status) are kept apart in ``ReportFigures.notes`` so they never drown the
rest. ``aggregate_checks`` returns the figures (``ReportFigures``) for an admin page; the workbook feeds the same
``Aggregator`` while it streams the claims.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import count
from typing import Any

from billing.checking.findings import ERROR, INFO, SEVERITY_RANK

CLEAN = "clean"
WARNINGS = "warnings"
ERRORS = "errors"
STATUSES = (ERRORS, WARNINGS, CLEAN)
_STATUS_ALIASES = {
    "clean": CLEAN,
    "ok": CLEAN,
    "ready": CLEAN,
    "warnings": WARNINGS,
    "warning": WARNINGS,
    "errors": ERRORS,
    "error": ERRORS,
}
_INDEX = {ERRORS: 1, WARNINGS: 2, CLEAN: 3}  # positions in a [checks, errors, warnings, clean] counter
ERROR_RANK = SEVERITY_RANK[ERROR]
# Findings about the check rather than the claim: "no loaded release covers the date" is a warning on the claim (it
# could not be validated) but costs no money by itself; the report counts it with the notes, apart.
NOTE_RULES = frozenset({"CODING_NOT_LOADED"})
_SEVERITY_OF_RANK = {rank: severity for severity, rank in SEVERITY_RANK.items()}


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One checked claim: its latest check in the period."""

    claim: str  # the claim reference shown to the manager
    practice: str
    payer: str
    month: str  # "YYYY-MM" of the date of service
    status: str  # CLEAN, WARNINGS (warnings only) or ERRORS (at least one error)
    rules: tuple[str, ...] = ()  # ids of the rules behind its findings, any severity
    severities: tuple[str, ...] = ()  # each rule's worst severity on the claim (same order); empty: unknown (error)


@dataclass(frozen=True, slots=True)
class Counts:
    """Checked claims by outcome: ``errors + warnings + clean == checks``."""

    checks: int
    errors: int
    warnings: int
    clean: int

    @property
    def error_rate(self) -> float:
        return self.errors / self.checks if self.checks else 0.0


@dataclass(frozen=True, slots=True)
class PayerMonth:
    payer: str
    month: str
    counts: Counts


@dataclass(frozen=True, slots=True)
class ClaimRef:
    claim: str
    practice: str
    payer: str
    month: str
    status: str


@dataclass(frozen=True, slots=True)
class RuleFigures:
    """A rule's findings: claims carrying it, their share of all checks, and the latest claims with it."""

    rule: str
    claims: int
    share: float  # of all checked claims
    with_errors: int  # of those claims, how many had errors (from any rule)
    examples: tuple[ClaimRef, ...]  # the most recent ``top_n``, newest month first
    severity: str = ERROR  # the worst severity the rule raised in the period

    @property
    def is_note(self) -> bool:
        return self.severity == INFO


@dataclass(frozen=True, slots=True)
class ReportFigures:
    period_from: str | None
    period_to: str | None
    total: Counts
    months: tuple[tuple[str, Counts], ...]  # every month of the period, in order (none checked: zeros)
    by_payer_month: tuple[PayerMonth, ...]  # by payer, then month
    by_payer: tuple[tuple[str, Counts], ...]  # most checks first
    by_practice: tuple[tuple[str, Counts], ...]  # most checks first
    by_rule: tuple[RuleFigures, ...]  # errors, then warnings, then notes; most frequent first within each
    skipped: int  # records outside the period

    @property
    def costly(self) -> tuple[RuleFigures, ...]:
        """The findings that cost money (errors, then warnings): the "most frequent findings"."""
        return tuple(r for r in self.by_rule if not r.is_note)

    @property
    def notes(self) -> tuple[RuleFigures, ...]:
        """Info notes (nothing to fix on the claim), shown apart."""
        return tuple(r for r in self.by_rule if r.is_note)


def _counts(c: list[int]) -> Counts:
    return Counts(c[0], c[1], c[2], c[3])


def _next_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def _valid_month(month: str) -> bool:
    return (
        len(month) == 7
        and month[4] == "-"
        and month[:4].isdigit()
        and month[5:].isdigit()
        and "01" <= month[5:] <= "12"
    )


class Aggregator:
    """Counts per payer × month, month, payer, practice and rule, fed one record at a time."""

    def __init__(self, period_from: str | None, period_to: str | None, top_n: int):
        for bound in (period_from, period_to):
            if bound is not None and not _valid_month(bound):
                raise ValueError(f"period bounds are months 'YYYY-MM', not {bound!r}")
        self.period_from, self.period_to, self.top_n = period_from, period_to, top_n
        self.total = [0, 0, 0, 0]
        self.payer_month: dict[tuple[str, str], list[int]] = {}
        self.month: dict[str, list[int]] = {}
        self.payer: dict[str, list[int]] = {}
        self.practice: dict[str, list[int]] = {}
        self.rule: dict[str, list[int]] = {}  # [claims, claims with errors, worst severity rank]
        self.examples: dict[str, list[tuple[str, int, ClaimRef]]] = {}
        self.skipped = 0
        self._seq = count()

    def add(
        self,
        claim: str,
        practice: str,
        payer: str,
        month: str,
        status: str,
        rules: Iterable[str],
        severities: tuple[str, ...] = (),
    ) -> bool:
        """Count one record; False when it falls outside the period (and is skipped)."""
        if not _valid_month(month):
            raise ValueError(f"claim {claim!r}: month must be 'YYYY-MM', not {month!r}")
        if (self.period_from and month < self.period_from) or (self.period_to and month > self.period_to):
            self.skipped += 1
            return False
        i = _INDEX[status]
        for table, key in (
            (self.payer_month, (payer, month)),
            (self.month, month),
            (self.payer, payer),
            (self.practice, practice),
        ):
            c = table.get(key)
            if c is None:
                c = table[key] = [0, 0, 0, 0]
            c[0] += 1
            c[i] += 1
        self.total[0] += 1
        self.total[i] += 1
        if rules:
            ref = None
            is_error = status == ERRORS
            ranks: dict[str, int] = {}
            for i, rule in enumerate(rules):
                rank = SEVERITY_RANK.get(severities[i], ERROR_RANK) if i < len(severities) else ERROR_RANK
                if rule in NOTE_RULES:
                    rank = SEVERITY_RANK[INFO]
                ranks[rule] = max(rank, ranks.get(rule, 0))
            for rule, rank in ranks.items():
                c = self.rule.get(rule)
                if c is None:
                    c = self.rule[rule] = [0, 0, 0]
                    self.examples[rule] = []
                c[0] += 1
                if is_error:
                    c[1] += 1
                if rank > c[2]:
                    c[2] = rank
                heap = self.examples[rule]
                if len(heap) < self.top_n:
                    ref = ref or ClaimRef(claim, practice, payer, month, status)
                    heapq.heappush(heap, (month, next(self._seq), ref))
                elif month >= heap[0][0]:  # newer or as new: the latest records win
                    ref = ref or ClaimRef(claim, practice, payer, month, status)
                    heapq.heapreplace(heap, (month, next(self._seq), ref))
        return True

    def figures(self) -> ReportFigures:
        total = self.total[0]
        months = sorted(self.month)
        first = self.period_from or (months[0] if months else None)
        last = self.period_to or (months[-1] if months else None)
        span = []
        if first and last:
            month = first
            while month <= last:
                span.append((month, _counts(self.month.get(month, [0, 0, 0, 0]))))
                month = _next_month(month)
        by_rule = sorted(self.rule.items(), key=lambda kv: (-kv[1][2], -kv[1][0], kv[0]))
        return ReportFigures(
            period_from=self.period_from,
            period_to=self.period_to,
            total=_counts(self.total),
            months=tuple(span),
            by_payer_month=tuple(PayerMonth(p, m, _counts(c)) for (p, m), c in sorted(self.payer_month.items())),
            by_payer=tuple((k, _counts(c)) for k, c in sorted(self.payer.items(), key=lambda kv: (-kv[1][0], kv[0]))),
            by_practice=tuple(
                (k, _counts(c)) for k, c in sorted(self.practice.items(), key=lambda kv: (-kv[1][0], kv[0]))
            ),
            by_rule=tuple(
                RuleFigures(
                    rule,
                    c[0],
                    c[0] / total if total else 0.0,
                    c[1],
                    tuple(ref for _, _, ref in sorted(self.examples[rule], reverse=True)),
                    _SEVERITY_OF_RANK.get(c[2], ERROR),
                )
                for rule, c in by_rule
            ),
            skipped=self.skipped,
        )


def record_fields(row: Any) -> tuple[str, str, str, str, str, tuple[str, ...], tuple[str, ...]]:
    """(claim, practice, payer, month, status, rules, severities) from a CheckRecord, a mapping or a like object."""
    if isinstance(row, Mapping):
        claim, practice, payer, month = row["claim"], row["practice"], row["payer"], row["month"]
        status, rules, severities = row["status"], row.get("rules") or (), row.get("severities") or ()
    else:
        claim, practice, payer, month = row.claim, row.practice, row.payer, row.month
        status, rules, severities = row.status, row.rules or (), getattr(row, "severities", ()) or ()
    normal = _STATUS_ALIASES.get(status) or _STATUS_ALIASES.get(str(status).strip().lower())
    if normal is None:
        raise ValueError(f"claim {claim!r}: status must be one of {', '.join(STATUSES)}, not {status!r}")
    if isinstance(rules, str):
        rules = (rules,)
    if isinstance(severities, str):
        severities = (severities,)
    rules = tuple(str(r) for r in rules)
    return str(claim), str(practice or ""), str(payer or ""), str(month), normal, rules, tuple(severities)


def aggregate_checks(
    rows: Iterable[CheckRecord | Mapping[str, Any]],
    *,
    period_from: str | None = None,
    period_to: str | None = None,
    top_n: int = 10,
) -> ReportFigures:
    """The report's figures without writing a file (one pass over ``rows``).

    ``period_from``/``period_to``: months ``YYYY-MM``, inclusive; records outside are skipped and counted.
    ``top_n``: how many claims to keep per rule (the most recent).
    """
    agg = Aggregator(period_from, period_to, top_n)
    for row in rows:
        agg.add(*record_fields(row))
    return agg.figures()
