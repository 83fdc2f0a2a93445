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

from django.core.files import File
from django.utils import timezone

from billing.models import JobStatus, ReportFile
from billing.reports.data import Period, check_records, count_checks, rule_titles
from billing.reports.workbook import CheckRecord, write_check_report
from config import jobs

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
            jobs.heartbeat(ReportFile, report_id, progress=min(95, 95 * n // max(total, 1)))
        yield row


def run_check_report(report_id: int) -> dict:
    """Build one check report; return a small summary (also what the Celery task returns). A second delivery
    while its first run is alive, or a finished report, is left as it is; a report whose worker died is built
    again (``config.jobs.take_over``)."""
    report = jobs.take_over(ReportFile, report_id, progress=0, error="")
    if report is None:
        status = ReportFile.objects.filter(pk=report_id).values_list("status", flat=True).first()
        if status is None:
            log.warning("report file %s: no such report", report_id)
        return {"report": report_id, "status": status or "missing"}
    report = ReportFile.objects.select_related("practice").get(pk=report_id)
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
        jobs.fail(ReportFile, report_id, f"{type(exc).__name__}: {exc}"[:2000])
        return {"report": report_id, "status": JobStatus.FAILED.value, "error": str(exc)}


def start_check_report(practice, period: Period, user=None) -> ReportFile:
    """Create the ReportFile and queue its job once it is committed (with eager Celery it runs then, before this
    returns when no transaction is open). The broker down: the file stays queued for the sweeper and
    ``JobNotQueued`` is raised (a 503 for the page)."""
    from billing.tasks import build_check_report

    report = ReportFile.objects.create(
        practice=practice,
        kind=REPORT,
        parameters=report_parameters(period),
        created_by=user if getattr(user, "pk", None) else None,
    )
    jobs.send_on_commit(build_check_report, report.pk, what=f"report file {report.pk}")
    report.refresh_from_db()
    return report
