"""No patient names, member ids or claim contents in the logs while X12 files go in and out (every logger at
DEBUG): import 837P, post 835, export 837P, the admin upload job, the denial summary."""

from __future__ import annotations

import io
import logging

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from billing.models import X12Upload
from billing.x12.jobs import run_upload
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.billing.x12.x12_data import DATA, ROUND_TRIP_837, load_ptp, x12_practice

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]
SECRETS = ["SAMPLE", "EXAMPLE", "TESTCASE", "1EG4TE5MK72", "2EG4TE5MK73", "3EG4TE5MK74", "19480115", "1 ELM STREET",
           "M48062", "Z006", "NCT03072927", "03072927"]  # fmt: skip


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(logging.Formatter("%(name)s %(message)s").format(record))


def test_x12_flows_log_no_patient_or_claim_data(defaults_db, tmp_path):
    practice = x12_practice()
    load_ptp(tmp_path)
    root = logging.getLogger()
    capture, level = Capture(), root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        out = io.StringIO()
        call_command("import_x12", str(ROUND_TRIP_837), "--practice", "demo", stdout=out)
        call_command("import_x12", str(DATA / "835_mild_denial.txt"), "--practice", "demo", stdout=out)
        call_command("export_837", "--practice", "demo", "--claim", "MILD-0001", "--output", str(tmp_path / "o.837"),
                     stdout=out)  # fmt: skip
        call_command("denial_summary", "--practice", "demo", stdout=out)
        upload = X12Upload.objects.create(
            practice=practice, file=SimpleUploadedFile("c.837", ROUND_TRIP_837.read_bytes()), original_name="c.837"
        )
        run_upload(upload.pk)
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    logged = "\n".join(capture.lines)
    assert capture.lines  # the flows did log (e.g. the release load), so the capture works
    leaked = [secret for secret in SECRETS if secret in logged]
    assert not leaked, leaked
    printed = out.getvalue()
    assert not [s for s in SECRETS[:8] if s in printed]  # results name claims, never the patient
