"""POST /api/v1/claims/check under load: gunicorn as the Procfile runs it, on 127.0.0.1, 16 concurrent clients.

The database gets the same code sets as bench_check.py (default data with the whole ICD-10-CM XML, the complete
PFS file as in force from 2026-01-01, GPCIs, a 2,000,000-row NCCI PTP table); the demo user ``billing`` gets an
API token. gunicorn (``config.wsgi`` with ``deploy/gunicorn.conf.py``: 2 × cores + 1 sync workers unless
``--workers``, DEBUG off, the throttles raised through API_THROTTLE_USER
and API_THROTTLE_CLAIMS_CHECK) serves it on a free port of 127.0.0.1 only. 16 clients post realistic
claims (bench/gen_claims.py) for ``--seconds`` after a warm-up (each worker reads the code sets into memory on
its first claims), then stop by themselves; every request counts, each check is stored as in real use. The load
comes from ``wrk`` (16 connections, a Lua script cycling the claims) when it is installed (``apt-get install
wrk``): it leaves the two cores to the server; else from Python threads (http.client). Reported: throughput,
p50/p90/p99/max latency, errors, and the queries one request makes. Target: p99 < 50 ms.

    python bench/bench_api.py
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mild_bench python bench/bench_api.py --seconds 30
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import OUT, ROOT, machine, peak_rss_mib, setup
from bench_check import load_code_sets

HOST = "127.0.0.1"  # loopback only


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def payloads(count: int) -> list[bytes]:
    """Realistic claims in the contract's JSON (the ones a practice-management system would post)."""
    from gen_claims import claims

    from billing.uploads import payloads
    from billing.uploads import reading as uploads
    from codes import models as code_models

    codes = list(code_models.IcdCode.objects.filter(billable=True).values_list("code", flat=True)[::7])
    out = []
    for ordinal, rows in enumerate(claims(count, seed=2, diagnoses=[f"{c[:3]}.{c[3:]}" for c in codes])):
        claim = uploads.UploadClaim(ordinal, rows[0]["claim_ref"])
        claim.rows = [uploads.Row(n + 2, {c: row.get(c, "") for c in uploads.COLUMNS}) for n, row in enumerate(rows)]
        payload, errors = payloads.claim_payload(claim)
        if not errors and all(isinstance(line.get("units", 1), int) for line in payload["lines"]):
            out.append(json.dumps(payload).encode())
    return out


