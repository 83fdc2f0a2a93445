"""Time the managers' report over 100,000 synthetic checked claims and the full mild® billing guide.

Run from the project root: ``python bench/bench_report.py [--claims N] [--repeat R]``.
The guide is built from the real CMS files in ``$SHARED_DIR/cms`` (default: ../shared/cms).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from billing.guide.workbook import write_billing_guide  # noqa: E402
from billing.reports.figures import aggregate_checks  # noqa: E402
from billing.reports.workbook import write_check_report  # noqa: E402
from tests.billing.mild_guide import build_mild_guide  # noqa: E402
from tests.billing.synthetic_checks import RULE_TITLES, synthetic_checks  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """(median, best) seconds over ``repeat`` runs, and the last result."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cms_dir = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "cms"
    guide = build_mild_guide(cms_dir)
    median, best, _ = timed(lambda: write_billing_guide(guide, io.BytesIO()), args.repeat * 3)
    size = io.BytesIO()
    write_billing_guide(guide, size)
    print(
        f"billing guide ({len(guide.payments)} payment rows, {len(guide.coverage)} payers, locality "
        f"{guide.locality.code if guide.locality else 'none'}): median {median * 1000:.0f} ms, "
        f"best {best * 1000:.0f} ms, {len(size.getvalue()) / 1024:.0f} KiB"
    )

    records = list(synthetic_checks(args.claims))
    median, best, figures = timed(lambda: aggregate_checks(records), args.repeat)
    print(f"aggregate_checks, {args.claims:,} claims: median {median:.2f} s, best {best:.2f} s")
    median, best, _ = timed(
        lambda: write_check_report(records, io.BytesIO(), rule_titles=RULE_TITLES, include_claims=False), args.repeat
    )
    print(f"write_check_report, {args.claims:,} claims, figures only: median {median:.2f} s, best {best:.2f} s")
    out = io.BytesIO()
    median, best, _ = timed(lambda: write_check_report(records, io.BytesIO(), rule_titles=RULE_TITLES), args.repeat)
    write_check_report(records, out, rule_titles=RULE_TITLES)
    print(
        f"write_check_report, {args.claims:,} claims, with the Checked claims sheet: median {median:.2f} s, "
        f"best {best:.2f} s, {len(out.getvalue()) / 1024 / 1024:.1f} MiB"
    )
    total = figures.total
    print(
        f"figures: {total.checks:,} checks, {total.errors:,} with errors ({total.error_rate:.1%}), "
        f"{total.warnings:,} warnings only, {total.clean:,} clean; {len(figures.by_rule)} rules, "
        f"{len(figures.by_payer_month)} payer-months"
    )


if __name__ == "__main__":
    main()
