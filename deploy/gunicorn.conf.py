"""gunicorn's settings for the ``web`` process (the Procfile's ``web`` line; bench/bench_api.py serves with the same).

Workers: ``WEB_WORKERS``, by default 2 × cores + 1 (gunicorn's own advice for sync workers). A request to
``POST /api/v1/claims/check`` spends part of its time waiting on PostgreSQL (the stored check's commit), and a sync
worker holds its core idle meanwhile: with only as many workers as cores the waits show in the tail. Measured on a
2-core machine (bench/bench_api.py, PostgreSQL, 16 clients, 20 s each, load average 1.1 to 2.6, 30 November 2026):
2 workers p50 30.8 ms / p99 74.7 ms; 3 workers 30.2 / 38.9 ms; 4 workers 28.7 / 42.3 ms; 5 workers 29.9 / 42.4 ms.
Each worker keeps its own read-only copy of the code sets (about 150 MiB with a full NCCI table): size the host's
memory for the workers it runs.
"""

import multiprocessing
import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
timeout = 60
graceful_timeout = 30
