"""GET /health/: JSON, 200 when the database, Redis and the Celery workers (when REDIS_URL is set) are fine, 503
when one is not; a stale code set is a warning (200), and /health/codesets/ says it on its own; no login; nothing
sensitive in the answer."""

from __future__ import annotations

import datetime
import os
import uuid
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client, override_settings

from codes import models as code_models
from codes import selectors as code_selectors
from tests.security.helpers import record_figures
from tests.testdata import CLOCK

REDIS_URL = os.environ.get("REDIS_URL", "")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="REDIS_URL is not set: no Redis and no Celery worker to check")


def _get(client=None):
    response = (client or Client()).get("/health/")
    return response.status_code, response.json(), response.content.decode()


def _no_sensitive_data(text: str) -> None:
    for needle in ("127.0.0.1", "localhost", "6379", "5432", "postgres", "password", "SECRET", "Traceback"):
        assert needle not in text, needle


def test_healthy_without_login(db):
    code_selectors.clear_cache()
    status, body, text = _get()
    if REDIS_URL:
        pytest.skip("with REDIS_URL the Celery check needs a worker: see test_healthy_with_redis_and_a_worker")
    assert status == 200
    assert body == {"status": "ok", "checks": {"database": "ok", "codesets": "ok"}}
    _no_sensitive_data(text)


def test_logged_in_users_get_the_same_answer(world):
    client = Client()
    client.force_login(world.users["billing"], backend="django.contrib.auth.backends.ModelBackend")
    assert _get(client)[1].keys() == {"status", "checks"}


def test_a_stale_code_set_is_a_warning_not_a_503(db, faults):
    """Liveness stays apart: a load balancer must not take the site out because a code set is out of date."""
    code_selectors.clear_cache()
    yesterday = datetime.date.today() - datetime.timedelta(days=2)
    code_models.Release.objects.create(
        kind="ncci-ptp-practitioner",
        label="NCCI PTP last quarter",
        effective_from=yesterday - datetime.timedelta(days=90),
        effective_to=yesterday,
        status=code_models.Release.Status.LOADED,
        sha256="stale",
    )
    with override_settings(REDIS_URL=""):
        status, body, text = _get()
        own = Client().get("/health/codesets/")
    assert status == 200 and body["status"] == "ok" and body["warnings"] == ["codesets"]
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["codesets"] == "warning: no release in force today for: ncci-ptp-practitioner"
    assert own.status_code == 200 and own.json() == {"status": "warning", "stale": ["ncci-ptp-practitioner"]}
    faults.append("health: stale code set (a warning)")
    _no_sensitive_data(text + own.content.decode())


def test_the_code_set_check_on_its_own(db):
    code_selectors.clear_cache()
    assert Client().get("/health/codesets/").json() == {"status": "ok", "stale": []}
    with mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("closed")):
        down = Client().get("/health/codesets/")
    assert down.status_code == 503 and down.json() == {"status": "unavailable", "stale": None}


def test_database_down_is_503(db, faults):
    with (
        override_settings(REDIS_URL=""),
        mock.patch("django.db.backends.utils.CursorWrapper.execute", side_effect=OperationalError("server closed")),
    ):
        status, body, text = _get()
    assert status == 503 and body["status"] == "unavailable"
    assert body["checks"]["database"] != "ok" and body["checks"]["database"].startswith("Unavailable")
    faults.append("health: database down")
    _no_sensitive_data(text)


@CLOCK
def test_redis_and_workers_unreachable_is_503(db, faults, clock):
    """REDIS_URL pointing at a closed port: Redis and the Celery ping fail, quickly, without details."""
    import time

    from config.celery import app

    closed = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    with override_settings(REDIS_URL=closed), mock.patch.object(app.control, "ping", return_value=[]):
        status, body, text = _get()
    assert status == 503
    assert body["checks"]["redis"].startswith("Unavailable: Unable to connect to Redis")
    assert body["checks"]["celery"] == "Unavailable: Celery workers unavailable"
    assert body["checks"]["database"] == "ok"
    assert not clock or time.monotonic() - started < 10
    faults.extend(["health: redis closed port", "health: no celery worker answers"])
    _no_sensitive_data(text.replace("127.0.0.1:1", ""))  # (the closed address is not in it either)
    assert ":1/" not in text


@pytest.fixture
def worker_queue():
    """A real Celery worker (a subprocess, as in production) serving a queue of its own, so that it takes no task
    of another test session on the same Redis; the app's default queue points there while the test runs."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    from django.conf import settings

    from config.celery import app

    queue = f"health-{uuid.uuid4().hex[:8]}"
    log = Path(settings.VAR_DIR) / f"{queue}.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test", "CELERY_SKIP_CHECKS": "1"}
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "-P",
        "solo",
        "-Q",
        queue,
        "-n",
        f"{queue}@%h",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
        "-l",
        "warning",
    ]
    with log.open("w") as out:
        worker = subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    old_queue = app.conf.task_default_queue
    try:
        deadline = time.monotonic() + 60
        while not any(f"{queue}@" in name for reply in app.control.ping(timeout=0.5) for name in reply):
            assert worker.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the worker did not answer within 60 s"
        app.conf.task_default_queue = queue
        yield queue
    finally:
        app.conf.task_default_queue = old_queue
        worker.terminate()
        try:
            worker.wait(20)
        except subprocess.TimeoutExpired:
            worker.kill()
        log.unlink(missing_ok=True)


@needs_redis
def test_healthy_with_redis_and_a_worker(db, worker_queue):
    status, body, text = _get()
    assert status == 200, body
    assert body == {"status": "ok", "checks": {"database": "ok", "codesets": "ok", "redis": "ok", "celery": "ok"}}
    _no_sensitive_data(text)
    record_figures("health_with_redis", body)


@needs_redis
def test_no_worker_is_503(db, faults):
    from config.celery import app

    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = f"nobody-{uuid.uuid4().hex[:8]}"  # no worker serves it
    try:
        status, body, _ = _get()
    finally:
        app.conf.task_default_queue = old_queue
    assert status == 503 and body["checks"]["redis"] == "ok"
    assert body["checks"]["celery"].startswith("Unavailable")
    faults.append("health: no worker on the queue (real Redis)")