def in_process(bodies: list[bytes], token: str, count: int = 300) -> tuple[int, float, float]:
    """The queries one warm request makes, and the server CPU per request measured in this process (Django's test
    client with the token, no HTTP): CPU time is what a busy machine inflates least. Returns (queries, ms per
    request with the access and checker caches, ms per request with them emptied before each)."""
    import time as _time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from billing.claims.checker import reset_shared_checker
    from practice import access

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    for body in bodies[:50]:  # warm: the user, the releases, the rules, the code sets' rows
        client.post("/api/v1/claims/check", body, content_type="application/json")
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/api/v1/claims/check", bodies[0], content_type="application/json")
    assert response.status_code == 200, response.content
    control = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")  # transaction control, not queries
    queries = len([q for q in ctx.captured_queries if not q["sql"].upper().startswith(control)])
    started = _time.process_time()
    for n in range(count):
        client.post("/api/v1/claims/check", bodies[n % len(bodies)], content_type="application/json")
    warm = (_time.process_time() - started) * 1000 / count
    started = _time.process_time()
    for n in range(count // 3):
        access.clear()  # what each request cost before the access cache: the user and permissions read again
        client.post("/api/v1/claims/check", bodies[n % len(bodies)], content_type="application/json")
    cold_access = (_time.process_time() - started) * 1000 / (count // 3)
    reset_shared_checker()
    return queries, warm, cold_access


def start_gunicorn(port: int, workers: int | None, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DJANGO_DEBUG": "false",
        "ALLOWED_HOSTS": HOST,
        "API_THROTTLE_USER": "100000000/hour",
        "API_THROTTLE_CLAIMS_CHECK": "100000000/hour",  # the per-user limit on checks (600/min by default)
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn), "config.wsgi", "-c", "deploy/gunicorn.conf.py", "-b", f"{HOST}:{port}"]
    if workers:
        command += ["-w", str(workers)]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("gunicorn did not start within 60 s")


def client_loop(port, token, bodies, offset, stop_at, record, errors, max_requests):
    """One client: post claims one after another until ``stop_at`` (or ``max_requests``), timing each."""
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    n = offset
    sent = 0
    while time.perf_counter() < stop_at and sent < max_requests:
        body = bodies[n % len(bodies)]
        n += 1
        sent += 1
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/v1/claims/check", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            errors.append(type(exc).__name__)
            continue
        elapsed = time.perf_counter() - started
        if status == 200:
            record.append(elapsed)
        else:
            errors.append(str(status))
    connection.close()


def run_load(port, token, bodies, clients, seconds, max_requests) -> tuple[list[float], list[str], float]:
    records: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    stop_at = time.perf_counter() + seconds
    threads = [
        threading.Thread(
            target=client_loop,
            args=(port, token, bodies, i * 37, stop_at, records[i], errors, max_requests // clients),
            daemon=True,
        )
        for i in range(clients)
    ]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - started
    return [x for r in records for x in r], errors, elapsed


WRK_SCRIPT = r"""
local bodies, i, token = {}, 0, ""
init = function(args)
  token = args[2]
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
end
request = function()
  i = i % #bodies + 1
  return wrk.format("POST", "/api/v1/claims/check",
    {["Content-Type"] = "application/json", ["Authorization"] = "Token " .. token}, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "seconds": %f, "p50": %d, "p90": %d, "p99": %d, "max": %d, '
    .. '"mean": %f, "errors": %d, "status_errors": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect + e.read + e.write + e.timeout, e.status))
end
"""


def run_wrk(wrk: str, port, token, bodies, clients, seconds) -> dict:
    """wrk with ``clients`` connections on 2 threads for ``seconds``; its summary (latencies in microseconds)."""
    script, lines = OUT / "bench_api.lua", OUT / "bench_api_claims.jsonl"
    script.write_text(WRK_SCRIPT)
    lines.write_bytes(b"\n".join(bodies) + b"\n")
    command = [wrk, "-t", "2", "-c", str(clients), "-d", f"{seconds:.0f}s", "--timeout", "10s", "-s", str(script)]
    command += [f"http://{HOST}:{port}", "--", str(lines), token]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise SystemExit(f"wrk said:\n{out}")
    return json.loads(line[4:])


def _parent(stat: Path) -> int:
    try:
        return int(stat.read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(master: int) -> float:
    """CPU time (user + system) used so far by the gunicorn master's worker processes."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None, help="default: deploy/gunicorn.conf.py's (2 x cores + 1)")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--ptp-rows", type=int, default=2_000_000)
    parser.add_argument("--python-client", action="store_true", help="load from Python threads even if wrk is here")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_DEBUG", "false")
    vendor = setup("api")

    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    print(f"machine: {machine()}; database: {vendor}")
    for what, seconds in load_code_sets(args.ptp_rows).items():
        print(f"loaded {what} in {seconds:.1f} s")
    token = Token.objects.get_or_create(user=User.objects.get(username="billing"))[0].key
    bodies = payloads(500)
    queries, warm_ms, cold_ms = in_process(bodies, token)
    print(
        f"claims posted: {len(bodies)} distinct, in turn; queries per request: {queries}, not counting BEGIN and "
        f"COMMIT (target <= 3); in-process "
        f"CPU per request: {warm_ms:.2f} ms with the access cache, {cold_ms:.2f} ms reading the user every time "
        "(target <= 2 ms)"
    )

    from django.db import connections

    connections.close_all()  # the server has the database to itself
    port = free_port()
    log = OUT / "gunicorn-api.log"
    server = start_gunicorn(port, args.workers, log)
    wrk = None if args.python_client else shutil.which("wrk")
    try:
        run_load(port, token, bodies, args.clients, args.warmup, args.max_requests)
        load_before, cpu_before = os.getloadavg()[0], cpu_seconds(server.pid)
        if wrk:
            summary = run_wrk(wrk, port, token, bodies, args.clients, args.seconds)
        else:
            latencies, errors, elapsed = run_load(port, token, bodies, args.clients, args.seconds, args.max_requests)
        server_cpu = cpu_seconds(server.pid) - cpu_before
        workers = sum(1 for p in Path("/proc").glob("[0-9]*/stat") if _parent(p) == server.pid)
        rss = peak_rss_mib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    client = "wrk (2 threads)" if wrk else "Python threads (http.client)"
    if wrk:
        ok = summary["requests"] - summary["errors"] - summary["status_errors"]
        elapsed = summary["seconds"]
        p50, p90, p99, top = (summary[k] / 1000 for k in ("p50", "p90", "p99", "max"))
        mean, error_count = summary["mean"] / 1000, summary["errors"] + summary["status_errors"]
    else:
        if not latencies:
            raise SystemExit(f"no request succeeded: {errors[:5]}\n{log.read_text()[-3000:]}")
        ms = [x * 1000 for x in latencies]
        ok, error_count = len(ms), len(errors)
        p50, p90, p99, top, mean = (*(percentile(ms, p) for p in (50, 90, 99)), max(ms), statistics.fmean(ms))
    print(
        f"gunicorn config.wsgi -w {workers} on {HOST}:{port}; {args.clients} concurrent clients ({client}) "
        f"for {elapsed:.1f} s after a {args.warmup:.0f} s warm-up"
    )
    print(
        f"POST /api/v1/claims/check: {ok:,} ok, {error_count} errors; {ok / elapsed:,.0f} requests/s; "
        f"latency p50 {p50:.1f} ms, p90 {p90:.1f} ms, p99 {p99:.1f} ms, max {top:.1f} ms, mean {mean:.1f} ms "
        "(target: p99 < 50 ms)"
    )
    print(
        f"server CPU: {1000 * server_cpu / max(ok, 1):.1f} ms per request over the {workers} workers "
        f"({server_cpu / elapsed:.2f} of the machine's {os.cpu_count()} cores busy with them); the machine's load "
        f"average was {load_before:.1f} when the run began (other work shares these cores); largest worker "
        f"{rss:.0f} MiB resident at its peak"
    )
    if not wrk and errors:
        print(f"errors: {sorted(set(errors))[:5]}")


if __name__ == "__main__":
    main()
