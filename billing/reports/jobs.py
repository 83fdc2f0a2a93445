"""Report files as Celery jobs: a ``ReportFile`` id in, the workbook saved to ``ReportFile.file`` out.

``build_check_report`` streams the practice's checked claims for the period (``billing.reports.data``: two
streamed queries, no query per row) into ``reports.workbook.write_check_report``, updates ``progress`` about every
2% of the rows, and saves the file. A failure is recorded on the ReportFile (status failed, the error) and the
job itself never raises, so a worker does not retry a report that cannot be built.
"""

from __future__ import annotations

import logging
import tempfile
import zoneinfo
from collections.abc import Iterator
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from billing.models import JobStatus, ReportFile
from billing.reports.data import Period, check_records, count_checks, rule_titles
from billing.reports.workbook import CheckRecord, write_check_report
from config.jobs import process_gone, send, worker_id

log = logging.getLogger(__name__)

REPORT = "report"
GUIDE = "guide"


def report_parameters(period: Period) -> dict:
    return {"period_from": period.start, "period_to": period.end}


def report_filename(report: ReportFile) -> str:
    period = Period(report.parameters.get("period_from"), report.parameters.get("period_to"))
    return f"check-report-{report.practice.key}-{period.text().replace(' ', '-')}.xlsx"


def _with_progress(report_id: int, rows: Iterator[CheckRecord], total: int) -> Iterator[CheckRecord]:
    """Pass the rows through, writing the progress (0-95%: the last 5% are the figures sheets and the save) and
    the heartbeat the sweeper reads."""
    step = max(1, total // 50)
    for n, row in enumerate(rows, 1):
        if n % step == 0:
            ReportFile.objects.filter(pk=report_id).update(
                progress=min(95, 95 * n // max(total, 1)), heartbeat_at=timezone.now()
            )
        yield row


def owner_alive(report: ReportFile) -> bool:
    """Is someone building this running report? No heartbeat for JOB_STALE_SECONDS, or its process gone: no."""
    stale = timedelta(seconds=settings.JOB_STALE_SECONDS)
    if report.heartbeat_at is None or timezone.now() - report.heartbeat_at > stale:
        return False
    return not process_gone(report.worker)


def run_check_report(report_id: int) -> dict:
    """Build one check report; return a small summary (also what the Celery task returns)."""
    with transaction.atomic():
        report = ReportFile.objects.select_for_update().select_related("practice").filter(pk=report_id).first()
        if report is None:
            log.warning("report file %s: no such report", report_id)
            return {"report": report_id, "status": "missing"}
        if report.status in (JobStatus.DONE, JobStatus.FAILED) or (
            report.status == JobStatus.RUNNING and report.worker and owner_alive(report)  # no worker: swept
        ):
            return {"report": report_id, "status": report.status}  # delivered twice: the first run owns it
        if report.status == JobStatus.RUNNING:
            log.warning("report file %s: its worker %s stopped; built again", report_id, report.worker)
        report.status, report.progress, report.error = JobStatus.RUNNING, 0, ""
        report.heartbeat_at, report.worker = timezone.now(), worker_id()
        report.save(update_fields=["status", "progress", "error", "heartbeat_at", "worker"])
    # months and the "generated" stamp in the practice's own time zone, as on the report page (practice.middleware)
    with timezone.override(zoneinfo.ZoneInfo(report.practice.time_zone)):
        return _build(report_id, report)


def _build(report_id: int, report: ReportFile) -> dict:
    try:
        if report.kind != REPORT:
            raise ValueError(f"report file {report_id} is a {report.kind!r}, not a check report")
        params = report.parameters or {}
        period = Period(params.get("period_from"), params.get("period_to"))
        practice_ids = [report.practice_id]
        total = count_checks(practice_ids, period)
        rows = _with_progress(report_id, check_records(practice_ids, period), total)
        with tempfile.TemporaryFile(suffix=".xlsx") as fh:
            figures = write_check_report(
                rows,
                fh,
                period_from=period.start,
                period_to=period.end,
                practice_name=report.practice.name,
                rule_titles=rule_titles(),
                generated_at=timezone.localtime().replace(tzinfo=None),
            )
            fh.seek(0)
            report.file.save(report_filename(report), File(fh), save=False)
        report.status, report.progress, report.finished_at = JobStatus.DONE, 100, timezone.now()
        report.parameters = {
            **params,
            "checks": figures.total.checks,
            "with_errors": figures.total.errors,
        }
        report.save(update_fields=["file", "status", "progress", "finished_at", "parameters"])
        log.info("report file %s: %d checks", report_id, figures.total.checks)
        return {"report": report_id, "status": JobStatus.DONE.value, "checks": figures.total.checks}
    except Exception as exc:
        log.exception("report file %s failed", report_id)
        ReportFile.objects.filter(pk=report_id).update(
            status=JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        return {"report": report_id, "status": JobStatus.FAILED.value, "error": str(exc)}


@shared_task(name="billing.build_check_report", ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def build_check_report(report_id: int) -> dict:
    """Celery: build the check report of ``ReportFile`` ``report_id`` (see ``run_check_report``)."""
    return run_check_report(report_id)


def start_check_report(practice, period: Period, user=None) -> ReportFile:
    """Create the ReportFile and queue its job (run at once when Celery is eager). The broker down: the file
    stays queued for the sweeper and ``JobNotQueued`` is raised (a 503 for the page)."""
    report = ReportFile.objects.create(
        practice=practice,
        kind=REPORT,
        parameters=report_parameters(period),
        created_by=user if getattr(user, "pk", None) else None,
    )
    send(build_check_report, report.pk, what=f"report file {report.pk}")
    report.refresh_from_db()
    return report
