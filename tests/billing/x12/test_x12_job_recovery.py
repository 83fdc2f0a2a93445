"""Issue 14 item 4 for X12 uploads, in-process (eager Celery): the broker down when the upload is added answers
503 and keeps it queued; the sweeper (jobs.sweep) sends it again; a running upload whose worker died is taken over
and imported once; a finished upload is never imported again. The import and its done marker commit together."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from kombu.exceptions import OperationalError

from billing import sweep as job_sweep
from billing import tasks
from billing.models import DraftClaim, X12Upload
from billing.x12 import jobs as x12_jobs
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.billing.x12.x12_data import ROUND_TRIP_837, load_ptp, x12_practice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

REFS = ["MILD-0001", "MILD-0002", "ESI-0003"]


def broker_down(*args, **kwargs):
    raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")


@pytest.fixture
def imports(monkeypatch) -> Counter:
    """How many times each upload's file went through the 837 import."""
    counted: Counter = Counter()
    real = x12_jobs.import_837

    def counting(stream, practice, *, source_name, user):
        counted[source_name] += 1
        return real(stream, practice, source_name=source_name, user=user)

    monkeypatch.setattr(x12_jobs, "import_837", counting)
    return counted


def drafts(practice) -> Counter:
    return Counter(DraftClaim.objects.filter(practice=practice, reference__in=REFS).values_list("reference", flat=True))


def upload_of(practice, name: str, **fields) -> X12Upload:
    upload = X12Upload(practice=practice, original_name=name, **fields)
    upload.file.save(name, ContentFile(ROUND_TRIP_837.read_bytes()))
    return upload


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_import_task_is_acked_late_and_rejected_when_its_worker_is_lost():
    assert tasks.import_x12_upload.acks_late and tasks.import_x12_upload.reject_on_worker_lost


def test_a_running_upload_whose_worker_died_is_taken_over_and_imported_once(defaults_db, settings, tmp_path, imports):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    practice = x12_practice()
    load_ptp(tmp_path)
    here, now, old = socket.gethostname(), timezone.now(), timezone.now() - timedelta(hours=2)
    killed = upload_of(practice, "killed.837", status="running", worker=f"{here}:{dead_pid()}", heartbeat_at=now)
    silent = upload_of(practice, "silent.837", status="running", worker="elsewhere:1", heartbeat_at=old)
    alive = upload_of(practice, "alive.837", status="running", worker=f"{here}:{os.getpid()}", heartbeat_at=now)
    X12Upload.objects.update(created_at=old, started_at=old)
    assert sorted(job_sweep.sweep()["x12_uploads"]) == sorted([killed.pk, silent.pk])
    statuses = dict(X12Upload.objects.values_list("original_name", "status"))
    assert statuses == {"killed.837": "done", "silent.837": "done", "alive.837": "running"}
    assert imports == {"killed.837": 1, "silent.837": 1}
    assert set(drafts(practice).values()) == {1}  # the second file's claims found, not stored twice
    # the message of the live run delivered again: its owner keeps it, nothing imported
    assert x12_jobs.run_upload(alive.pk) == "running" and "alive.837" not in imports
    assert job_sweep.sweep()["x12_uploads"] == []  # nothing left to take over
    killed.refresh_from_db()
    assert killed.worker == f"{here}:{os.getpid()}" and killed.finished_at is not None


def test_a_finished_upload_is_never_imported_again(defaults_db, settings, tmp_path, imports):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    practice = x12_practice()
    load_ptp(tmp_path)
    upload = upload_of(practice, "claims.837")
    assert x12_jobs.run_upload(upload.pk) == "done"
    X12Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(hours=2))
    settings.JOB_STALE_SECONDS = 0
    assert job_sweep.sweep()["x12_uploads"] == []
    assert tasks.import_x12_upload.delay(upload.pk).get() == "done"  # a redelivered message
    assert imports == {"claims.837": 1} and set(drafts(practice).values()) == {1}


def test_a_run_whose_upload_was_taken_over_meanwhile_rolls_back(defaults_db, settings, tmp_path, monkeypatch):
    """The sweeper judged a slow run dead and another run took the upload (here its claim is written on the same
    connection, so it is rolled back with the import): the slow run finds it at its done marker and stores nothing."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    practice = x12_practice()
    load_ptp(tmp_path)
    upload = upload_of(practice, "claims.837")
    real = x12_jobs.import_837

    def taken_over_meanwhile(stream, practice, **kwargs):
        results = real(stream, practice, **kwargs)
        X12Upload.objects.filter(pk=upload.pk).update(worker="elsewhere:2", heartbeat_at=timezone.now())
        return results

    monkeypatch.setattr(x12_jobs, "import_837", taken_over_meanwhile)
    assert x12_jobs.run_upload(upload.pk) == "running"
    upload.refresh_from_db()
    assert (upload.status, upload.counts, upload.result_file.name) == ("running", {}, "")
    assert not drafts(practice)  # rolled back with the upload's done marker


def test_a_swept_upload_waiting_in_the_queue_gets_one_copy_per_stale_period(defaults_db, settings, monkeypatch):
    practice = x12_practice()
    upload = upload_of(practice, "claims.837")
    X12Upload.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(hours=1))
    sent = []
    monkeypatch.setattr(tasks.import_x12_upload, "delay", lambda pk: sent.append(pk) or type("R", (), {"id": "t"}))
    assert job_sweep.sweep()["x12_uploads"] == [upload.pk]
    assert job_sweep.sweep()["x12_uploads"] == []  # the message is still waiting: not sent again
    later = timezone.now() + timedelta(seconds=settings.JOB_STALE_SECONDS + 1)
    assert job_sweep.sweep(now=later)["x12_uploads"] == [upload.pk]
    assert sent == [upload.pk, upload.pk]
    upload.refresh_from_db()
    assert (upload.status, upload.worker) == ("queued", "")
