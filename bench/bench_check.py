"""Claim checking through the batch path, in-process on one core, with full code sets loaded.

Loaded first: the default data (code-set fixtures, the whole ICD-10-CM April 2026 tabular XML shipped by
simple-icd-10-cm, payers and rules, the demo practice); the complete PFS relative value file
../shared/cms/PPRRVU2025_Oct.csv loaded as in force from 2026-01-01 (labelled so: it is the 2025 file standing in
for 2026, whose full file is not in ../shared); the 2025 GPCIs likewise; an NCCI practitioner PTP table of
2,000,000 generated rows (bench/gen_ptp.py) plus the real excerpt's rows and a few synthetic pairs among the
mild® codes (so the PTP rule has pairs to find).

Then ``--claims`` claims (bench/gen_claims.py, diagnoses drawn from the loaded ICD-10-CM) go through a batch
upload exactly as the Celery jobs run them, but in this one process: plan (read the CSV once, write the work
file), every chunk (``billing.uploads.jobs.check_chunk``: read its slice, check, store checks and findings,
progress), finish (the results workbook). Reported: claims/second for the chunks (check + store) and for the
check alone, the queries per chunk and per check (constant: they do not grow with the claim or chunk size).
Target: at least 2,000 claims/s on one core.

    python bench/bench_check.py --claims 10000
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mild_bench python bench/bench_check.py
    python bench/bench_check.py --profile   # cProfile of the chunks, top functions by own time
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time
from collections import Counter
from datetime import date
from io import StringIO
from pathlib import Path

from _setup import OUT, ROOT, Timer, machine, process_cpu, setup

SHARED_CMS = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "cms"  # as settings.SHARED_DIR
# Synthetic PTP pairs among the mild® claim codes (not CMS's: the real table is not in ../shared). Effective
# 2020-01-01, not deleted. Modifier indicator 0: never together; 1: a modifier (25, XS, 59...) may bypass.
MILD_PAIRS = (
    ("0275T", "77003", "0"),
    ("0275T", "64483", "1"),
    ("0275T", "62323", "1"),
    ("0275T", "99213", "1"),
    ("G0276", "77003", "0"),
    ("64483", "77003", "0"),
    ("62323", "77003", "0"),
    ("64483", "62323", "1"),
)


def ptp_file(rows: int) -> Path:
    """The generated table with the real excerpt's rows and the mild® pairs added (a key already generated
    is not added twice). Kept in bench/out between runs."""
    from gen_ptp import generate

    path = OUT / f"ccipra-v322r0-f1-{rows}-with-excerpt.TXT"
    if path.exists():
        return path
    base = OUT / f"ccipra-v322r0-f1-{rows}.TXT"
    if not base.exists():
        generate(base, rows, seed=1)
    extra = [
        line
        for line in (SHARED_CMS / "ccipra-v322r0-f1_excerpt.txt").read_text(encoding="latin-1").splitlines()[6:]
        if line.strip()
    ]
    extra += [f"{c1}\t{c2}\t\t20200101\t*\t{mi}\tStandards of medical/surgical practice" for c1, c2, mi in MILD_PAIRS]
    wanted = {tuple(line.split("\t")[:2]) + (line.split("\t")[3],): line for line in extra}
    firsts = {key[0] for key in wanted}
    tmp = path.with_suffix(".tmp")
    with open(base, encoding="latin-1") as src, open(tmp, "w", encoding="latin-1", newline="") as dst:
        for line in src:
            dst.write(line)
            if line[:5] in firsts:
                parts = line.split("\t")
                wanted.pop((parts[0], parts[1], parts[3]), None)
        for line in wanted.values():
            dst.write(line + "\n")
    tmp.rename(path)
    return path


def load_code_sets(ptp_rows: int) -> dict[str, float]:
    from django.core.management import call_command

    from codes import snapshot as k
    from codes.loading import load_files

    timings = {}
    with Timer() as t:
        call_command("load_defaults", "--demo", stdout=StringIO())
    timings["defaults (fixtures, ICD-10-CM XML, payers, rules, demo practice)"] = t.seconds
    with Timer() as t:
        load_files(
            k.PFS_RVU,
            [SHARED_CMS / "PPRRVU2025_Oct.csv"],
            effective_from=date(2026, 1, 1),
            effective_to=date(2026, 12, 31),
            label="PFS RVU file 2025 October, loaded as in force from 2026-01-01 (benchmark stand-in)",
        )
        load_files(
            k.GPCI,
            [SHARED_CMS / "GPCI2025.csv"],
            effective_from=date(2026, 1, 1),
            effective_to=date(2026, 12, 31),
            label="GPCI 2025, loaded as in force from 2026-01-01 (benchmark stand-in)",
        )
    timings["PFS RVU (complete file) + GPCI"] = t.seconds
    path = ptp_file(ptp_rows)
    with Timer() as t:
        result = load_files(k.PTP_PRACTITIONER, [path])
    timings[f"NCCI PTP practitioner, {result.rows:,} rows"] = t.seconds
    from django.db import connection

    if connection.vendor == "postgresql":
        # As a settled database would be: the 2,000,000 new rows analysed now, not by autovacuum during the run.
        with Timer() as t, connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE)")
        timings["VACUUM (ANALYZE) after the loads"] = t.seconds
    return timings


class QueryCounter:
    """A cheap execute wrapper that counts queries (no SQL kept)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _spread(counter: Counter) -> str:
    return ", ".join(f"{q} ({n} claims)" for q, n in sorted(counter.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--ptp-rows", type=int, default=2_000_000)
    parser.add_argument("--chunk", type=int, default=500, help="claims per chunk (the jobs' default: 500)")
    parser.add_argument("--profile", action="store_true", help="cProfile the chunks and print the top functions")
    parser.add_argument("--sort", default="tottime", help="profile order: tottime or cumulative")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_DEBUG", "false")  # as a worker runs: no query log kept in memory
    vendor = setup("check")

    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.files import File
    from django.db import connection
    from gen_claims import generate

    from billing.claims.checker import Checker
    from billing.models import BatchUpload, ClaimCheck, Finding
    from billing.uploads import jobs as upload_jobs
    from billing.uploads import payloads, workfile
    from billing.uploads import reading as uploads
    from codes import models as code_models
    from practice.models import Practice

    print(f"machine: {machine()}; database: {vendor}")
    for what, seconds in load_code_sets(args.ptp_rows).items():
        print(f"loaded {what} in {seconds:.1f} s")

    codes = list(code_models.IcdCode.objects.filter(billable=True).order_by("code").values_list("code", flat=True)[::7])
    csv_path = OUT / f"claims-{args.claims}.csv"
    count, rows = generate(csv_path, args.claims, seed=1, diagnoses=[f"{c[:3]}.{c[3:]}" for c in codes])
    print(f"claims: {count:,} ({rows:,} service lines), {csv_path.stat().st_size / 1e6:.1f} MB CSV")

    settings.UPLOAD_CHUNK_CLAIMS = args.chunk
    settings.MEDIA_ROOT = str(OUT / "media")
    practice = Practice.objects.get(key="demo")
    user = User.objects.get(username="billing")
    with open(csv_path, "rb") as fh:
        upload = BatchUpload.objects.create(
            practice=practice, file=File(fh, name=csv_path.name), original_name=csv_path.name, created_by=user
        )

    with Timer() as plan_t:
        upload = upload_jobs.plan(upload.pk)
    print(f"plan (read the CSV once, write the work file): {plan_t.seconds:.2f} s, {upload.chunks_total} chunks")

    # Warm the per-process release caches (ICD-10-CM, PFS...) as a worker's first chunk would, outside the timing.
    with Timer() as warm:
        checker = Checker.create(today=upload_jobs.upload_day(upload))
        with open(csv_path, "rb") as fh:
            sample = workfile.group_claims(r for _, r in zip(range(200), uploads.read_rows(fh, csv_path.name)))
        upload_jobs.check_claims(checker, practice.id, sample, checker.today)
    print(f"cold caches (first chunk of a worker process): +{warm.seconds:.2f} s, once per process")

    # Queries per check: every query a claim's check makes, alone (the API's way) and in a prefetched batch.
    queries = QueryCounter()
    alone, batched = Counter(), Counter()
    readable = [payload for payload, errors in map(payloads.claim_payload, sample[:100]) if not errors]
    fresh = Checker.create(today=checker.today)
    for counter, batch in ((alone, False), (batched, True)):
        if batch:
            fresh.prefetch(readable)
        for payload in readable:
            with connection.execute_wrapper(queries):
                before = queries.count
                try:
                    fresh.check(payload, practice.id)
                except Exception:  # noqa: S112 - a claim with input errors makes no query either
                    continue
            counter[queries.count - before] += 1
        fresh = Checker.create(today=checker.today)

    profiler = cProfile.Profile() if args.profile else None
    chunk_queries = []
    server_pid = None
    if connection.vendor == "postgresql":  # the server's process for this connection (same machine: its CPU time)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            server_pid = cursor.fetchone()[0]
    server_started = process_cpu(server_pid)
    started, cpu_started = time.perf_counter(), time.process_time()
    for index in range(upload.chunks_total):
        before = queries.count
        with connection.execute_wrapper(queries):
            if profiler:
                profiler.enable()
            upload_jobs.check_chunk(upload.pk, index)
            if profiler:
                profiler.disable()
        chunk_queries.append(queries.count - before)
    chunks_seconds, chunks_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    server_cpu = process_cpu(server_pid) - server_started
    upload.refresh_from_db()
    check_seconds = sum(run["check_seconds"] for run in upload.chunk_runs.values())

    with Timer() as finish_t:
        upload = upload_jobs.finish(upload.pk)
    assert upload.status == "done" and upload.done_claims == count, (upload.status, upload.error)

    findings = Finding.objects.filter(check_run__upload=upload).count()
    print(f"checked {count:,} claims in {upload.chunks_total} chunks of {args.chunk}: {chunks_seconds:.2f} s")
    print(
        f"  => {count / chunks_seconds:,.0f} claims/s through the chunks (read slice + check + store "
        f"{ClaimCheck.objects.filter(upload=upload).count():,} checks and {findings:,} findings + progress)"
    )
    print(
        f"  => {count / chunks_cpu:,.0f} claims per CPU-second of this process ({chunks_cpu:.2f} s CPU: the figure "
        "that holds when other work shares the machine)"
    )
    if server_pid:
        print(f"  PostgreSQL server process CPU during the chunks: {server_cpu:.2f} s (read from /proc)")
    print(f"  => {count / check_seconds:,.0f} claims/s for the check alone (target: 2,000/s on one core)")
    stores = sorted(run["seconds"] - run["check_seconds"] for run in upload.chunk_runs.values())
    print(
        f"  store (checks and findings; wall) per chunk: median {stores[len(stores) // 2] * 1e3:.0f} ms, "
        f"all {sum(stores):.2f} s = {sum(stores) / count * 1e6:.0f} µs a claim"
    )
    print(
        f"queries per check: alone (API) {_spread(alone)}; in a prefetched batch {_spread(batched)}; "
        f"per chunk of {args.chunk}: {min(chunk_queries)} to {max(chunk_queries)} (not per claim)"
    )
    print(f"finish (results workbook from the stored checks): {finish_t.seconds:.2f} s")
    print(f"statuses: {dict(sorted(upload.counts.items()))}")
    rules = Counter(Finding.objects.filter(check_run__upload=upload).values_list("rule", flat=True))
    print("findings by rule: " + ", ".join(f"{r} {n}" for r, n in rules.most_common()))
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
