"""The periodic sweeper of the background jobs (the task ``jobs.sweep``, on the beat schedule every
``JOB_SWEEP_SECONDS``): nothing stays queued or running for good after a broker outage or a killed worker.

- A batch upload queued for longer than ``JOB_STALE_SECONDS`` (its message was never taken, or lost when Redis
  restarted empty): ``start_upload`` again. Running with no chunk stored for that long: only its chunks without a
  done marker are sent again (a chunk checks and stores in one transaction with its marker, so none is checked
  twice); every chunk in but not finished (the finishing message lost): ``finish_upload``.
- A report file queued for that long, or running without a heartbeat for that long (its worker died):
  ``build_check_report`` again (it takes the file over).
- An X12 upload queued for that long, or running with its worker gone (no heartbeat for that long, or its
  process dead): ``import_x12_upload`` again (it takes the upload over; the import and its done marker commit
  together, so nothing is imported twice).
- Refresh runs: ``codes.refresh.requeue_stuck`` (queued too long, or running with a dead worker; a redelivered
  run is taken over, or failed after ``MAX_ATTEMPTS``).
- Work files and results parts of uploads that are no longer running are removed.

Sending again is always safe: every job is idempotent by its row. With the broker still down a send raises and
the next sweep tries again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from billing.models import BatchUpload, JobStatus, ReportFile, X12Upload
from billing.uploads import jobs as upload_jobs
from billing.uploads import resultparts
from config import jobs
from config.jobs import JobNotQueued, send

log = logging.getLogger(__name__)

WORK_DIR = resultparts.WORK_DIR


def _last_activity(upload: BatchUpload) -> datetime:
    """The latest of: created/started, a chunk stored, the sweeper's last send (so a backlog in the queue gets
    one more copy of its messages per stale period, not one per sweep), the finish's heartbeat."""
    moments = [upload.started_at or upload.created_at]
    plan = upload.chunk_plan or {}
    for key in ("swept_at", upload_jobs.FINISH_BEAT):
        with contextlib.suppress(KeyError, TypeError, ValueError):
            moments.append(datetime.fromisoformat(plan[key]))
    for run in (upload.chunk_runs or {}).values():
        try:
            moments.append(datetime.fromisoformat(run["at"]))
        except (KeyError, TypeError, ValueError):
            continue
    return max(m for m in moments if m is not None)


def sweep(now: datetime | None = None) -> dict:
    """Send again what is stuck; -> what was sent, by kind (ids), and the work files removed."""
    from billing import tasks
    from codes import refresh

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    out: dict = {"uploads_started": [], "chunks": {}, "uploads_finished": []}

    stamp = now.isoformat()
    for upload in BatchUpload.objects.filter(status__in=jobs.ACTIVE, created_at__lt=cutoff):
        if _last_activity(upload) >= cutoff:
            continue
        if upload.status == JobStatus.QUEUED:
            send(tasks.start_upload, upload.pk, what=f"upload {upload.pk}")
            out["uploads_started"].append(upload.pk)
        elif pending := upload_jobs.send_rest(upload):
            out["chunks"][upload.pk] = pending
        else:
            out["uploads_finished"].append(upload.pk)
        # planning replaces chunk_plan whole, and only from queued: this key never hides a plan
        BatchUpload.objects.filter(pk=upload.pk, status=upload.status).update(
            chunk_plan={**(upload.chunk_plan or {}), "swept_at": stamp}
        )

    out["reports"] = _send_owned_again(ReportFile, tasks.build_check_report, now, cutoff, "report file")
    out["x12_uploads"] = _send_owned_again(X12Upload, tasks.import_x12_upload, now, cutoff, "X12 upload")
    out["refreshes"] = refresh.requeue_stuck()
    out["work_files_removed"] = clean_work_files()
    if any(
        out[key] for key in ("uploads_started", "chunks", "uploads_finished", "reports", "x12_uploads", "refreshes")
    ):
        log.warning("sweeper sent stuck jobs again: %s", out)
    return out


def _send_owned_again(model, task, now: datetime, cutoff: datetime, what: str) -> list[int]:
    """Jobs one worker owns while they run (report files, X12 uploads): send again those queued for the stale
    time, or running with their worker gone (``config.jobs.owner_alive``); the job takes the row over. The row is
    marked before sending (no worker, heartbeat now: a worker may take the message at once, and its claim must not
    be undone), and put back when the broker does not take the message."""
    sent = []
    for job in model.objects.filter(status__in=jobs.ACTIVE, created_at__lt=cutoff):
        if job.heartbeat_at is not None and job.heartbeat_at >= cutoff and not job.worker:
            continue  # sent again by a sweep a moment ago, still waiting in the queue
        if job.status == JobStatus.RUNNING and job.worker and jobs.owner_alive(job):
            continue
        if not model.objects.filter(pk=job.pk, status=job.status, worker=job.worker).update(
            heartbeat_at=now, worker=""
        ):
            continue  # taken meanwhile
        try:
            send(task, job.pk, what=f"{what} {job.pk}")
        except JobNotQueued:
            model.objects.filter(pk=job.pk, heartbeat_at=now, worker="").update(heartbeat_at=job.heartbeat_at)
            raise  # the next sweep tries again
        sent.append(job.pk)
    return sent


def clean_work_files() -> int:
    """Remove work files and results parts no running upload reads (left by a worker killed while planning, or
    after the end)."""
    try:
        _, names = default_storage.listdir(WORK_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    active = list(BatchUpload.objects.filter(status__in=jobs.ACTIVE).values_list("pk", "chunk_plan"))
    wanted = {(plan or {}).get("work_file") for _, plan in active}
    parts = tuple(resultparts.part_prefix(pk) for pk, _ in active)
    removed = 0
    for name in names:
        path = f"{WORK_DIR}/{name}"
        if path in wanted or name.startswith(parts):
            continue
        # a planning worker saves the file a moment before the row names it: leave young files alone
        try:
            modified = default_storage.get_modified_time(path)
        except (OSError, NotImplementedError):
            continue
        if timezone.now() - modified < timedelta(seconds=settings.JOB_STALE_SECONDS):
            continue
        default_storage.delete(path)
        removed += 1
    return removed
