"""Run every benchmark in turn on SQLite, and on PostgreSQL too when BENCH_DATABASE_URL is set.

.venv/bin/python bench/run_all.py
BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mild_bench .venv/bin/python bench/run_all.py
"""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = [
    ["bench_icd10cm.py"],
    ["bench_load_ptp.py", "--rows", "2000000"],
    ["bench_report.py"],
    ["bench_guide_report.py"],
    ["bench_check.py"],
    ["bench_api.py"],
]


def main() -> int:
    databases = [("sqlite", None)]
    if os.environ.get("BENCH_DATABASE_URL"):
        databases.append(("postgresql", os.environ["BENCH_DATABASE_URL"]))
    failed = 0
    for name, url in databases:
        env = {k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"}
        if url:
            env["BENCH_DATABASE_URL"] = url
        for script in SCRIPTS:
            if not (HERE / script[0]).exists():
                continue
            print(f"\n### {script[0]} on {name}", flush=True)
            failed += subprocess.call([sys.executable, str(HERE / script[0]), *script[1:]], env=env, cwd=HERE.parent)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
