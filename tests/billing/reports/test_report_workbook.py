"""The managers' check report: figures in one pass, and the written workbook read back."""

from __future__ import annotations

import io
import time
import zipfile
from collections import Counter

import openpyxl
import pytest
from openpyxl.chart import BarChart

from billing.reports import workbook as reports
from billing.reports.figures import CLEAN, ERRORS, WARNINGS, CheckRecord, Counts, aggregate_checks
from billing.reports.workbook import write_check_report
from billing.spreadsheets import INTEGER, PERCENT
from tests.billing.synthetic_checks import RULE_TITLES, synthetic_checks

N = 100_000
REPORT_SHEETS = ["Summary", "Trend", "By payer", "By rule", "Top findings", "Checked claims"]


@pytest.fixture(scope="module")
def records() -> list[CheckRecord]:
    return list(synthetic_checks(N))


@pytest.fixture(scope="module")
def small_report() -> tuple[openpyxl.Workbook, list[CheckRecord]]:
    rows = list(synthetic_checks(2_000, seed=3))
    rows.append(CheckRecord("=HYPERLINK(1)", "Spine Center", "Aetna", "2025-06", "errors", ("ncci.ptp",)))
    stream = io.BytesIO()
    write_check_report(rows, stream, period_from="2025-01", period_to="2025-12", rule_titles=RULE_TITLES, top_n=5)
    return openpyxl.load_workbook(io.BytesIO(stream.getvalue())), rows


def brute_force(records: list[CheckRecord]) -> tuple[Counter, Counter, Counter]:
    statuses = Counter(r.status for r in records)
    rules = Counter(rule for r in records for rule in set(r.rules))
    payer_month = Counter((r.payer, r.month) for r in records)
    return statuses, rules, payer_month


@pytest.mark.slow
def test_aggregates_100k_checked_claims(records):
    start = time.perf_counter()
    figures = aggregate_checks(records)
    elapsed = time.perf_counter() - start
    print(f"\naggregate_checks over {N:,} claims: {elapsed:.2f} s")  # the time: bench/bench_report.py
    statuses, rules, payer_month = brute_force(records)
    total = figures.total
    assert total == Counts(N, statuses[ERRORS], statuses[WARNINGS], statuses[CLEAN])
    assert total.errors + total.warnings + total.clean == total.checks
    assert {pm.payer for pm in figures.by_payer_month} == {r.payer for r in records}
    assert {(pm.payer, pm.month): pm.counts.checks for pm in figures.by_payer_month} == dict(payer_month)
    assert sum(c.checks for _, c in figures.months) == N
    assert [m for m, _ in figures.months] == [f"2025-{m:02d}" for m in range(1, 13)]
    assert {r.rule: r.claims for r in figures.by_rule} == dict(rules)
    assert [r.claims for r in figures.by_rule] == sorted(rules.values(), reverse=True)
    top = figures.by_rule[0]
    assert top.rule == "medicare.nct-missing"
    assert top.share == pytest.approx(rules[top.rule] / N)
    assert len(top.examples) == 10
    assert all(e.month == "2025-12" for e in top.examples)  # the latest claims carrying the rule
    assert all(top.rule in next(r for r in records if r.claim == e.claim).rules for e in top.examples)


@pytest.mark.slow
def test_writes_100k_report_in_time_with_a_chart(records, tmp_path):
    path = tmp_path / "report.xlsx"
    start = time.perf_counter()
    figures = write_check_report(records, path, rule_titles=RULE_TITLES)
    elapsed = time.perf_counter() - start
    print(f"\nwrite_check_report over {N:,} claims (with the Checked claims sheet): {elapsed:.2f} s")  # bench/
    assert figures.total.checks == N
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert "xl/charts/chart1.xml" in names
        chart = archive.read("xl/charts/chart1.xml").decode()
        assert "barChart" in chart and "lineChart" in chart
        assert "'Trend'!$B$5:$B$" in chart
    wb = openpyxl.load_workbook(path, read_only=True)
    assert wb.sheetnames == REPORT_SHEETS
    detail = wb["Checked claims"]
    rows = detail.iter_rows(min_row=4, values_only=True)
    assert next(rows) == ("Claim", "Practice", "Payer", "Month", "Outcome", "Findings (rule ids)")
    first = records[0]
    assert next(rows)[:4] == (first.claim, first.practice, first.payer, first.month)
    assert 1 + sum(1 for _ in rows) == N  # write-only sheets carry no dimension: count the rows
    wb.close()


def test_summary_and_trend(small_report):
    wb, rows = small_report
    assert wb.sheetnames == REPORT_SHEETS
    summary = wb["Summary"]
    assert summary["A1"].value == "Claim check report"
    assert summary["A1"].font.b
    assert "2025-01 to 2025-12" in summary["A2"].value
    assert [c.value for c in summary[4]] == [None, "Checks", "With errors", "Warnings only", "Clean", "Error rate"]
    assert summary["A5"].value == "All checked claims"
    assert summary["B5"].value == len(rows)
    assert summary["B5"].number_format == INTEGER
    assert summary["F5"].number_format == PERCENT
    trend = wb["Trend"]
    assert trend.freeze_panes == "A5"
    assert [c.value for c in trend[4]] == ["Month", "Checks", "With errors", "Warnings only", "Clean", "Error rate"]
    assert trend["A5"].value == "2025-01" and trend["A16"].value == "2025-12"
    assert sum(trend.cell(r, 2).value for r in range(5, 17)) == len(rows)
    assert len(trend._charts) == 1
    assert isinstance(trend._charts[0], BarChart)


