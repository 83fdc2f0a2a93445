"""Celery tasks of the billing app. They take ids and call plain functions (billing.uploads.jobs); all the work
is there.

A batch upload: ``start_upload`` plans it (one read of the file) and sends a group of ``check_upload_chunk``
tasks, one per chunk of claims, so a large file spreads over the workers; the chunk that stores the last one
sends ``finish_upload``, which writes the results workbook. The finishing step is triggered from the database
(the chunk's transaction knows it was the last) rather than by a chord, so it needs no result backend and a
redelivered chunk cannot trigger it early. With no Redis (``CELERY_TASK_ALWAYS_EAGER``) the same tasks run
in-process, one after the other.
"""

from __future__ import annotations

import logging

from celery import group, shared_task
from django.db import InterfaceError, OperationalError

log = logging.getLogger(__name__)

DB_RETRIES = 3  # a chunk that meets a database hiccup tries again this many times, 2, 4 and 8 s later


@shared_task(name="billing.start_upload", acks_late=True, reject_on_worker_lost=True)
def start_upload(upload_id: int) -> str:
    """Plan an upload and send its chunks. Redelivered: sends the chunks not yet done (they are idempotent)."""
    from billing.models import JobStatus
    from billing.uploads import jobs as upload_jobs

    try:
        upload = upload_jobs.plan(upload_id)
    except Exception as exc:
        log.exception("upload %s: planning failed", upload_id)
        upload_jobs.fail(
            upload_id,
            f"The file could not be read ({exc.__class__.__name__}: {exc}). Export it again and upload it; if this "
            f"happens again, tell your administrator (upload {upload_id}).",
        )
        return JobStatus.FAILED
    if upload is None or upload.status != JobStatus.RUNNING:
        return upload.status if upload is not None else JobStatus.FAILED
    pending = upload_jobs.pending_chunks(upload)
    if pending:
        group(check_upload_chunk.si(upload_id, index) for index in pending).apply_async()
    else:
        finish_upload.delay(upload_id)
    upload.refresh_from_db(fields=["status"])
    return upload.status  # "running" on a worker; "done" when the chunks ran in-process (eager)


@shared_task(
    name="billing.check_upload_chunk",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),  # a database hiccup: Celery tries again 2, 4 and 8 s later
    retry_backoff=2,
    retry_jitter=False,
    max_retries=DB_RETRIES,
)
def check_upload_chunk(self, upload_id: int, index: int) -> int:
    """Check one chunk of an upload; the number of claims it stored (0: it was done already). A database that
    stays down past the retries leaves the chunk without its done marker: the sweeper sends it again later."""
    from billing.uploads import jobs as upload_jobs

    try:
        outcome = upload_jobs.check_chunk(upload_id, index)
    except (OperationalError, InterfaceError) as exc:
        if not self.request.is_eager:
            raise
        log.exception("upload %s chunk %s: database error", upload_id, index)  # in-process: no later try
        upload_jobs.fail_chunk(upload_id, index, exc)
        return 0
    except Exception as exc:
        log.exception("upload %s chunk %s failed", upload_id, index)
        upload_jobs.fail_chunk(upload_id, index, exc)
        return 0
    if outcome.finished:
        finish_upload.delay(upload_id)  # the broker down here: the sweeper sees every chunk in and sends it
    return outcome.claims


@shared_task(name="billing.finish_upload", acks_late=True, reject_on_worker_lost=True)
def finish_upload(upload_id: int) -> str:
    """Write the results workbook and mark the upload done."""
    from billing.uploads import jobs as upload_jobs

    try:
        return upload_jobs.finish(upload_id).status
    except Exception as exc:
        log.exception("upload %s: results workbook failed", upload_id)
        upload_jobs.fail(
            upload_id,
            f"Every claim was checked, but the results workbook could not be written ({exc.__class__.__name__}: "
            f"{exc}). The checks are kept; tell your administrator (upload {upload_id}).",
        )
        return "failed"


# ---- Report and guide jobs -----------------------------------------------------------------------------------
# Imported here so a worker (autodiscovery reads billing.tasks) knows the report task too.
from billing.reports.jobs import build_check_report  # noqa: E402, F401


@shared_task(name="billing.import_x12_upload", acks_late=True, reject_on_worker_lost=True)
def import_x12_upload(upload_id: int) -> str:
    """Import an uploaded 837P or 835 (billing.x12.jobs): one transaction; a redelivery after a killed worker
    starts again, a finished upload is not imported twice."""
    from billing.x12.jobs import run_upload

    return run_upload(upload_id)


@shared_task(name="jobs.sweep", ignore_result=True)
def sweep_jobs() -> dict:
    """The periodic sweeper (beat schedule ``CELERY_BEAT_SCHEDULE``): sends again every job left queued or running
    with nobody on it (uploads, report files, refreshes) and removes leftover work files."""
    from billing import sweep as job_sweep

    return job_sweep.sweep()
