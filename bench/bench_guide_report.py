"""The manager's downloads end to end, from the database: the billing guide (target under 2 s) with the full PFS 2025
file and GPCI 2025 loaded, and the check report over 100,000 checked claims (target under 30 s).

python bench/bench_guide_report.py [--claims 100000]          # SQLite
BENCH_DATABASE_URL=postgres://postgres@127.0.0.1/mild_bench python bench/bench_guide_report.py

The guide is timed through the ``export_billing_guide`` command (DB -> xlsx), with cold per-process release caches
and warm. The report: ClaimCheck rows (with their Finding rows) are bulk-created first -- 70% of the checked claims
are draft claims, a seventh of those checked twice, the rest checks without a claim (API) -- then the Celery job
(in-process here) streams them into the workbook and saves it to a ReportFile.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
from datetime import date, datetime
from pathlib import Path

from _setup import OUT, Timer, machine, setup

ROOT = Path(__file__).resolve().parent.parent
RULES = (
    ("PAYER_REQUIRES_TRIAL_NUMBER", "error", 30),
    ("PAYER_REQUIRES_MODIFIER", "error", 20),
    ("PAYER_REQUIRES_DIAGNOSIS", "error", 15),
    ("DIAGNOSIS_NOT_BILLABLE", "error", 15),
    ("NCCI_PTP_CONFLICT", "error", 10),
    ("PAYER_NOT_COVERED", "error", 10),
    ("PAYER_PLACE_OF_SERVICE", "warning", 10),
    ("TIMELY_FILING", "warning", 5),
    ("FEE_SCHEDULE_STATUS", "info", 20),
)


def load_guide_data(shared: Path) -> str:
    from codes import snapshot as k
    from codes.defaults import DEFAULT_SETS, FIXTURES
    from codes.loading import load_files
    from config.roles import sync_groups
    from practice.defaults import load_defaults

    with Timer() as t:
        pfs = load_files(k.PFS_RVU, [shared / "cms" / "PPRRVU2025_Oct.csv"])
        gpci = load_files(k.GPCI, [shared / "cms" / "GPCI2025.csv"])
    for kind, name, start, end, label in DEFAULT_SETS:
        load_files(kind, [FIXTURES / name], effective_from=start, effective_to=end, label=label)
    load_defaults(demo=True)
    sync_groups()
    return f"loaded {pfs.label} ({pfs.rows:,} rows) and {gpci.label} ({gpci.rows} rows) in {t.seconds:.2f} s"


def bench_guide(repeat: int) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from codes.selectors import clear_cache

    out = OUT / "mild-billing-guide-2025-10112-00.xlsx"
    args = ["export_billing_guide", "--procedure", "mild", "--year", "2025", "--locality", "10112-00"]
    args += ["--output", str(out)]
    cold, warm = [], []
    queries = 0
    for _ in range(repeat):
        clear_cache()
        with CaptureQueriesContext(connection) as captured, Timer() as t:
            call_command(*args, stdout=open(os.devnull, "w"))  # noqa: SIM115
        cold.append(t.seconds)
        queries = len(captured)
        with Timer() as t:
            call_command(*args, stdout=open(os.devnull, "w"))  # noqa: SIM115
        warm.append(t.seconds)
    print(
        f"billing guide (export_billing_guide, DB -> xlsx, full PFS 2025 + GPCI 2025, locality 10112-00): "
        f"cold caches median {statistics.median(cold) * 1000:.0f} ms (max {max(cold) * 1000:.0f} ms, "
        f"{queries} queries); warm median {statistics.median(warm) * 1000:.0f} ms; "
        f"{out.stat().st_size / 1024:.0f} KiB  [target < 2 s]"
    )


def make_checks(n: int, seed: int = 7) -> tuple[int, int]:
    """``n`` checked claims in 2025 for the demo practice: (ClaimCheck rows, Finding rows) created."""
    from django.utils import timezone

    from billing.models import ClaimCheck, DraftClaim, Finding
    from practice.models import Payer, Practice

    rng = random.Random(seed)
    practice = Practice.objects.get(key="demo")
    payers = list(Payer.objects.order_by("key"))
    zone = timezone.get_current_timezone()
    names, severities, weights = zip(*[(r, s, w) for r, s, w in RULES])
    drafts_n = int(n * 0.7)
    drafts = DraftClaim.objects.bulk_create(
        [
            DraftClaim(
                practice=practice,
                reference=f"B{i:06d}",
                payer=payers[i % len(payers)],
                place_of_service="24",
                date_of_service=date(2025, 1 + i % 12, 1 + i % 28),
            )
            for i in range(drafts_n)
        ],
        batch_size=5000,
    )
    rechecked = drafts[: drafts_n // 7]
    plan = [(d, d.payer.key, 0) for d in drafts] + [(None, rng.choice(payers).key, 0) for _ in range(n - drafts_n)]
    plan += [(d, d.payer.key, 1) for d in rechecked]  # the second check of a claim: later, so it counts
    field = ClaimCheck._meta.get_field("checked_at")
    field.auto_now_add = False  # keep the dates we give (bench only)
    checks, findings = [], []
    try:
        for claim, payer_key, again in plan:
            month = claim.date_of_service.month if claim else rng.randint(1, 12)
            when = datetime(2025, month, min(28, 1 + rng.randrange(20) + 7 * again), 9, 0, tzinfo=zone)
            r = rng.random()
            rules = []
            if again == 0 and r < 0.30:
                status = "error"
                rules = list(dict.fromkeys(rng.choices(names[:6], weights[:6], k=rng.choice((1, 1, 2)))))
            elif r < 0.45:
                status = "warning"
                rules = [rng.choice(names[6:8])]
            else:
                status = "clean"
            if rng.random() < 0.2:
                rules.append(names[8])
            result = {
                "status": status,
                "date_of_service": when.date().isoformat(),
                "coding": [],
                "findings": [
                    {"rule": rule, "severity": severities[names.index(rule)], "codes": [], "message": rule}
                    for rule in rules
                ],
            }
            checks.append(
                ClaimCheck(
                    practice=practice,
                    claim=claim,
                    payer_key=payer_key,
                    date_of_service=when.date(),
                    status=status,
                    result=result,
                    source="bench",
                    checked_at=when,
                )
            )
        checks.sort(key=lambda c: c.checked_at)  # ids follow the checking order, as in production
        ClaimCheck.objects.bulk_create(checks, batch_size=5000)
        for check in checks:
            for f in check.result["findings"]:
                findings.append(Finding(check_run=check, rule=f["rule"], severity=f["severity"], message=f["rule"]))
        Finding.objects.bulk_create(findings, batch_size=10000)
    finally:
        field.auto_now_add = True
    return len(checks), len(findings)


def bench_report(claims: int) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.models import ClaimCheck
    from billing.reports.data import Period, check_records
    from billing.reports.figures import aggregate_checks
    from billing.reports.jobs import start_check_report
    from practice.models import Practice

    with Timer() as t:
        rows, findings = make_checks(claims)
    print(f"created {rows:,} ClaimCheck and {findings:,} Finding rows ({claims:,} checked claims) in {t.seconds:.1f} s")
    practice = Practice.objects.get(key="demo")
    period = Period("2025-01", "2025-12")
    with Timer() as t:
        figures = aggregate_checks(check_records([practice.pk], period), period_from=period.start, period_to=period.end)
    print(f"report page figures (stream + aggregate): {t.seconds:.2f} s for {figures.total.checks:,} checked claims")
    with CaptureQueriesContext(connection) as captured, Timer() as t:
        report = start_check_report(practice, period)
    assert report.status == "done", report.error
    size = report.file.size / 1024 / 1024
    print(
        f"check report job (DB -> xlsx -> ReportFile, with the Checked claims sheet): {t.seconds:.2f} s, "
        f"{report.parameters['checks']:,} checked claims of {ClaimCheck.objects.count():,} stored checks, "
        f"{len(captured)} queries, {size:.1f} MiB  [target < 30 s]"
    )
    total = figures.total
    print(
        f"figures: {total.errors:,} with errors ({total.error_rate:.1%}), {total.warnings:,} warnings only, "
        f"{total.clean:,} clean; top rule {figures.by_rule[0].rule} ({figures.by_rule[0].claims:,} claims)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("VAR_DIR", str(OUT / "var"))  # report files go under bench/out, not var/
    vendor = setup("guide_report")
    shared = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared"))  # as settings.SHARED_DIR
    print(f"machine: {machine()}; database: {vendor}")
    print(load_guide_data(shared))
    bench_guide(args.repeat)
    bench_report(args.claims)


if __name__ == "__main__":
    main()
