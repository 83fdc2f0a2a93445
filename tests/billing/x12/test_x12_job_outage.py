"""Issue 14 item 4 for X12 uploads: the broker down when an upload is added in the admin. Its own module: a
transactional test (the task is sent on commit, as in production) cannot share a module with ``defaults_db``,
whose module-wide transaction would hold the commit back. The rest: test_x12_job_recovery.py."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from billing import sweep as job_sweep
from billing import tasks
from billing.models import JobStatus, X12Upload
from config.jobs import JobNotQueued
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.billing.x12.test_x12_job_recovery import broker_down, drafts, imports  # noqa: F401
from tests.billing.x12.x12_data import ROUND_TRIP_837, load_ptp, x12_practice

pytestmark = [pytest.mark.usefixtures("eager_celery")]


@pytest.mark.django_db(transaction=True)  # the upload is sent after the commit, as in production
def test_an_x12_upload_added_while_the_broker_is_down_is_503_then_swept_and_imported_once(
    monkeypatch,
    settings,
    tmp_path,
    imports,  # noqa: F811 (the fixture imported above)
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("load_defaults", "--demo", stdout=StringIO())
    practice = x12_practice()
    load_ptp(tmp_path)
    client = Client(raise_request_exception=False)
    client.force_login(get_user_model().objects.get(username="billing"))
    with monkeypatch.context() as patch:
        patch.setattr(tasks.import_x12_upload, "delay", broker_down)
        answer = client.post(
            "/admin/billing/x12upload/add/",
            {"practice": practice.pk, "file": SimpleUploadedFile("claims.837", ROUND_TRIP_837.read_bytes())},
            HTTP_ACCEPT="text/html",
        )
    assert answer.status_code == 503 and answer["Retry-After"] == "30"
    assert "your job was saved and starts by itself when the queue is back" in answer.content.decode()
    upload = X12Upload.objects.get()
    assert upload.status == JobStatus.QUEUED and not imports and not drafts(practice)
    assert job_sweep.sweep()["x12_uploads"] == []  # not stale yet
    settings.JOB_STALE_SECONDS = 0
    with monkeypatch.context() as patch:  # the broker still down at the first sweep: kept queued, tried again
        patch.setattr(tasks.import_x12_upload, "delay", broker_down)
        with pytest.raises(JobNotQueued):
            job_sweep.sweep()
    upload.refresh_from_db()
    assert upload.status == JobStatus.QUEUED and upload.heartbeat_at is None and not imports
    assert job_sweep.sweep()["x12_uploads"] == [upload.pk]
    upload.refresh_from_db()
    assert (upload.status, upload.kind, sum(upload.counts.values())) == ("done", "837", 3)
    assert imports == {"claims.837": 1} and set(drafts(practice).values()) == {1}
    assert job_sweep.sweep()["x12_uploads"] == []  # done: never sent again
    assert imports == {"claims.837": 1}


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_long_import_shows_its_heartbeat_while_its_transaction_is_open(monkeypatch, settings, tmp_path):
    """The sweeper (another process) must see a long import alive: the heartbeat goes through a second
    connection, outside the import's transaction. SQLite has one writer: only the claim's heartbeat."""
    from django.db import connection, connections

    from billing.x12 import jobs as x12_jobs

    if connection.vendor != "postgresql":
        pytest.skip("the heartbeat of an open import transaction needs PostgreSQL (DATABASE_URL)")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("load_defaults", "--demo", stdout=StringIO())
    practice = x12_practice()
    load_ptp(tmp_path)
    upload = X12Upload(practice=practice, original_name="claims.837")
    upload.file.save("claims.837", ContentFile(ROUND_TRIP_837.read_bytes()))
    monkeypatch.setattr(x12_jobs, "HEARTBEAT_SECONDS", 0.0)
    seen = []
    real = x12_jobs.import_837

    def from_outside() -> tuple:
        other = connections.create_connection("default")  # as the sweeper would read it
        try:
            with other.cursor() as cursor:
                cursor.execute("SELECT status, heartbeat_at FROM billing_x12upload WHERE id = %s", [upload.pk])
                return cursor.fetchone()
        finally:
            other.close()

    def watched(stream, practice, **kwargs):
        seen.append(from_outside())  # the claim's heartbeat
        results = real(stream, practice, **kwargs)
        seen.append(from_outside())  # after the file was read, the transaction still open
        return results

    monkeypatch.setattr(x12_jobs, "import_837", watched)
    assert x12_jobs.run_upload(upload.pk) == "done"
    upload.refresh_from_db()
    (before_status, claimed), (status, heartbeat) = seen
    assert before_status == status == "running" and claimed < heartbeat <= upload.finished_at
