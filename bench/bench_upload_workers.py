"""Batch uploads end to end through real Celery workers: one worker process against two, then a 100,000-claim file.

PostgreSQL and Redis are required (``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``). The database gets the code sets of
bench_check.py; a Celery worker (``celery -A config worker -Q uploads,celery -c N``, prefork, the Procfile's
``uploads`` line) runs with the same environment. An upload is created as the admin creates it and
``billing.start_upload`` is sent (through the production routes: the ``uploads`` queue); the time is from sending
to the upload's ``done`` (plan, every chunk over the worker processes, the results workbook). Each worker pool
first checks a small warm-up upload (each process reads the code sets into memory once, as a long-running worker
has). Reported side by side in one run: claims/s with 1 and with 2 worker processes (target >= 1.8 x), then the
100,000-claim upload with 2 (target < 60 s) and the workers' peak memory.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mild_bench BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \\
        python bench/bench_upload_workers.py --claims 20000 --big 100000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _setup import OUT, ROOT, machine, peak_rss_mib, setup


def start_worker(concurrency: int, log: Path) -> subprocess.Popen:
    from config.celery import app

    env = {**os.environ, "PYTHONUNBUFFERED": "1", "LOG_LEVEL": "WARNING"}
    celery = Path(sys.executable).with_name("celery")
    node = f"bench-uploads-{concurrency}-{os.getpid()}@%h"
    command = [str(celery), "-A", "config", "worker", "-Q", "uploads,celery", "-c", str(concurrency), "-P", "prefork"]
    command += ["-n", node, "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while not app.control.ping(timeout=0.5):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text()[-2000:]}")
    return process


def run_upload(csv_path: Path, practice, user) -> tuple[float, object]:
    from django.core.files import File

    from billing import tasks
    from billing.models import BatchUpload

    with open(csv_path, "rb") as fh:
        upload = BatchUpload.objects.create(
            practice=practice, file=File(fh, name=csv_path.name), original_name=csv_path.name, created_by=user
        )
    started = time.perf_counter()
    tasks.start_upload.delay(upload.pk)
    while True:
        time.sleep(0.25)
        upload.refresh_from_db(fields=["status", "done_claims", "error"])
        if upload.status in ("done", "failed"):
            break
        if time.perf_counter() - started > 900:
            raise SystemExit("the upload did not finish in 15 minutes")
    seconds = time.perf_counter() - started
    upload.refresh_from_db()
    assert upload.status == "done", upload.error
    return seconds, upload


def chunk_seconds(upload) -> float:
    """From the plan to the last chunk's done marker (milliseconds in ``chunk_runs``)."""
    from datetime import datetime

    last = max(datetime.fromisoformat(run["at"]) for run in upload.chunk_runs.values())
    return (last - upload.started_at).total_seconds()


def phases(upload) -> str:
    """Where an upload's time went: the chunks (planned to the last chunk's done marker), the sum
    of the chunks' own times (check, and store until the lock), the stores' share, and the finish (workbook)."""
    from datetime import datetime

    runs = upload.chunk_runs.values()
    last = max(datetime.fromisoformat(run["at"]) for run in runs)
    chunks = (last - upload.started_at).total_seconds()
    busy = sum(run["seconds"] for run in runs)
    stores = sum(run["seconds"] - run["check_seconds"] for run in runs)
    finish = (upload.finished_at - last).total_seconds()
    return (
        f"chunks {chunks:.1f} s from the plan to the last chunk (their own times add up to {busy:.1f} s, the stores "
        f"{stores:.1f} s of it), finish (workbook) {finish:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=20_000, help="claims for the 1-against-2 comparison")
    parser.add_argument("--big", type=int, default=100_000, help="claims of the large upload (0: skip)")
    parser.add_argument("--ptp-rows", type=int, default=2_000_000)
    args = parser.parse_args()
    if not (os.environ.get("BENCH_DATABASE_URL") and os.environ.get("BENCH_REDIS_URL")):
        raise SystemExit("needs BENCH_DATABASE_URL (PostgreSQL) and BENCH_REDIS_URL (Redis)")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("VAR_DIR", str(OUT / "var"))  # the workers read the uploads the bench writes
    vendor = setup("uploads")
    from bench_check import load_code_sets
    from django.contrib.auth.models import User
    from gen_claims import generate

    from codes import models as code_models
    from config.celery import app
    from practice.models import Practice

    print(f"machine: {machine()}; database: {vendor}; broker: Redis")
    for what, seconds in load_code_sets(args.ptp_rows).items():
        print(f"loaded {what} in {seconds:.1f} s")
    from django.db import connections

    app.control.purge()
    codes = list(code_models.IcdCode.objects.filter(billable=True).order_by("code").values_list("code", flat=True)[::7])
    diagnoses = [f"{c[:3]}.{c[3:]}" for c in codes]
    files = {}
    for n in {1_000, args.claims, args.big} - {0}:
        files[n] = OUT / f"claims-{n}.csv"
        if not files[n].exists():
            generate(files[n], n, seed=1, diagnoses=diagnoses)
    practice, user = Practice.objects.get(key="demo"), User.objects.get(username="billing")
    connections.close_all()

    rates, chunk_rates = {}, {}
    for concurrency in (1, 2):
        worker = start_worker(concurrency, OUT / f"worker-{concurrency}.log")
        try:
            for _ in range(concurrency):  # every pool process reads the code sets once
                run_upload(files[1_000], practice, user)
            seconds, upload = run_upload(files[args.claims], practice, user)
            rates[concurrency] = args.claims / seconds
            chunk_rates[concurrency] = args.claims / chunk_seconds(upload)
            print(
                f"{args.claims:,} claims, {concurrency} worker process(es): {seconds:.1f} s end to end "
                f"({rates[concurrency]:,.0f} claims/s; {upload.chunks_total} chunks; workbook included)"
            )
            print(f"  {phases(upload)}")
            if concurrency == 2 and args.big:
                seconds, upload = run_upload(files[args.big], practice, user)
                print(
                    f"{args.big:,} claims, 2 worker processes: {seconds:.1f} s end to end "
                    f"({args.big / seconds:,.0f} claims/s; target < 60 s); worker peak memory "
                    f"{peak_rss_mib(worker.pid):.0f} MiB per process"
                )
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    print(
        f"2 worker processes against 1: {rates[2] / rates[1]:.2f} x end to end, "
        f"{chunk_rates[2] / chunk_rates[1]:.2f} x over the chunks (target >= 1.8 x)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (the machine is shared)")


if __name__ == "__main__":
    main()
