"""An X12 upload imported by a real Celery worker (PostgreSQL, Redis): the claims and the upload's state
appear together; sending the task again imports nothing twice. Skipped without DATABASE_URL and REDIS_URL."""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from billing import tasks
from billing.models import ClaimCheck, DraftClaim, X12Upload
from tests.billing.x12.x12_data import ROUND_TRIP_837, x12_practice
from tests.conftest_worker import needs_services

pytestmark = [pytest.mark.integration, needs_services]


def _wait(pk: int, timeout: float = 90) -> X12Upload:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        upload = X12Upload.objects.get(pk=pk)
        if upload.status in ("done", "failed"):
            return upload
        time.sleep(0.3)
    pytest.fail("the X12 upload did not finish in time")


def test_upload_imported_by_the_worker(transactional_db, celery_worker_proc):
    call_command("load_defaults", "--demo", stdout=StringIO())
    practice = x12_practice()
    upload = X12Upload(practice=practice, original_name="claims.837")
    upload.file.save("claims.837", ContentFile(ROUND_TRIP_837.read_bytes()))
    tasks.import_x12_upload.delay(upload.pk)
    upload = _wait(upload.pk)
    assert upload.status == "done", upload.error
    assert upload.kind == "837" and sum(upload.counts.values()) == 3
    refs = ["MILD-0001", "MILD-0002", "ESI-0003"]
    assert DraftClaim.objects.filter(practice=practice, reference__in=refs).count() == 3
    assert ClaimCheck.objects.filter(claim__reference__in=refs, source="x12").count() == 3
    tasks.import_x12_upload.delay(upload.pk)  # a redelivery: the finished upload is not imported again
    time.sleep(2)
    assert DraftClaim.objects.filter(practice=practice, reference__in=refs).count() == 3
