"""The one job idiom of every feature (batch uploads, report files, X12 uploads, code-set refreshes).

A job is a row first and a Celery message second. A service creates the row and queues its task once the row is
committed (``send_on_commit``: a worker always finds it); the task takes the row's id and calls a service
function; retries are Celery's (``autoretry_for``, ``retry_backoff``, ``max_retries``), never hand-written. When
the broker does not take the message, the row stays ``queued`` and ``send`` raises ``JobNotQueued``: a web
request answers 503 (config.outage: "saved, starts when the queue is back"), and the periodic sweeper
(``jobs.sweep``, on the beat schedule) sends every row left queued, or running with nobody working on it, again.
Jobs are idempotent by their rows (done markers, status checks), so a message sent twice costs a little work and
changes nothing.

A job row records its progress and its end one way: ``status`` (queued, running, done, failed), ``error`` and
``finished_at`` (``fail``); a job one worker owns while it runs (report files, X12 uploads, refresh runs) also has
``worker`` (host:pid) and ``heartbeat_at`` (``take_over``, ``heartbeat``, ``owner_alive``); ``OutsideTransaction``
writes a heartbeat a long transaction would otherwise hide.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from contextlib import contextmanager
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


class JobNotQueued(OperationalError):
    """The broker did not take a job's message; the job's row is kept queued for the sweeper."""


@contextmanager
def _queued(what: str):
    """The broker refusing a message becomes ``JobNotQueued`` (logged without the message's arguments)."""
    try:
        yield
    except OperationalError as exc:
        log.error("%s could not be queued (%s): kept for the sweeper", what, type(exc).__name__)
        raise JobNotQueued(f"{what} could not be queued: the task broker did not answer") from exc


def send(task, *args, what: str = "job") -> str:
    """``task.delay(*args)``; the task id. Broker down: ``JobNotQueued`` (the row stays as it is)."""
    with _queued(what):
        return getattr(task.delay(*args), "id", "") or ""


def send_group(task, arguments, *, what: str = "jobs") -> None:
    """One message per tuple of ``arguments`` (a Celery group of ``task.si(*args)``: spread over the workers, no
    result backend needed). Broker down: ``JobNotQueued``."""
    from celery import group

    with _queued(what):
        group(task.si(*args) for args in arguments).apply_async()


def send_on_commit(task, *args, what: str = "job", background: bool = False) -> None:
    """``send(task, *args)`` once the current transaction commits (at once outside one), so the worker finds the
    job's row. ``background`` (a web page asking): with in-process Celery the job runs in a thread after the
    response instead of inside it (config.background). The broker down: the row stays queued for the sweeper and
    ``JobNotQueued`` reaches the page (503)."""
    if background:
        from config.background import in_background

        transaction.on_commit(partial(in_background, send, task, *args, what=what, label=what))
    else:
        transaction.on_commit(partial(send, task, *args, what=what))


# ---- the job's row: who owns it, its heartbeat, its end -----------------------------------------------------

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"  # billing.models.JobStatus's values
ACTIVE = (QUEUED, RUNNING)


def stale_seconds() -> int:
    return int(settings.JOB_STALE_SECONDS)


def owner_alive(job, stale: float | None = None) -> bool:
    """Is someone working on this running job (``heartbeat_at``, ``worker``)? No heartbeat for ``stale`` seconds
    (default JOB_STALE_SECONDS), or its process gone: no."""
    stale = stale_seconds() if stale is None else stale
    if job.heartbeat_at is None or timezone.now() - job.heartbeat_at > timedelta(seconds=stale):
        return False
    return not process_gone(job.worker)


def take_over(model, pk: int, **fields):
    """Lock the job's row and make this worker its owner: the row, or None when there is nothing to do (no such
    row, finished, or running under a live owner: a second delivery). A running job whose owner is gone (or that
    the sweeper sent again, ``worker`` empty) is taken over. ``fields`` are set with the status."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=pk).first()
        if job is None or job.status not in ACTIVE:
            return None
        if job.status == RUNNING and job.worker and owner_alive(job):
            return None
        if job.status == RUNNING:
            log.warning("%s %s: its worker %s stopped; taken over", model.__name__, pk, job.worker or "-")
        values = {"status": RUNNING, "heartbeat_at": timezone.now(), "worker": worker_id(), **fields}
        for name, value in values.items():
            setattr(job, name, value)
        job.save(update_fields=list(values))
    return job


def heartbeat(model, pk: int, **fields) -> None:
    """The job is alive (``heartbeat_at`` now), with its progress ``fields``."""
    model.objects.filter(pk=pk).update(heartbeat_at=timezone.now(), **fields)


def fail(model, pk: int, message: str, **only) -> bool:
    """Mark a queued or running job failed with the reason in plain words (``only``: further conditions, e.g.
    ``worker=`` the failing run's own). False when it had ended (or been taken over) meanwhile."""
    return bool(
        model.objects.filter(pk=pk, status__in=ACTIVE, **only).update(
            status=FAILED, error=message, finished_at=timezone.now()
        )
    )


class OutsideTransaction:
    """Writes columns of one row at most every ``interval`` seconds, visible at once even from inside a long
    transaction (an update there would stay invisible until its end): PostgreSQL gets it through a second
    connection; SQLite (one writer at a time) only outside the transaction. ``close()`` at the end."""

    def __init__(self, model, pk: int, interval: float = 5.0, *, write_first: bool = False):
        self.model, self.pk, self.interval = model, pk, interval
        self._last = float("-inf") if write_first else time.monotonic()  # write_first: the first call writes
        self._side = None

    def __call__(self, *, force: bool = False, **values) -> None:
        if not force and time.monotonic() - self._last < self.interval:
            return
        self._last = time.monotonic()
        if not connection.in_atomic_block:
            self.model.objects.filter(pk=self.pk).update(**values)
        elif connection.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection("default")
            ops = connection.ops
            columns = ", ".join(f"{ops.quote_name(self.model._meta.get_field(n).column)} = %s" for n in values)
            table = ops.quote_name(self.model._meta.db_table)
            with self._side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET {columns} WHERE id = %s",  # noqa: S608 (our table and column names)
                    [*values.values(), self.pk],
                )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_gone(worker: str) -> bool:
    """True when ``worker`` (host:pid) is a process of this host that no longer exists."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not pid_alive(int(pid))


def pid_alive(pid: int) -> bool:
    """A process of this host that exists and is not a zombie (a killed worker's orphans stay zombies where
    nothing reaps them, as in a container without an init)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
