"""The check's results, written out to compare byte for byte before and after a change of the checker's code; and
the check's CPU time per claim (issue 18: the chunks' check on one core).

Three sets of results, in one JSON file: ``--claims`` generated claims (bench/gen_claims.py, seed 1) through a
batch upload's chunks exactly as ``billing.uploads.jobs.check_chunk`` checks them (work file, ``read_chunk``,
``check_claims`` with a ``Checker`` per chunk) but stored nowhere; the same claims through the pure engine with
the tests' in-memory coding (tests/billing/claimcheck_data.py); and every contract example
(tests/data/contract/examples). The database (SQLite, kept in bench/out/check_same.sqlite3 between runs) holds
what bench_check.py loads: the defaults, the complete PFS file, GPCIs and the 2,000,000-row PTP table.

    python bench/check_same.py --out /tmp/before.json          # before a change
    python bench/check_same.py --out /tmp/after.json && cmp /tmp/before.json /tmp/after.json
    python bench/check_same.py --time --claims 10000 --repeat 3  # CPU seconds per phase, best of the repeats
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
TODAY = date(2026, 11, 30)  # the upload's day, fixed: the filing limit is counted to it


def setup() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    db = Path(os.environ.get("CHECK_SAME_DB", OUT / "check_same.sqlite3"))
    fresh = not db.exists()
    os.environ["DATABASE_URL"] = f"sqlite:///{db}"
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    if fresh:
        from bench_check import load_code_sets
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        for what, seconds in load_code_sets(2_000_000).items():
            print(f"loaded {what} in {seconds:.1f} s", file=sys.stderr)


def upload_claims(count: int) -> tuple[list, list[dict]]:
    """The generated claims as a batch upload's work file, and its chunks (500 claims each)."""
    from gen_claims import generate

    from billing.uploads import reading, workfile
    from codes import models as code_models

    codes = list(code_models.IcdCode.objects.filter(billable=True).order_by("code").values_list("code", flat=True)[::7])
    path = OUT / f"check-same-{count}.csv"
    if not path.exists():
        generate(path, count, seed=1, diagnoses=[f"{c[:3]}.{c[3:]}" for c in codes])
    work = io.BytesIO()
    with open(path, "rb") as fh:
        plan = workfile.write_work_file(reading.read_rows(fh, path.name), work, 500)
    return work, plan.chunks


def chunk_results(work, chunks) -> list[dict]:
    from billing.claims.checker import Checker
    from billing.uploads import jobs, workfile
    from practice.models import Practice

    practice = Practice.objects.get(key="demo")
    out = []
    for chunk in chunks:
        claims = workfile.read_chunk(work, chunk)
        payloads: list = []
        out.extend(jobs.check_claims(Checker.create(today=TODAY), practice.id, claims, TODAY, payloads))
        out.append({"payloads": payloads})
    return out


def engine_results(work, chunks) -> list[dict]:
    """The same claims through parse_claim + check_claim over the tests' in-memory coding and payer rules."""
    from billing.checking.claim import ClaimInputError
    from billing.uploads import workfile
    from billing.uploads.payloads import claim_payload
    from tests.billing.claimcheck_data import run

    out = []
    for chunk in chunks:
        for claim in workfile.read_chunk(work, chunk):
            payload, errors = claim_payload(claim)
            try:
                out.append(run(payload).to_dict() if not errors else {"errors": errors})
            except ClaimInputError as exc:
                out.append({"input": exc.errors})
    return out


def example_results() -> list:
    from tests.billing.checking.test_check_examples import EXAMPLES, releases_for
    from tests.billing.claimcheck_data import run

    return [[name, run(example["claim"], releases_for(name, example)).to_dict()] for name, example in EXAMPLES]


def timing(work, chunks, repeat: int) -> None:
    """CPU seconds of each step of the chunks' check (best of ``repeat`` turns), and claims per CPU-second."""
    from billing.claims.checker import Checker
    from billing.uploads import jobs, workfile
    from billing.uploads.payloads import claim_payload
    from practice.models import Practice

    practice_id = Practice.objects.get(key="demo").id
    count = sum(chunk["count"] for chunk in chunks)
    jobs.check_claims(Checker.create(today=TODAY), practice_id, workfile.read_chunk(work, chunks[0]), TODAY)  # warm
    best: dict[str, float] = {}
    for _ in range(repeat):
        spent = dict.fromkeys(("read_chunk", "Checker.create", "claim_payload", "check_claims"), 0.0)
        for chunk in chunks:
            t0 = time.process_time()
            claims = workfile.read_chunk(work, chunk)
            t1 = time.process_time()
            checker = Checker.create(today=TODAY)
            t2 = time.process_time()
            for claim in claims:
                claim_payload(claim)
            t3 = time.process_time()
            jobs.check_claims(checker, practice_id, claims, TODAY, [])
            t4 = time.process_time()
            spent["read_chunk"] += t1 - t0
            spent["Checker.create"] += t2 - t1
            spent["claim_payload"] += t3 - t2
            spent["check_claims"] += t4 - t3
        for key, seconds in spent.items():
            best[key] = min(best.get(key, seconds), seconds)
    whole = best["read_chunk"] + best["Checker.create"] + best["check_claims"]
    for key, seconds in best.items():
        print(f"{key:>15}: {seconds:.3f} s CPU ({seconds / count * 1e6:.0f} us a claim)")
    print(f"check alone (read + Checker + check_claims): {count / whole:,.0f} claims per CPU-second")


def profile(work, chunks, order: str) -> None:
    import cProfile
    import pstats

    from billing.claims.checker import Checker
    from billing.uploads import jobs, workfile
    from practice.models import Practice

    practice_id = Practice.objects.get(key="demo").id
    jobs.check_claims(Checker.create(today=TODAY), practice_id, workfile.read_chunk(work, chunks[0]), TODAY)  # warm
    profiler = cProfile.Profile()
    for chunk in chunks:
        claims = workfile.read_chunk(work, chunk)
        profiler.enable()
        jobs.check_claims(Checker.create(today=TODAY), practice_id, claims, TODAY, [])
        profiler.disable()
    stats = pstats.Stats(profiler).sort_stats(order)
    stats.print_stats(60)
    if os.environ.get("CALLERS"):
        stats.print_callers(os.environ["CALLERS"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=3000)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--time", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", help="cProfile the chunks' check_claims; print the top functions in this order")
    args = parser.parse_args()
    setup()
    work, chunks = upload_claims(args.claims)
    if args.time:
        timing(work, chunks, args.repeat)
    if args.profile:
        profile(work, chunks, args.profile)
    if args.out:
        results = {
            "chunks": chunk_results(work, chunks),
            "engine": engine_results(work, chunks),
            "examples": example_results(),
        }
        args.out.write_text(json.dumps(results, default=str, indent=1) + "\n")
        print(f"wrote {args.out}: {args.claims} claims, {len(results['examples'])} examples", file=sys.stderr)


if __name__ == "__main__":
    main()
