"""Schemathesis against the OpenAPI schema: every operation, valid and invalid input, as a billing user with a token,
through the project's WSGI app. No input may give a 500.

Bounded: FUZZ_EXAMPLES examples per operation and mode (default 25), under a two-minute budget, derandomised (the
same cases every run, so a failure replays). The schema is read from /api/schema/ as clients read it. Requests
reach the app in the test's own thread and database transaction (the request signals that would close its
connection are held off meanwhile).

Schemathesis' own pytest integration (``schemathesis.pytest.from_fixture(...).parametrize()``) fails under
pytest 9 (it sets ``request.node._nodeid``), so this drives its Python API: each operation's Hypothesis strategy
(``APIOperation.as_strategy``), ``Case.call`` on the WSGI app and its ``not_a_server_error`` check.
"""

from __future__ import annotations

import os
import time
from collections import Counter

import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from codes import selectors as code_selectors
from tests.security.helpers import record_figures
from tests.testdata import CLOCK

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
BUDGET_SECONDS = 110


def fuzz(operation, mode, auth, statuses: Counter, failures: list) -> None:
    """Hypothesis over one operation in one mode; every failing case is kept (not shrunk: the first is enough)."""
    label = f"{operation.method.upper()} {operation.path} ({mode.value})"

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        response = case.call(headers=auth)
        statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
            failures.append(f"{label}: {case.as_curl_command()}\n{exc}"[:3000])

    try:
        run()
    except Unsatisfiable:  # nothing to make invalid (an operation without parameters or body, negative mode)
        statuses["unsatisfiable (operation, mode)"] += 1


@CLOCK
def test_no_input_gives_a_server_error(world, clock):
    code_selectors.clear_cache()
    auth = {"Authorization": f"Token {world.tokens['billing']}"}
    statuses: Counter = Counter()
    failures: list[str] = []
    operations: list[str] = []
    started = time.monotonic()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers=auth)
        for result in schema.get_all_operations():
            operation = result.ok()
            operations.append(f"{operation.method.upper()} {operation.path}")
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                if clock and time.monotonic() - started > BUDGET_SECONDS:
                    failures.append("over the time budget")
                    break
                fuzz(operation, mode, auth, statuses, failures)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    elapsed = time.monotonic() - started
    unsatisfiable = statuses.pop("unsatisfiable (operation, mode)", 0)
    cases = sum(statuses.values())
    record_figures(
        "fuzz",
        {
            "operations": len(operations),
            "cases": cases,
            "server_errors": sum(n for s, n in statuses.items() if s >= 500),
            "statuses": {str(k): v for k, v in sorted(statuses.items())},
            "examples_per_operation_and_mode": EXAMPLES,
            "operation_modes_without_cases": unsatisfiable,
            "seconds": round(elapsed, 1),
        },
    )
    assert operations and cases >= len(operations), "nothing was fuzzed"
    assert not failures, "\n\n".join(failures)
