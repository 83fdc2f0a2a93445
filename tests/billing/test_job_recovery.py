"""Issue 14 item 4, in-process (eager Celery): every job kind outlives a broker outage at queue time (503, the row
kept queued) and a lost message or a killed worker (the periodic sweeper sends again only what is missing), and
temporary files are cleaned. The same on the real stack: test_job_recovery_worker.py."""

import os
import socket
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError

from billing import sweep as job_sweep
from billing import tasks
from billing.models import BatchUpload, ClaimCheck, JobStatus, ReportFile
from billing.reports import jobs as report_jobs
from billing.reports.data import Period
from billing.uploads import jobs as upload_jobs
from codes import snapshot as k
from codes.models import RefreshRun
from config.roles import BILLING_STAFF
from practice.models import Practice, PracticeMembership
from tests.billing.upload_data import csv_bytes, eager_celery  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def rows(count: int) -> list[dict]:
    return [
        {"claim_ref": f"R{n:04d}", "payer": "medicare", "place_of_service": "24", "date_of_service": "2026-05-04",
         "diagnoses": "M48.062", "code": code, "units": "1", "diagnosis_pointers": "1"}
        for n in range(count) for code in ("0275T", "77003")
    ]  # fmt: skip


@pytest.fixture
def practice(db) -> Practice:
    return Practice.objects.create(key="p", name="Practice", npi="1234567893")


def broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")


def checks_per_claim(upload) -> Counter:
    return Counter(ClaimCheck.objects.filter(upload=upload).values_list("result__claim_ref", flat=True))


def test_the_beat_schedule_runs_the_sweeper():
    entry = django_settings.CELERY_BEAT_SCHEDULE["sweep-stuck-jobs"]
    assert entry["task"] == "jobs.sweep" and entry["schedule"] == django_settings.JOB_SWEEP_SECONDS
    assert tasks.sweep_jobs.name == "jobs.sweep"
    assert tasks.check_upload_chunk.autoretry_for and tasks.check_upload_chunk.acks_late
    assert tasks.build_check_report.acks_late and tasks.build_check_report.reject_on_worker_lost


@pytest.mark.django_db(transaction=True)  # the upload is sent after the commit, as in production
def test_an_upload_added_while_the_broker_is_down_is_503_then_swept(practice, monkeypatch, settings):
    user = User.objects.create_user("b", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=BILLING_STAFF))
    PracticeMembership.objects.create(user=user, practice=practice)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    with monkeypatch.context() as patch:
        patch.setattr(tasks.start_upload, "delay", broker_down)
        answer = client.post(
            "/admin/billing/batchupload/add/",
            {"practice": practice.pk, "file": SimpleUploadedFile("c.csv", csv_bytes(rows(7)))},
            HTTP_ACCEPT="text/html",
        )
    assert answer.status_code == 503 and answer["Retry-After"] == "30"
    assert "your job was saved and starts by itself when the queue is back" in answer.content.decode()
    upload = BatchUpload.objects.get()
    assert upload.status == JobStatus.QUEUED
    assert job_sweep.sweep()["uploads_started"] == []  # not stale yet
    settings.JOB_STALE_SECONDS = 0
    assert job_sweep.sweep()["uploads_started"] == [upload.pk]
    upload.refresh_from_db()
    assert (upload.status, upload.done_claims) == ("done", 7)
    assert set(checks_per_claim(upload).values()) == {1} and len(checks_per_claim(upload)) == 7


