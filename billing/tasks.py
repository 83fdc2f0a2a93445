"""The Celery tasks of the billing app, and nothing else: each takes ids and calls one service function, where all
the work is (config.jobs says the idiom). Task names are explicit and never change.

A batch upload (billing.uploads.jobs): ``start_upload`` plans it (one read of the file) and sends a group of
``check_upload_chunk`` tasks, one per chunk of claims, so a large file spreads over the workers; the chunk that
stores the last one sends ``finish_upload``, which writes the results workbook. The finishing step is triggered
from the database (the chunk's transaction knows it was the last) rather than by a chord, so it needs no result
backend and a redelivered chunk cannot trigger it early. With no Redis (``CELERY_TASK_ALWAYS_EAGER``) the same
tasks run in-process, one after the other. A report file: billing.reports.jobs; an X12 upload: billing.x12.jobs;
the periodic sweeper: billing.sweep.
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

DB_RETRIES = 3  # a chunk that meets a database hiccup tries again this many times, 2, 4 and 8 s later


@shared_task(name="billing.start_upload", acks_late=True, reject_on_worker_lost=True)
def start_upload(upload_id: int) -> str:
    """Plan an upload and send its chunks. Redelivered: sends the chunks not yet done (they are idempotent)."""
    from billing.uploads.jobs import start

    return start(upload_id)


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
    from billing.uploads.jobs import run_chunk

    return run_chunk(upload_id, index, retried=not self.request.is_eager)


@shared_task(name="billing.finish_upload", acks_late=True, reject_on_worker_lost=True)
def finish_upload(upload_id: int) -> str:
    """Write the results workbook and mark the upload done."""
    from billing.uploads.jobs import run_finish

    return run_finish(upload_id)


@shared_task(name="billing.build_check_report", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def build_check_report(report_id: int) -> dict:
    """Build the check report of ``ReportFile`` ``report_id`` (billing.reports.jobs.run_check_report)."""
    from billing.reports.jobs import run_check_report

    return run_check_report(report_id)


@shared_task(name="billing.import_x12_upload", acks_late=True, reject_on_worker_lost=True)
def import_x12_upload(upload_id: int) -> str:
    """Import an uploaded 837P or 835 (billing.x12.jobs): one transaction; a redelivery after a killed worker
    starts again, a finished upload is not imported twice."""
    from billing.x12.jobs import run_upload

    return run_upload(upload_id)


@shared_task(name="jobs.sweep", ignore_result=True)
def sweep_jobs() -> dict:
    """The periodic sweeper (beat schedule ``CELERY_BEAT_SCHEDULE``): sends again every job left queued or running
    with nobody on it (uploads, report files, X12 uploads, refreshes) and removes leftover work files."""
    from billing.sweep import sweep

    return sweep()
