"""What every kind of background job (batch uploads, report files, code-set refreshes) shares about sending.

A job is a row first and a Celery message second. When the broker does not take the message, the row stays
``queued`` and ``send`` raises ``JobNotQueued``: a web request answers 503 (config.outage: "saved, starts when the
queue is back"), and the periodic sweeper (``billing.tasks.sweep_jobs``, on the beat schedule) sends every row
left queued, or running with nobody working on it, again. Jobs are idempotent by their rows (done markers, status
checks), so a message sent twice costs a little work and changes nothing.
"""

from __future__ import annotations

import logging
import os
import socket

from kombu.exceptions import OperationalError

log = logging.getLogger(__name__)


class JobNotQueued(OperationalError):
    """The broker did not take a job's message; the job's row is kept queued for the sweeper."""


def send(task, *args, what: str = "job") -> str:
    """``task.delay(*args)``; the task id. Broker down: ``JobNotQueued`` (the row stays as it is)."""
    try:
        return task.delay(*args).id or ""
    except OperationalError as exc:
        log.error("%s could not be queued (%s): kept for the sweeper", what, type(exc).__name__)
        raise JobNotQueued(f"{what} could not be queued: the task broker did not answer") from exc


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