def test_lost_chunks_are_sent_again_and_only_they(practice, settings, monkeypatch):
    """Redis restarted empty mid-upload: two of five chunks were stored, the rest of the messages are gone."""
    settings.UPLOAD_CHUNK_CLAIMS = 3
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows(14)), name="c.csv"), original_name="c.csv"
    )
    upload = upload_jobs.plan(upload.pk)
    assert upload.chunks_total == 5
    for index in (0, 3):
        upload_jobs.check_chunk(upload.pk, index)
    upload.refresh_from_db()
    before = dict(upload.chunk_runs)
    sent = []
    real = tasks.check_upload_chunk.run
    monkeypatch.setattr(tasks.check_upload_chunk, "run", lambda u, i: sent.append(i) or real(u, i))
    assert job_sweep.sweep()["chunks"] == {}  # activity a moment ago: left alone
    settings.JOB_STALE_SECONDS = 0
    assert job_sweep.sweep()["chunks"] == {upload.pk: [1, 2, 4]}
    assert sorted(sent) == [1, 2, 4]
    upload.refresh_from_db()
    assert (upload.status, upload.done_claims, upload.chunks_done) == ("done", 14, 5)
    assert {i: upload.chunk_runs[i] for i in before} == before  # the stored chunks were not done again
    assert set(checks_per_claim(upload).values()) == {1} and len(checks_per_claim(upload)) == 14
    assert not default_storage.exists(upload.chunk_plan["work_file"])


def test_a_lost_finish_is_sent_again(practice, settings, monkeypatch):
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows(4)), name="c.csv"), original_name="c.csv"
    )
    with monkeypatch.context() as patch:
        patch.setattr(tasks.finish_upload, "delay", broker_down)  # the last chunk could not send the finish
        with pytest.raises(OperationalError):
            tasks.start_upload.delay(upload.pk)
    upload.refresh_from_db()
    assert (upload.status, upload.chunks_done, upload.chunks_total) == ("running", 1, 1)
    settings.JOB_STALE_SECONDS = 0
    assert job_sweep.sweep()["uploads_finished"] == [upload.pk]
    upload.refresh_from_db()
    assert upload.status == "done" and upload.result_file
    assert len(checks_per_claim(upload)) == 4


def test_a_database_error_in_process_fails_the_upload_clearly(practice, monkeypatch):
    """In-process (no broker) there is no later try: the upload fails saying where. On a worker Celery tries
    again (autoretry_for, backoff) and then the sweeper: test_job_recovery_worker.py."""
    from django.db import OperationalError as DbError

    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows(3)), name="c.csv"), original_name="c.csv"
    )

    def down(upload_id, index, **kwargs):
        raise DbError("server closed the connection unexpectedly")

    monkeypatch.setattr(upload_jobs, "check_chunk", down)
    tasks.start_upload.delay(upload.pk)
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.error.startswith("The check stopped at claims 1 to 3 (part 1 of 1)")


def test_reports_stuck_queued_or_with_a_dead_worker_are_built_again(practice, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    dead = _dead_pid()
    old = timezone.now() - timedelta(hours=2)
    params = report_jobs.report_parameters(Period("2025-01", "2025-12"))
    here = socket.gethostname()

    def report(**extra):
        return ReportFile.objects.create(practice=practice, kind="report", parameters=params, **extra)

    queued = report()
    killed = report(status="running", worker=f"{here}:{dead}", heartbeat_at=timezone.now())
    silent = report(status="running", worker="elsewhere:1", heartbeat_at=old)
    alive = report(status="running", worker=f"{here}:{os.getpid()}", heartbeat_at=timezone.now())
    ReportFile.objects.update(created_at=old)
    assert sorted(job_sweep.sweep()["reports"]) == sorted([queued.pk, killed.pk, silent.pk])
    statuses = dict(ReportFile.objects.values_list("pk", "status"))
    assert statuses == {queued.pk: "done", killed.pk: "done", silent.pk: "done", alive.pk: "running"}


@pytest.mark.django_db(transaction=True)  # the job is sent after the commit, as in production
def test_a_report_queued_while_the_broker_is_down_is_503_on_the_page(practice, monkeypatch):
    from django.urls import reverse

    from config.roles import PRACTICE_MANAGERS

    user = User.objects.create_user("m", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=PRACTICE_MANAGERS))
    PracticeMembership.objects.create(user=user, practice=practice)
    client = Client(raise_request_exception=False)
    client.force_login(user)
    monkeypatch.setattr(tasks.build_check_report, "delay", broker_down)
    answer = client.post(reverse("billing-report-page"), {"practice": practice.pk, "period_from": "2025-01",
                                                          "period_to": "2025-12"})  # fmt: skip
    assert answer.status_code == 503, answer.content[:300]
    assert ReportFile.objects.get().status == JobStatus.QUEUED


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_refresh_whose_worker_was_killed_is_swept_and_its_temp_folder_removed(settings, tmp_path):
    settings.REFRESH_FILE_ROOT = str(tmp_path)
    source = tmp_path / "GPCI2026.csv"
    source.write_text("not a gpci file\n")
    run = RefreshRun.objects.create(kind=k.GPCI, url=source.as_uri(), status="running", step="download",
                                    worker=f"{socket.gethostname()}:{_dead_pid()}", attempts=1,
                                    heartbeat_at=timezone.now())  # fmt: skip
    left = Path(tempfile.mkdtemp(prefix=f"refresh-{run.pk}-"))
    (left / "big.zip").write_bytes(b"x" * 1000)
    swept = job_sweep.sweep()["refreshes"]
    assert swept == [run.pk]
    run.refresh_from_db()
    assert run.status == "failed" and run.attempts == 2 and "taken over by" in run.note  # finished, not running
    assert not left.exists()


