"""A real Celery worker for integration tests, shared by every app.

Use it from a conftest (``from tests.conftest_worker import celery_worker_env, celery_worker_proc  # noqa: F401``)
and in tests marked ``integration`` that take ``transactional_db`` (rows must be committed for the worker to
see them)::

    pytestmark = [pytest.mark.integration, needs_services]

    def test_something(transactional_db, celery_worker_proc):
        result = my_task.delay(42).get(timeout=30)

``celery_worker_proc`` (session scope) starts ``celery -A config worker -P prefork -c 2 --without-heartbeat
--without-gossip --without-mingle`` as a subprocess on the pytest-django TEST database and the same REDIS_URL,
listening on a queue of its own (so parallel test sessions on one Redis do not take each other's tasks; the test
process sends there too), waits until it answers ``ping`` and stops it at the end. It skips the test when
REDIS_URL or a PostgreSQL DATABASE_URL is missing. Override the ``celery_worker_env`` fixture (session scope) in
a conftest to give the worker extra environment (e.g. shorter timeouts). The yielded ``WorkerProc`` has ``pid``,
``node``, ``queue``, ``log`` (its output file), ``children()`` (the pool's process ids) and ``tail()``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


def missing_services() -> str | None:
    """Why the integration tests cannot run here (None: they can)."""
    if not os.environ.get("REDIS_URL"):
        return "REDIS_URL is not set (integration tests need a real Redis)"
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://")):
        return "DATABASE_URL is not a PostgreSQL address (integration tests need a real PostgreSQL)"
    return None


needs_services = pytest.mark.skipif(missing_services() is not None, reason=missing_services() or "")


@dataclass
class WorkerProc:
    process: subprocess.Popen
    node: str
    queue: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[int]:
        """The pool's worker processes (children of the main worker process)."""
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.pid:
                out.append(int(stat.parent.name))
        return sorted(out)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _forget_queue(queue: str) -> None:
    """Drop the session's queue and its bindings from Redis (kombu keeps them otherwise)."""
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    client.close()


def _test_database_url(name: str) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def celery_worker_env() -> dict[str, str]:
    """Extra environment for the worker process (override in a conftest)."""
    return {}


@pytest.fixture(scope="session")
def celery_worker_proc(django_db_setup, django_db_blocker, celery_worker_env, tmp_path_factory):
    reason = missing_services()
    if reason:
        pytest.skip(reason)
    from django.db import connection

    from config.celery import app

    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]  # the test database, once pytest-django made it
    tag = uuid.uuid4().hex[:10]
    queue = f"test-{tag}"
    node = f"test-{tag}@{socket.gethostname()}"
    log = tmp_path_factory.mktemp("celery-worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(db_name),
        "REDIS_URL": os.environ["REDIS_URL"],
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONUNBUFFERED": "1",
        **celery_worker_env,
    }
    celery = Path(sys.executable).with_name("celery")
    command = [str(celery), "-A", "config", "worker", "-P", "prefork", "-c", "2", "--without-heartbeat"]
    command += ["--without-gossip", "--without-mingle", "-Q", queue, "-n", node, "-l", "info"]
    with open(log, "wb") as out:  # its own session: the fixture can stop the whole process group
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProc(process, node, queue, log)
    old_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"the Celery worker exited with {process.returncode}:\n{worker.tail()}")
            if app.control.ping(destination=[node], timeout=0.5):
                break
            if time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not answer ping within 60 s:\n{worker.tail()}")
        yield worker
    finally:
        app.conf.task_default_queue = old_queue
        if process.poll() is None:
            process.terminate()  # warm shutdown: lets a running task finish
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # its own process group (start_new_session)
                process.wait(timeout=10)
        _forget_queue(queue)