def test_tables_are_framed_frozen_and_filtered(small_report):
    wb, _ = small_report
    for name in REPORT_SHEETS[1:]:
        ws = wb[name]
        assert ws["A1"].font.b, name
        assert ws.freeze_panes == "A5", name
        assert ws.auto_filter.ref.startswith("A4:"), name
        assert ws.print_title_rows == "$4:$4", name
        assert all(c.font.b for c in ws[4] if c.value), name
        assert ws.page_setup.orientation == "landscape"


def test_by_payer_by_rule_and_top_findings(small_report):
    wb, rows = small_report
    statuses, rules, payer_month = brute_force(rows)
    by_payer = wb["By payer"]
    assert [c.value for c in by_payer[4]][:3] == ["Payer", "Month", "Checks"]
    seen = {(r[0], r[1]): r[2] for r in by_payer.iter_rows(min_row=5, values_only=True)}
    assert seen == dict(payer_month)
    by_rule = list(wb["By rule"].iter_rows(min_row=5, values_only=True))
    assert by_rule[0][0] == "medicare.nct-missing"
    assert by_rule[0][1] == RULE_TITLES["medicare.nct-missing"]
    assert by_rule[0][2] == rules["medicare.nct-missing"]
    assert by_rule[0][3] == pytest.approx(round(rules["medicare.nct-missing"] / len(rows), 4))
    assert wb["By rule"]["D5"].number_format == PERCENT
    top = list(wb["Top findings"].iter_rows(min_row=5, values_only=True))
    assert Counter(r[0] for r in top) == {rule: min(5, count) for rule, count in rules.items()}
    assert all(None not in r for r in top)


def test_no_formulas_anywhere(small_report):
    wb, _ = small_report
    found = []
    for ws in wb:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type not in ("f", "e"), (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    found.append(cell.data_type)
    assert found and set(found) == {"s"}  # the claim reference "=HYPERLINK(1)" stays text


def test_mappings_aliases_period_and_gaps():
    rows = [
        {"claim": "A", "practice": "P", "payer": "Medicare", "month": "2025-01", "status": "OK", "rules": []},
        {"claim": "B", "practice": "P", "payer": "Medicare", "month": "2025-03", "status": "Error", "rules": ["r1"]},
        {"claim": "C", "practice": "P", "payer": "Aetna", "month": "2025-03", "status": "warning", "rules": "r2"},
        {"claim": "D", "practice": "P", "payer": "Aetna", "month": "2024-12", "status": "clean", "rules": ()},
    ]
    figures = aggregate_checks(rows, period_from="2025-01", period_to="2025-04")
    assert figures.total == Counts(3, 1, 1, 1)
    assert figures.skipped == 1
    assert [(m, c.checks) for m, c in figures.months] == [
        ("2025-01", 1),
        ("2025-02", 0),
        ("2025-03", 2),
        ("2025-04", 0),
    ]
    assert [(r.rule, r.claims, r.with_errors) for r in figures.by_rule] == [("r1", 1, 1), ("r2", 1, 0)]
    assert figures.by_payer[0][0] in ("Medicare", "Aetna")


def test_year_boundary_in_the_month_span():
    rows = [CheckRecord("A", "P", "X", "2024-11", CLEAN), CheckRecord("B", "P", "X", "2025-02", CLEAN)]
    assert [m for m, _ in aggregate_checks(rows).months] == ["2024-11", "2024-12", "2025-01", "2025-02"]


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="status"):
        aggregate_checks([CheckRecord("A", "P", "X", "2025-01", "pending")])
    with pytest.raises(ValueError, match="YYYY-MM"):
        aggregate_checks([CheckRecord("A", "P", "X", "2025-1", CLEAN)])
    with pytest.raises(ValueError, match="period"):
        aggregate_checks([], period_from="January")


def test_empty_input_writes_a_valid_report():
    stream = io.BytesIO()
    figures = write_check_report([], stream, include_claims=False)
    assert figures.total == Counts(0, 0, 0, 0)
    assert figures.months == ()
    wb = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert wb.sheetnames == REPORT_SHEETS[:-1]
    assert any(row[0] == "No findings" for row in wb["Summary"].iter_rows(values_only=True))


def test_the_claims_sheet_stops_at_the_row_limit(monkeypatch):
    monkeypatch.setattr(reports, "EXCEL_MAX_ROWS", 10)
    stream = io.BytesIO()
    figures = write_check_report(synthetic_checks(50), stream)
    assert figures.total.checks == 50
    wb = openpyxl.load_workbook(io.BytesIO(stream.getvalue()))
    assert wb["Checked claims"].max_row == 10
    assert any("stops at Excel" in (row[0] or "") for row in wb["Summary"].iter_rows(values_only=True))
