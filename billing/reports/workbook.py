"""The managers' claim-check report: figures aggregated in one pass, and a streamed xlsx workbook.

Input: one ``CheckRecord`` (or a mapping/object with the same fields) per checked claim: the practice,
the payer, the month of its date of service (``YYYY-MM``), the outcome (``clean``, ``warnings``: warnings only,
``errors``: at least one error), the ids of the rules behind its findings and, optionally, each one's severity.
Findings are ranked by what they cost: rules that raised errors first, then warnings; info notes (coding not
loaded, whatever its severity; fee status) are kept apart in ``ReportFigures.notes`` so they never drown the
rest. ``aggregate_checks`` returns the figures (``ReportFigures``) for an admin page; ``write_check_report``
writes the same figures to a workbook (Summary, Trend with a chart, By payer, By rule, Top findings and, optionally,
every checked claim) in openpyxl write-only mode, reading the input once.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import count
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.utils import get_column_letter

from billing.checking.findings import ERROR, INFO, SEVERITY_RANK
from billing.spreadsheets import (
    BOLD,
    HEADER_ALIGN,
    HEADER_FILL,
    HEADER_FONT,
    INTEGER,
    PERCENT,
    SUBTITLE_FONT,
    TITLE_FONT,
    Output,
    clean_text,
    print_setup,
)

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


EXCEL_MAX_ROWS = 1_048_576


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


class _Aggregator:
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


def _fields(row: Any) -> tuple[str, str, str, str, str, tuple[str, ...], tuple[str, ...]]:
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
    agg = _Aggregator(period_from, period_to, top_n)
    for row in rows:
        agg.add(*_fields(row))
    return agg.figures()


# ---- the workbook -----------------------------------------------------------------------------------

STATUS_LABELS = {ERRORS: "errors", WARNINGS: "warnings only", CLEAN: "clean"}


def _text_cell(ws, value, font=None, number_format: str | None = None) -> WriteOnlyCell:
    """A styled write-only cell; text stays text (a leading '=' is not a formula)."""
    cell = WriteOnlyCell(ws, value=clean_text(value) if isinstance(value, str) else value)
    if isinstance(value, str):
        cell.data_type = "s"
    if font is not None:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    return cell


def _header_cells(ws, texts: Iterable[str]) -> list[WriteOnlyCell]:
    cells = []
    for text in texts:
        cell = _text_cell(ws, text, HEADER_FONT)
        cell.fill = HEADER_FILL
        cell.alignment = HEADER_ALIGN
        cells.append(cell)
    return cells


class _Sheet:
    """A write-only table sheet: title, subtitle, a blank row, then a styled header row (row 4), frozen,
    filtered and repeated on printed pages. Widths and views are set before the first row is written."""

    header_row = 4

    def __init__(self, wb: Workbook, title: str, heading: str, subtitle: str, headers: list[tuple[str, int]]):
        self.ws = wb.create_sheet(title)
        self.width = len(headers)
        for col, (_, width) in enumerate(headers, 1):
            self.ws.column_dimensions[get_column_letter(col)].width = width
        self.ws.freeze_panes = f"A{self.header_row + 1}"
        print_setup(self.ws, self.header_row, heading)
        self.ws.append([_text_cell(self.ws, heading, TITLE_FONT)])
        self.ws.append([_text_cell(self.ws, subtitle, SUBTITLE_FONT)])
        self.ws.append([])
        self.ws.append(_header_cells(self.ws, (text for text, _ in headers)))
        self.rows = self.header_row

    def row(self, values: list, formats: dict[int, str] | None = None) -> None:
        """Append a data row; ``formats`` maps a 0-based column to a number format."""
        formats = formats or {}
        cells = []
        for i, value in enumerate(values):
            fmt = formats.get(i)
            if value is None:
                cells.append(None)
            elif fmt is not None or isinstance(value, str):
                cells.append(_text_cell(self.ws, value, number_format=fmt))
            else:
                cells.append(value)
        self.ws.append(cells)
        self.rows += 1

    def plain(self, values: list[str]) -> None:
        """Append text values fast: unstyled, cleaned, a leading '=' kept as text."""
        self.ws.append([_text_cell(self.ws, v) if v[:1] == "=" else clean_text(v) for v in values])
        self.rows += 1

    def finish(self) -> None:
        last = get_column_letter(self.width)
        self.ws.auto_filter.ref = f"A{self.header_row}:{last}{max(self.rows, self.header_row + 1)}"


COUNT_HEADERS = [("Checks", 10), ("With errors", 11), ("Warnings only", 11), ("Clean", 10), ("Error rate", 10)]
COUNT_FORMATS = {0: INTEGER, 1: INTEGER, 2: INTEGER, 3: INTEGER, 4: PERCENT}
SHEETS = ("Summary", "Trend", "By payer", "By rule", "Top findings", "Checked claims")


def _count_values(c: Counts) -> list:
    return [c.checks, c.errors, c.warnings, c.clean, round(c.error_rate, 4)]


def _shifted(formats: dict[int, str], by: int) -> dict[int, str]:
    return {k + by: v for k, v in formats.items()}


def write_check_report(
    rows: Iterable[CheckRecord | Mapping[str, Any]],
    out: Output,
    *,
    period_from: str | None = None,
    period_to: str | None = None,
    title: str = "Claim check report",
    practice_name: str = "",
    rule_titles: Mapping[str, str] | None = None,
    top_n: int = 10,
    include_claims: bool = True,
    generated_at: datetime | None = None,
) -> ReportFigures:
    """Write the managers' workbook to a path or a binary stream and return its figures.

    Reads ``rows`` once: each record is counted and, with ``include_claims``, streamed to the
    "Checked claims" sheet (up to Excel's row limit). ``rule_titles`` names rule ids in billing-office
    words. Sheets: Summary, Trend (with a chart), By payer, By rule, Top findings, Checked claims.
    """
    titles = rule_titles or {}
    stamp = (generated_at or datetime.now()).strftime("%Y-%m-%d %H:%M")
    period = _period_text(period_from, period_to)
    subtitle = " · ".join(p for p in (practice_name, period, f"generated {stamp}") if p)
    agg = _Aggregator(period_from, period_to, top_n)  # checks the period before anything is written

    # Write-only sheets are streamed each to its own part, so all are created now in display order:
    # the detail sheet fills during the pass, the figures sheets after it.
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("Summary")
    trend = wb.create_sheet("Trend")
    by_payer = _Sheet(
        wb, "By payer", f"{title}: by payer and month", subtitle, [("Payer", 32), ("Month", 10), *COUNT_HEADERS]
    )
    by_rule = _Sheet(
        wb,
        "By rule",
        f"{title}: findings by rule",
        subtitle,
        [("Rule", 28), ("What it checks", 50), ("Claims", 10), ("% of checks", 11), ("Of those, with errors", 13)],
    )
    top = _Sheet(
        wb,
        "Top findings",
        f"{title}: most frequent findings, with the latest {top_n} claims for each",
        subtitle,
        [
            ("Rule", 28),
            ("What it checks", 40),
            ("Claims with it", 11),
            ("Claim", 18),
            ("Practice", 22),
            ("Payer", 28),
            ("Month", 9),
            ("Outcome", 13),
        ],
    )
    detail = None
    if include_claims:
        detail = _Sheet(
            wb,
            "Checked claims",
            f"{title}: checked claims",
            subtitle,
            [
                ("Claim", 18),
                ("Practice", 22),
                ("Payer", 28),
                ("Month", 9),
                ("Outcome", 13),
                ("Findings (rule ids)", 60),
            ],
        )
    truncated = False
    for row in rows:
        claim, practice, payer, month, status, rules, severities = _fields(row)
        if agg.add(claim, practice, payer, month, status, rules, severities) and detail is not None:
            if detail.rows < EXCEL_MAX_ROWS:
                detail.plain([claim, practice, payer, month, STATUS_LABELS[status], ", ".join(rules)])
            else:
                truncated = True
    figures = agg.figures()
    if detail is not None:
        detail.finish()

    _summary(summary, figures, title, subtitle, titles, truncated)
    _trend(trend, figures, title, subtitle)
    formats = _shifted(COUNT_FORMATS, 2)
    for pm in figures.by_payer_month:
        by_payer.row([pm.payer or "(none)", pm.month, *_count_values(pm.counts)], formats)
    by_payer.finish()
    for rule in figures.by_rule:
        by_rule.row(
            [rule.rule, titles.get(rule.rule, ""), rule.claims, round(rule.share, 4), rule.with_errors],
            {2: INTEGER, 3: PERCENT, 4: INTEGER},
        )
    by_rule.finish()
    for rule in figures.by_rule:
        for ref in rule.examples:
            top.row(
                [
                    rule.rule,
                    titles.get(rule.rule, ""),
                    rule.claims,
                    ref.claim,
                    ref.practice,
                    ref.payer,
                    ref.month,
                    STATUS_LABELS[ref.status],
                ],
                {2: INTEGER},
            )
    top.finish()
    wb.save(out)
    return figures


def _period_text(period_from: str | None, period_to: str | None) -> str:
    if period_from and period_to:
        return f"{period_from} to {period_to}" if period_from != period_to else period_from
    if period_from:
        return f"from {period_from}"
    if period_to:
        return f"to {period_to}"
    return ""


def _summary(ws, figures: ReportFigures, title: str, subtitle: str, titles: Mapping[str, str], truncated: bool) -> None:
    for col, width in zip("ABCDEF", (40, 11, 11, 13, 11, 11)):
        ws.column_dimensions[col].width = width
    ws.freeze_panes = "A3"
    print_setup(ws, None, title)

    def line(*values, font=None, formats: dict[int, str] | None = None) -> None:
        formats = formats or {}
        ws.append(
            [
                _text_cell(ws, v, font if i == 0 else None, formats.get(i)) if v is not None else None
                for i, v in enumerate(values)
            ]
        )

    def header(*texts: str) -> None:
        ws.append(_header_cells(ws, texts))

    line(title, font=TITLE_FONT)
    line(subtitle, font=SUBTITLE_FONT)
    line()
    header("", *[h for h, _ in COUNT_HEADERS])
    line("All checked claims", *_count_values(figures.total), font=BOLD, formats=_shifted(COUNT_FORMATS, 1))
    if figures.skipped:
        line(f"Records outside the period (not counted): {figures.skipped:,}")
    if truncated:
        line(f"The Checked claims sheet stops at Excel's {EXCEL_MAX_ROWS:,} rows; the figures count every claim.")
    line()
    if figures.by_practice:
        header("Practice", *[h for h, _ in COUNT_HEADERS])
        for name, c in figures.by_practice:
            line(name or "(none)", *_count_values(c), formats=_shifted(COUNT_FORMATS, 1))
        line()
    header("Most frequent findings (errors, then warnings)", "Claims", "% of checks", "With errors")
    for rule in figures.costly[:10]:
        label = f"{rule.rule}: {titles[rule.rule]}" if rule.rule in titles else rule.rule
        line(label, rule.claims, round(rule.share, 4), rule.with_errors, formats={1: INTEGER, 2: PERCENT, 3: INTEGER})
    if not figures.by_rule:
        line("No findings")
    elif not figures.costly:
        line("No errors or warnings")
    if figures.notes:
        line()
        header("Notes (nothing to fix on the claim)", "Claims", "% of checks", "")
        for rule in figures.notes[:10]:
            label = f"{rule.rule}: {titles[rule.rule]}" if rule.rule in titles else rule.rule
            line(label, rule.claims, round(rule.share, 4), formats={1: INTEGER, 2: PERCENT})


def _trend(ws, figures: ReportFigures, title: str, subtitle: str) -> None:
    headers = [("Month", 10), *COUNT_HEADERS]
    for col, (_, width) in enumerate(headers, 1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "A5"
    print_setup(ws, 4, f"{title}: trend")
    ws.append([_text_cell(ws, f"{title}: trend by month", TITLE_FONT)])
    ws.append([_text_cell(ws, subtitle, SUBTITLE_FONT)])
    ws.append([])
    ws.append(_header_cells(ws, (text for text, _ in headers)))
    formats = _shifted(COUNT_FORMATS, 1)
    for month, c in figures.months:
        values = [month, *_count_values(c)]
        ws.append([_text_cell(ws, v, number_format=formats.get(i)) for i, v in enumerate(values)])
    first, last = 5, 4 + max(1, len(figures.months))
    ws.auto_filter.ref = f"A4:F{last}"

    bars = BarChart()
    bars.type = "col"
    bars.grouping = "clustered"
    bars.title = "Checked claims and claims with errors, by month"
    bars.y_axis.title = "Claims"
    bars.add_data(Reference(ws, min_col=2, max_col=3, min_row=4, max_row=last), titles_from_data=True)
    bars.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    bars.x_axis.delete = False
    bars.y_axis.delete = False
    rate = LineChart()
    rate.add_data(Reference(ws, min_col=6, min_row=4, max_row=last), titles_from_data=True)
    for series in rate.series:
        series.smooth = False
    rate.y_axis.axId = 200
    rate.y_axis.title = "Error rate"
    rate.y_axis.number_format = "0%"
    rate.y_axis.majorGridlines = None
    rate.y_axis.crosses = "max"
    rate.y_axis.delete = False
    bars += rate
    bars.width, bars.height = 24, 12
    ws.add_chart(bars, "H4")
