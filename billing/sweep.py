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
- Work files of uploads that are no longer running are removed.

Sending again is always safe: every job is idempotent by its row. With the broker still down a send raises and
the next sweep tries again.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta

from celery import group
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from billing.models import BatchUpload, JobStatus, ReportFile, X12Upload
from billing.uploads import jobs as upload_jobs
from config.jobs import JobNotQueued, send

log = logging.getLogger(__name__)

WORK_DIR = "uploads/work"


def _last_activity(upload: BatchUpload) -> datetime:
    """The latest of: created/started, a chunk stored, the sweeper's last send (so a backlog in the queue gets
    one more copy of its messages per stale period, not one per sweep)."""
    moments = [upload.started_at or upload.created_at]
    with contextlib.suppress(KeyError, TypeError, ValueError):
        moments.append(datetime.fromisoformat((upload.chunk_plan or {})["swept_at"]))
    for run in (upload.chunk_runs or {}).values():
        try:
            moments.append(datetime.fromisoformat(run["at"]))
        except (KeyError, TypeError, ValueError):
            continue
    return max(m for m in moments if m is not None)


def sweep(now: datetime | None = None) -> dict:
    """Send again what is stuck; -> what was sent, by kind (ids), and the work files removed."""
    from billing.reports.jobs import build_check_report, owner_alive
    from billing.tasks import check_upload_chunk, finish_upload, import_x12_upload, start_upload
    from billing.x12.jobs import owner_alive as x12_owner_alive
    from codes import refresh

    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.JOB_STALE_SECONDS)
    out: dict = {
        "uploads_started": [],
        "chunks": {},
        "uploads_finished": [],
        "reports": [],
        "x12_uploads": [],
        "refreshes": [],
    }

    stamp = now.isoformat()
    for upload in BatchUpload.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__lt=cutoff):
        if _last_activity(upload) >= cutoff:
            continue
        if upload.status == JobStatus.QUEUED:
            start_upload.delay(upload.pk)
            out["uploads_started"].append(upload.pk)
        elif pending := upload_jobs.pending_chunks(upload):
            group(check_upload_chunk.si(upload.pk, index) for index in pending).apply_async()
            out["chunks"][upload.pk] = pending
        else:
            finish_upload.delay(upload.pk)
            out["uploads_finished"].append(upload.pk)
        # planning replaces chunk_plan whole, and only from queued: this key never hides a plan
        BatchUpload.objects.filter(pk=upload.pk, status=upload.status).update(
            chunk_plan={**(upload.chunk_plan or {}), "swept_at": stamp}
        )

    reports = ReportFile.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__lt=cutoff)
    for report in reports:
        if report.heartbeat_at is not None and report.heartbeat_at >= cutoff and not report.worker:
            continue  # sent again by a sweep a moment ago, still waiting in the queue
        if report.status == JobStatus.RUNNING and report.worker and owner_alive(report):
            continue
        build_check_report.delay(report.pk)
        ReportFile.objects.filter(pk=report.pk, status=report.status).update(heartbeat_at=now, worker="")
        out["reports"].append(report.pk)

    x12_uploads = X12Upload.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING], created_at__lt=cutoff)
    for x12 in x12_uploads:
        if x12.heartbeat_at is not None and x12.heartbeat_at >= cutoff and not x12.worker:
            continue  # sent again by a sweep a moment ago, still waiting in the queue
        if x12.status == JobStatus.RUNNING and x12.worker and x12_owner_alive(x12):
            continue
        # marked before sending: a worker may take the message at once, and its claim must not be undone
        marked = X12Upload.objects.filter(pk=x12.pk, status=x12.status, worker=x12.worker)
        if not marked.update(heartbeat_at=now, worker=""):
            continue  # taken meanwhile
        try:
            send(import_x12_upload, x12.pk, what=f"X12 upload {x12.pk}")
        except JobNotQueued:
            X12Upload.objects.filter(pk=x12.pk, heartbeat_at=now, worker="").update(heartbeat_at=x12.heartbeat_at)
            raise  # the next sweep tries again
        out["x12_uploads"].append(x12.pk)

    out["refreshes"] = refresh.requeue_stuck()
    out["work_files_removed"] = clean_work_files()
    if any(
        out[key] for key in ("uploads_started", "chunks", "uploads_finished", "reports", "x12_uploads", "refreshes")
    ):
        log.warning("sweeper sent stuck jobs again: %s", out)
    return out


def clean_work_files() -> int:
    """Remove work files no running upload reads (left by a worker killed while planning, or after the end)."""
    try:
        _, names = default_storage.listdir(WORK_DIR)
    except (FileNotFoundError, NotImplementedError):
        return 0
    wanted = {
        (plan or {}).get("work_file")
        for plan in BatchUpload.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).values_list(
            "chunk_plan", flat=True
        )
    }
    removed = 0
    for name in names:
        path = f"{WORK_DIR}/{name}"
        if path in wanted:
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
