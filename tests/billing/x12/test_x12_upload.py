"""X12 upload in the admin: a job (in-process without Redis) that imports the file, with progress and results."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import DraftClaim, X12Upload
from billing.x12.jobs import run_upload
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.billing.x12.x12_data import ROUND_TRIP_837, load_ptp, x12_practice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def test_admin_upload_imports_and_reports(defaults_db, client, tmp_path, django_capture_on_commit_callbacks):
    practice = x12_practice()
    load_ptp(tmp_path)
    client.force_login(get_user_model().objects.get(username="billing"))
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            "/admin/billing/x12upload/add/",
            {"practice": practice.pk, "file": SimpleUploadedFile("claims.837", ROUND_TRIP_837.read_bytes())},
        )
    assert page.status_code == 302, page.content.decode()[:2000]
    upload = X12Upload.objects.get(practice=practice)
    assert upload.status == "done" and upload.kind == "837"  # no Redis: the task ran in-process on commit
    assert upload.counts["error"] == 2 and sum(upload.counts.values()) == 3
    assert DraftClaim.objects.filter(practice=practice, reference="ESI-0003").exists()
    progress = client.get(f"/billing/x12-uploads/{upload.pk}/progress").json()
    assert progress["status"] == "done" and progress["percent"] == 100
    lines = b"".join(client.get(f"/billing/x12-uploads/{upload.pk}/results.jsonl").streaming_content).decode()
    assert [json.loads(line)["claim_ref"] for line in lines.splitlines()] == ["MILD-0001", "MILD-0002", "ESI-0003"]
    assert run_upload(upload.pk) == "done"  # a redelivered task does nothing the second time
    assert DraftClaim.objects.filter(practice=practice, reference="ESI-0003").count() == 1
    listing = client.get("/admin/billing/x12upload/")
    assert listing.status_code == 200 and "claims.837" in listing.content.decode()


def test_admin_refuses_a_file_that_is_not_x12(defaults_db, client):
    practice = x12_practice()
    client.force_login(get_user_model().objects.get(username="billing"))
    page = client.post(
        "/admin/billing/x12upload/add/",
        {"practice": practice.pk, "file": SimpleUploadedFile("claims.csv", b"claim_ref,payer\nA,medicare\n")},
    )
    assert page.status_code == 200 and "not an X12 interchange" in page.content.decode()
    assert not X12Upload.objects.exists()


def test_cut_file_fails_the_upload_with_nothing_stored(defaults_db):
    practice = x12_practice()
    text = ROUND_TRIP_837.read_text()
    upload = X12Upload.objects.create(
        practice=practice, file=SimpleUploadedFile("cut.837", text[: text.index("GE*")].encode()), original_name="cut"
    )
    assert run_upload(upload.pk) == "failed"
    upload.refresh_from_db()
    assert upload.status == "failed" and "without GE" in upload.error
    assert not DraftClaim.objects.filter(practice=practice, reference="ESI-0003").exists()
