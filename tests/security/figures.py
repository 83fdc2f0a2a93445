"""Print the figures the security tests measured (var/security-figures/*.json), for docs/security.md.

python -m pytest tests/security          # measures (each test writes its figures)
python -m tests.security.figures         # prints the summary
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def load(directory: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))}


def summary(figures: dict[str, dict]) -> list[str]:
    out = []
    matrix = {k: v for k, v in figures.items() if k.startswith("authz_matrix_")}
    if matrix:
        requests = sum(v["requests"] for v in matrix.values())
        patterns = max(v["url_patterns"] for v in matrix.values())
        per_role = sorted({v["requests"] for v in matrix.values()})
        failures = sum(v["failures"] for v in matrix.values())
        out.append(
            f"authorisation matrix: {len(matrix)} roles x {'/'.join(map(str, per_role))} requests "
            f"({patterns} URL patterns from the resolver) = {requests} requests, {failures} unexpected"
        )
        for _, v in sorted(matrix.items()):
            out.append(f"  {v['role']}: {v['statuses']}")
    if "fuzz" in figures:
        f = figures["fuzz"]
        out.append(
            f"fuzz: {f['cases']} cases over {f['operations']} operations (positive and negative, "
            f"{f['examples_per_operation_and_mode']} examples each) in {f['seconds']} s, "
            f"{f['server_errors']} server errors; statuses {f['statuses']}"
        )
    faults = {k: v for k, v in figures.items() if k.startswith("faults_")}
    if faults:
        kinds = [kind for v in faults.values() for kind in v["kinds"]]
        out.append(f"faults injected: {len(kinds)}")
        out.extend(f"  {kind}" for kind in kinds)
    threads = {k: v for k, v in figures.items() if k.startswith("concurrency_")}
    for name, v in sorted(threads.items()):
        out.append(f"{name}: {v}")
    if "logging" in figures:
        v = figures["logging"]
        out.append(f"logging: {v['log_lines_checked']} log lines, {v['lines_with_claim_data']} with claim data")
    if "throttle" in figures:
        out.append(f"throttle: {figures['throttle']}")
    if "health_with_redis" in figures:
        out.append(f"health with Redis and a worker: {figures['health_with_redis']}")
    return out


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    root = Path(__file__).resolve().parents[2]
    directory = Path(os.environ.get("VAR_DIR", root / "var")) / "security-figures"
    figures = load(directory)
    if not figures:
        print(f"no figures in {directory}: run the security tests first", file=sys.stderr)
        return 1
    print("\n".join(summary(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
