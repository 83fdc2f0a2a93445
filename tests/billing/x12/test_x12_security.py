"""Staff of another practice see none of the demo practice's X12 data: uploads, payments, denials, proposals."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import X12Upload
from billing.x12.importing import import_835, import_837
from billing.x12.jobs import run_upload
from config.roles import BILLING_STAFF, PRACTICE_MANAGERS
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.billing.x12.x12_data import DATA, ROUND_TRIP_837, x12_practice
from tests.factories import PracticeFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def test_other_practice_sees_nothing(defaults_db, client):
    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    import_835(open(DATA / "835_mild_denial.txt", encoding="latin-1"), practice)  # noqa: SIM115
    upload = X12Upload.objects.create(
        practice=practice, file=SimpleUploadedFile("c.837", ROUND_TRIP_837.read_bytes()), original_name="c.837"
    )
    run_upload(upload.pk)
    other = PracticeFactory(key="other", name="Other Clinic")
    user = UserFactory(username="other-staff", roles=[BILLING_STAFF, PRACTICE_MANAGERS], practices=[other])
    client.force_login(user)

    assert client.get(f"/billing/x12-uploads/{upload.pk}/results.jsonl").status_code == 404
    assert client.get(f"/billing/x12-uploads/{upload.pk}/progress").status_code == 404
    for url in ("/admin/billing/claimpayment/", "/admin/billing/remittance/", "/admin/billing/x12upload/"):
        page = client.get(url)
        assert page.status_code == 200
        assert "MILD-0001" not in page.content.decode() and "EFT0000777" not in page.content.decode()
        assert "c.837" not in page.content.decode()
    report = client.get(f"/billing/denials/?practice={practice.pk}")
    assert report.status_code == 200
    text = report.content.decode()
    assert "PAYER_REQUIRES_TRIAL_NUMBER" not in text and "Other Clinic" in text
    assert client.get(f"/billing/denials/?practice={practice.pk}&format=xlsx").status_code == 200  # its own, empty
