"""The managers' claim-check workbook, streamed (openpyxl write-only mode, reading the input once).

``write_check_report`` counts the records with ``billing.reports.figures.Aggregator`` while it streams every
checked claim, then writes the figures: Summary, Trend (with a chart), By payer, By rule, Top findings and,
optionally, Checked claims. Styles and write-only tables come from ``billing.spreadsheets``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference

from billing.reports.figures import (
    CLEAN,
    ERRORS,
    WARNINGS,
    Aggregator,
    CheckRecord,
    Counts,
    ReportFigures,
    record_fields,
)
from billing.spreadsheets import (
    BOLD,
    INTEGER,
    PERCENT,
    SUBTITLE_FONT,
    TITLE_FONT,
    Output,
    WriteOnlyCells,
    WriteOnlyTable,
    print_setup,
    set_widths,
)

EXCEL_MAX_ROWS = 1_048_576

STATUS_LABELS = {ERRORS: "errors", WARNINGS: "warnings only", CLEAN: "clean"}


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
    agg = Aggregator(period_from, period_to, top_n)  # checks the period before anything is written

    # Write-only sheets are streamed each to its own part, so all are created now in display order:
    # the detail sheet fills during the pass, the figures sheets after it.
    wb = Workbook(write_only=True)
    summary = wb.create_sheet("Summary")
    trend = wb.create_sheet("Trend")
    by_payer = WriteOnlyTable(
        wb, "By payer", f"{title}: by payer and month", subtitle, [("Payer", 32), ("Month", 10), *COUNT_HEADERS]
    )
    by_rule = WriteOnlyTable(
        wb,
        "By rule",
        f"{title}: findings by rule",
        subtitle,
        [("Rule", 28), ("What it checks", 50), ("Claims", 10), ("% of checks", 11), ("Of those, with errors", 13)],
    )
    top = WriteOnlyTable(
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
        detail = WriteOnlyTable(
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
        claim, practice, payer, month, status, rules, severities = record_fields(row)
        if agg.add(claim, practice, payer, month, status, rules, severities) and detail is not None:
            if detail.rows < EXCEL_MAX_ROWS:
                detail.row([claim, practice, payer, month, STATUS_LABELS[status], ", ".join(rules)])
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
    set_widths(ws, (40, 11, 11, 13, 11, 11))
    ws.freeze_panes = "A3"
    print_setup(ws, None, title)

    cells = WriteOnlyCells(ws)

    def line(*values, font=None, formats: dict[int, str] | None = None) -> None:
        formats = formats or {}
        ws.append(
            [
                cells(v, font=font if i == 0 else None, number_format=formats.get(i)) if v is not None else None
                for i, v in enumerate(values)
            ]
        )

    def header(*texts: str) -> None:
        ws.append(cells.header(texts))

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
    set_widths(ws, [width for _, width in headers])
    ws.freeze_panes = "A5"
    print_setup(ws, 4, f"{title}: trend")
    cells = WriteOnlyCells(ws)
    ws.append([cells(f"{title}: trend by month", font=TITLE_FONT)])
    ws.append([cells(subtitle, font=SUBTITLE_FONT)])
    ws.append([])
    ws.append(cells.header(text for text, _ in headers))
    formats = _shifted(COUNT_FORMATS, 1)
    for month, c in figures.months:
        values = [month, *_count_values(c)]
        ws.append([cells(v, number_format=formats.get(i)) for i, v in enumerate(values)])
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
