"""Issue 14 item 4 for X12 uploads: the broker down when an upload is added in the admin. Its own module: a
transactional test (the task is sent on commit, as in production) cannot share a module with ``defaults_db``,
whose module-wide transaction would hold the commit back. The rest: test_x12_job_recovery.py."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from billing import job_sweep, tasks
from billing.models import JobStatus, X12Upload
from config.jobs import JobNotQueued
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.x12.test_x12_job_recovery import broker_down, drafts, imports  # noqa: F401
from tests.x12.x12_data import ROUND_TRIP_837, load_ptp, x12_practice

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
