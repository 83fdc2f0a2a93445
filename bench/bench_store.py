"""Storing checks alone (billing.claims.checks.store_checks), this tree's against a baseline's, in turns.

Runs on the database a ``bench_check.py`` run left (BENCH_DATABASE_URL, else bench/out/check.sqlite3): its stored
results (real shape: ~3.5 findings and ~3.5 kB of JSON a claim) are stored again in chunks, each in its own
transaction, by this tree's ``store_checks`` and by the one in ``--baseline`` (a checks.py file, e.g.
``git show <commit>:billing/claims/checks.py > /tmp/checks_before.py``), alternating chunk by chunk so that both
see the same load. Each chunk's rows are deleted after it (not timed). Reported per claim: this process's CPU
time, the PostgreSQL server process's CPU time (read from /proc: the server runs on this machine), and wall time.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mild_x python bench/bench_store.py --baseline /tmp/c.py
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time

from _setup import OUT, ROOT, process_cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", required=True, help="a checks.py to compare with (another commit's)")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{OUT / 'check.sqlite3'}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("DJANGO_DEBUG", "false")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.db import connection, transaction

    from billing.claims import checks as current
    from billing.models import BatchUpload, ClaimCheck

    spec = importlib.util.spec_from_file_location("checks_baseline", args.baseline)
    baseline = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(baseline)

    upload = BatchUpload.objects.filter(checks__isnull=False).select_related("created_by").latest("pk")
    results = list(
        ClaimCheck.objects.filter(upload=upload).order_by("id").values_list("result", flat=True)[: args.claims]
    )
    findings = sum(len(r.get("findings", [])) for r in results)
    connection.ensure_connection()
    pid = None
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
    print(f"database: {connection.vendor}; {len(results):,} results, {findings:,} findings, chunks of {args.chunk}")
    figures = {"baseline": [0.0, 0.0, 0.0], "this tree": [0.0, 0.0, 0.0]}
    per_chunk = {"baseline": [], "this tree": []}
    chunks = [results[i : i + args.chunk] for i in range(0, len(results), args.chunk)]
    for round_ in range(args.rounds):
        for n, chunk in enumerate(chunks):
            order = [("baseline", baseline), ("this tree", current)]
            if (n + round_) % 2:
                order.reverse()
            for name, module in order:
                cpu, server, wall = time.process_time(), process_cpu(pid), time.perf_counter()
                with transaction.atomic():
                    stored = module.store_checks(
                        upload.practice_id, chunk, user=upload.created_by, source="upload", upload=upload
                    )
                took = [time.process_time() - cpu, process_cpu(pid) - server, time.perf_counter() - wall]
                for i, value in enumerate(took):
                    figures[name][i] += value
                per_chunk[name].append(took[0] + took[1])
                ClaimCheck.objects.filter(pk__in=[c.pk for c in stored]).delete()
    claims = len(results) * args.rounds
    for name, (cpu, server, wall) in figures.items():
        print(
            f"{name:>9}: client CPU {cpu / claims * 1e6:6.1f} µs/claim, server CPU {server / claims * 1e6:6.1f} "
            f"µs/claim, wall {wall / claims * 1e6:6.1f} µs/claim; median chunk CPU (client + server) "
            f"{statistics.median(per_chunk[name]) * 1e3:.1f} ms"
        )
    before, after = figures["baseline"], figures["this tree"]
    print(
        f"ratio baseline / this tree: client CPU {before[0] / after[0]:.2f}x, client + server CPU "
        f"{(before[0] + before[1]) / (after[0] + after[1]):.2f}x, wall {before[2] / after[2]:.2f}x"
    )


if __name__ == "__main__":
    main()
