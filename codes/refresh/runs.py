"""A refresh run's state: who works on it (the lock), its progress and heartbeat, how it ends, and the temporary
folders of runs nobody works on.

One refresh per kind at a time. The lock is the run itself: a partial unique index allows one ``running``
``RefreshRun`` per kind (PostgreSQL and SQLite alike, no transaction held open over a download, and visible in
the admin). A run whose worker died keeps the lock only until someone notices: its heartbeat (written with every
progress update) goes stale after ``REFRESH_STALE_SECONDS``, or, on the same host, its process is gone. Then a
redelivered task (``acks_late`` + ``reject_on_worker_lost``) takes its own run over, or the next run of the kind
fails it and goes ahead.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from codes.models import RefreshRun, Release
from config import jobs
from config.jobs import worker_id as worker_id

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a run whose worker dies this many times is given up
TEMP_PREFIX = "refresh-"

# claim outcomes besides a finished run's status
CLAIMED = "claimed"
BUSY = "busy"  # another run of the kind holds the lock: try again later
ELSEWHERE = "elsewhere"  # this run is being worked on by a live process (a duplicate delivery)


def owner_alive(run: RefreshRun) -> bool:
    """Is the process running ``run`` still there? No heartbeat for REFRESH_STALE_SECONDS, or its process gone
    (same host): no."""
    return jobs.owner_alive(run, settings.REFRESH_STALE_SECONDS)


class Progress:
    """Writes a run's step, percent, note and heartbeat, at most every ``interval`` seconds unless forced.

    During the load the default connection is inside the load's transaction, where an update would stay
    invisible until the end: ``config.jobs.OutsideTransaction`` writes it through a second connection on
    PostgreSQL; SQLite (one writer at a time) only sees the step boundaries."""

    def __init__(self, run_id: int, interval: float = 0.5):
        self.run_id = run_id
        self._write = jobs.OutsideTransaction(RefreshRun, run_id, interval, write_first=True)

    def __call__(self, step: str, percent: int | None = None, note: str = "", *, force: bool = False) -> None:
        self._write(force=force, step=step, percent=percent, progress_note=note[:200], heartbeat_at=timezone.now())

    def close(self) -> None:
        self._write.close()


def claim(run_id: int) -> str:
    """Take the run and its kind's lock. -> CLAIMED, BUSY, ELSEWHERE, or the status of a finished run."""
    run = RefreshRun.objects.get(pk=run_id)
    if run.finished:
        return run.status
    now = timezone.now()
    me = worker_id()
    if run.status == RefreshRun.Status.RUNNING:  # redelivered: its worker died, or this is a duplicate
        if owner_alive(run):
            return ELSEWHERE
        if run.attempts >= MAX_ATTEMPTS:
            fail(
                run,
                f"the worker running it stopped {run.attempts} times (last during {run.step or 'start'}); gave up. "
                "The release in force is untouched.",
            )
            return RefreshRun.Status.FAILED
        clean_temp(run.pk)  # what the stopped worker left (a download, an unpacked member)
        taken = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.RUNNING, worker=run.worker).update(
            worker=me,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            note=add_note(run.note, f"{run.worker} stopped during {run.step or 'start'}; taken over by {me}"),
        )
        return CLAIMED if taken else ELSEWHERE
    other = RefreshRun.objects.filter(kind=run.kind, status=RefreshRun.Status.RUNNING).exclude(pk=run.pk).first()
    if other is not None and not owner_alive(other):
        fail(
            other,
            f"the worker running it stopped during {other.step or 'start'} and did not come back; nothing of it "
            f"was put in force (run #{run.pk} refreshes {run.kind} instead)",
        )
    try:
        with transaction.atomic():
            taken = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.QUEUED).update(
                status=RefreshRun.Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                worker=me,
                attempts=F("attempts") + 1,
                step="start",
                percent=None,
                progress_note="",
            )
    except IntegrityError:
        holder = RefreshRun.objects.filter(kind=run.kind, status=RefreshRun.Status.RUNNING).first()
        other = f"run #{holder.pk}" if holder else "another run"
        values = {"progress_note": f"waiting for {other} of {run.kind} to finish"}
        if f"waited for {other}" not in run.note:
            values["note"] = add_note(run.note, f"waited for {other} of {run.kind} (one refresh per kind at a time)")
        RefreshRun.objects.filter(pk=run.pk).update(**values)
        return BUSY
    return CLAIMED if taken else ELSEWHERE


def add_note(note: str, line: str) -> str:
    return f"{note}\n{line}".strip()


def finish(run: RefreshRun, status: str, *, error: str = "", note: str = "", **extra):
    """Record the end of a run (only if this process still owns it)."""
    values = {
        "status": status,
        "finished_at": timezone.now(),
        "error": error,
        "step": "",
        "percent": None,
        "progress_note": "",
        "timings": run.timings,
        **extra,
    }
    if note:
        values["note"] = add_note(run.note, note)
    done = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.RUNNING, worker=run.worker).update(**values)
    if not done:
        log.warning("refresh run %s: no longer ours, its end (%s) was not recorded", run.pk, status)
    for name, value in values.items():
        setattr(run, name, value)


def fail(run: RefreshRun, error: str) -> None:
    held = Release.objects.filter(pk=run.release_id, status=Release.Status.HELD).first() if run.release_id else None
    if held is not None:  # loaded by this run but never put in force: keep it out of every answer
        Release.objects.filter(pk=held.pk).update(
            status=Release.Status.FAILED, notes=add_note(held.notes, f"refresh run #{run.pk} failed: {error}")
        )
    finish(run, RefreshRun.Status.FAILED, error=error)


def fail_waiting(run_id: int, error: str) -> None:
    RefreshRun.objects.filter(pk=run_id, status=RefreshRun.Status.QUEUED).update(
        status=RefreshRun.Status.FAILED, finished_at=timezone.now(), error=error, progress_note=""
    )


def clean_temp(run_id: int | None = None) -> list[str]:
    """Remove the temporary folders of refresh runs nobody is working on: one run's (when its task takes it over
    from a stopped worker), or every such folder (at worker start). A folder of a run whose live owner is on
    this host stays. -> the folders removed."""
    root = Path(tempfile.gettempdir())
    pattern = f"{TEMP_PREFIX}{run_id}-*" if run_id is not None else f"{TEMP_PREFIX}*"
    found: dict[int, list[Path]] = {}
    for path in root.glob(pattern):
        number = path.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if path.is_dir() and number.isdigit():
            found.setdefault(int(number), []).append(path)
    if not found:
        return []
    busy = set()
    if run_id is None:
        running = RefreshRun.objects.filter(pk__in=list(found), status=RefreshRun.Status.RUNNING)
        busy = {r.pk for r in running if owner_alive(r)}
    removed = []
    for number, paths in found.items():
        if number in busy:
            continue
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    if removed:
        log.info("removed %d leftover refresh folder(s)", len(removed))
    return removed