def test_leftover_refresh_folders_are_removed_at_worker_start_but_not_a_live_runs(settings):
    me = f"{socket.gethostname()}:{os.getpid()}"
    live = RefreshRun.objects.create(
        kind=k.GPCI, url="https://x/GPCI.csv", status="running", worker=me, heartbeat_at=timezone.now()
    )
    done = RefreshRun.objects.create(kind=k.HCPCS, url="https://x/H.txt", status="failed")
    keep = Path(tempfile.mkdtemp(prefix=f"refresh-{live.pk}-"))
    gone = Path(tempfile.mkdtemp(prefix=f"refresh-{done.pk}-"))
    orphan = Path(tempfile.mkdtemp(prefix="refresh-999999999-"))
    try:
        from config.celery import _clean_leftovers

        _clean_leftovers()
        assert keep.exists() and not gone.exists() and not orphan.exists()
    finally:
        import shutil

        shutil.rmtree(keep, ignore_errors=True)


def test_leftover_work_files_are_removed(practice, settings):
    settings.JOB_STALE_SECONDS = 0
    name = default_storage.save("uploads/work/upload-999.csv", ContentFile(b"ordinal,row\n"))
    running = BatchUpload.objects.create(practice=practice, file=ContentFile(b"x", name="c.csv"), status="running",
                                         chunk_plan={"work_file": default_storage.save("uploads/work/u.csv",
                                                                                       ContentFile(b"x"))},
                                         started_at=timezone.now(), chunks_total=1)  # fmt: skip
    assert job_sweep.clean_work_files() == 1
    assert not default_storage.exists(name) and default_storage.exists(running.chunk_plan["work_file"])


def test_a_backlog_gets_one_more_copy_per_stale_period_not_one_per_sweep(practice, settings, monkeypatch):
    settings.UPLOAD_CHUNK_CLAIMS = 2
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows(5)), name="c.csv"), original_name="c.csv"
    )
    upload_jobs.plan(upload.pk)
    report = ReportFile.objects.create(practice=practice, kind="report", parameters={})
    old = timezone.now() - timedelta(hours=1)
    BatchUpload.objects.filter(pk=upload.pk).update(created_at=old, started_at=old)
    ReportFile.objects.filter(pk=report.pk).update(created_at=old)
    sent = []
    monkeypatch.setattr("celery.canvas.group.apply_async", lambda self, *a, **kw: sent.append(len(self.tasks)))
    monkeypatch.setattr(tasks.build_check_report, "delay", lambda pk: sent.append(f"report {pk}"))
    first = job_sweep.sweep()
    assert first["chunks"] == {upload.pk: [0, 1, 2]} and first["reports"] == [report.pk]
    second = job_sweep.sweep()  # the messages are still waiting in the queue: nothing sent again
    assert second["chunks"] == {} and second["reports"] == []
    assert sent == [3, f"report {report.pk}"]
    later = timezone.now() + timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    assert job_sweep.sweep(now=later)["chunks"] == {upload.pk: [0, 1, 2]}  # still nothing stored: once more
