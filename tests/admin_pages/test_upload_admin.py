"""A batch upload through the admin (Django test client, eager Celery) on the real default data: the add page
with its template, the upload, the results workbook read back, the stored checks, the live progress."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from billing.claims.checker import Checker
from billing.models import BatchUpload, ClaimCheck, Finding
from billing.uploads import reading as uploads
from billing.uploads import sheetxml
from practice.models import Practice
from practice.selectors import practices_for
from tests.billing.upload_data import claim_rows, csv_bytes, eager_celery, examples_without_requirements  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]
ADD = "/admin/billing/batchupload/add/"


@pytest.fixture
def billing(defaults_db) -> Client:
    client = Client()
    client.force_login(User.objects.get(username="billing"))
    return client


def practice() -> Practice:
    return practices_for(User.objects.get(username="billing")).get()


def post_file(client, django_capture_on_commit_callbacks, name: str, data: bytes):
    with django_capture_on_commit_callbacks(execute=True):
        return client.post(ADD, {"practice": practice().pk, "file": SimpleUploadedFile(name, data)})


def workbook(client, upload: BatchUpload):
    response = client.get(reverse("billing-upload-result", args=[upload.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="checked-')
    return load_workbook(io.BytesIO(b"".join(response.streaming_content)))


def test_add_page_offers_the_template(billing):
    page = billing.get(ADD).content.decode()
    assert 'name="file"' in page and "Download the CSV template" in page
    template = billing.get(reverse("admin:billing_batchupload_template"))
    assert template["Content-Type"].startswith("text/csv")
    assert template.content.decode().splitlines()[0] == ",".join(uploads.COLUMNS)


def test_upload_checks_every_claim_and_the_workbook_agrees_with_the_api(billing, django_capture_on_commit_callbacks):
    examples = examples_without_requirements()
    rows = [row for stem, example in examples.items() for row in claim_rows(stem, example["claim"])]
    bad = claim_rows("BAD-UNITS", examples["01-medicare-ced-clean"]["claim"])
    bad[0]["units"] = "two"
    response = post_file(billing, django_capture_on_commit_callbacks, "export.csv", csv_bytes(rows + bad))
    assert response.status_code == 302, response.content.decode()[:2000]

    upload = BatchUpload.objects.get()
    assert (upload.status, upload.error) == ("done", "")
    assert (upload.original_name, upload.created_by.username) == ("export.csv", "billing")
    assert upload.total_claims == upload.done_claims == len(examples) + 1 and upload.percent == 100
    assert upload.chunks_total == upload.chunks_done == 1

    checker = Checker.create()
    expected = {}
    for stem, example in examples.items():
        result = checker.check(example["claim"], practice().pk)
        expected[stem] = (result["status"], sorted({f["rule"] for f in result["findings"]}))
        assert set(example["expect"]["must"]) <= set(expected[stem][1])
    expected["BAD-UNITS"] = ("error", ["CLAIM_INPUT_INVALID"])

    book = workbook(billing, upload)
    header, *lines = list(book["Results"].values)
    assert header == sheetxml.RESULT_HEADERS
    assert [line[0] for line in lines] == [*examples, "BAD-UNITS"]  # file order
    got = {line[0]: (line[4], sorted(filter(None, (line[8] or "").split(", ")))) for line in lines}
    assert got == expected
    assert sum(upload.counts.values()) == len(lines)

    findings = list(book["Findings"].values)[1:]
    bad_units = [f for f in findings if f[0] == "BAD-UNITS"]
    assert bad_units == [
        (
            "BAD-UNITS",
            1,
            "error",
            "CLAIM_INPUT_INVALID",
            f"row {len(rows) + 2}, units: Units must be a whole number of 1 or more.",
            "Correct the field and check again.",
            "Claim format (contract)",
        )
    ]

    checks = ClaimCheck.objects.filter(upload=upload)
    assert checks.count() == len(lines)
    assert set(checks.values_list("source", "checked_by__username", "practice_id")) == {
        ("upload", "billing", practice().pk)
    }
    assert Finding.objects.filter(check_run__upload=upload).count() == len(findings)
    stored = checks.get(result__claim_ref="02-medicare-missing-q0")
    assert stored.payer_key == "medicare" and stored.status == "error"


def test_the_list_shows_progress_counts_and_the_download(billing, django_capture_on_commit_callbacks):
    claim = examples_without_requirements()["02-medicare-missing-q0"]["claim"]
    post_file(billing, django_capture_on_commit_callbacks, "one.csv", csv_bytes(claim_rows("Q", claim)))
    upload = BatchUpload.objects.get()
    page = billing.get("/admin/billing/batchupload/").content.decode()
    assert "billing/upload_progress.js" in page
    assert reverse("billing-upload-progress", args=[upload.pk]) in page and 'data-status="done"' in page
    assert "1 with errors" in page and reverse("billing-upload-result", args=[upload.pk]) in page
    progress = billing.get(reverse("billing-upload-progress", args=[upload.pk])).json()
    assert progress == {"status": "done", "percent": 100, "done": 1, "total": 1, "counts": {"error": 1}, "error": ""}
    detail = billing.get(f"/admin/billing/batchupload/{upload.pk}/change/").content.decode()
    assert "1 of 1 done" in detail and "Download (xlsx)" in detail
    checks = billing.get(f"/admin/billing/claimcheck/?upload__id__exact={upload.pk}")
    assert checks.status_code == 200 and "1 claim check" in checks.content.decode()


def test_xlsx_upload(billing, django_capture_on_commit_callbacks):
    claim = examples_without_requirements()["01-medicare-ced-clean"]["claim"]
    book = Workbook()
    sheet = book.active
    rows = claim_rows("XL-1", claim)
    sheet.append(list(uploads.COLUMNS))
    for row in rows:
        sheet.append([row.get(c, "") for c in uploads.COLUMNS])  # optional columns (location...) left empty
    data = io.BytesIO()
    book.save(data)
    response = post_file(billing, django_capture_on_commit_callbacks, "export.xlsx", data.getvalue())
    assert response.status_code == 302
    upload = BatchUpload.objects.get()
    assert (upload.status, upload.counts) == ("done", {"clean": 1})
    assert list(workbook(billing, upload)["Results"].values)[1][:5] == ("XL-1", 2, "medicare", "2026-05-04", "clean")


def test_a_file_without_the_required_columns_is_refused_on_the_form(billing, django_capture_on_commit_callbacks):
    response = post_file(billing, django_capture_on_commit_callbacks, "x.csv", b"claim_ref,payer,units\nA,medicare,1\n")
    assert response.status_code == 200
    page = response.content.decode()
    assert "missing the required columns place_of_service, date_of_service, code" in page
    assert not BatchUpload.objects.exists()


def test_other_practices_uploads_are_not_shown(billing):
    other = Practice.objects.create(key="other", name="Other practice", npi="1234567893")
    upload = BatchUpload.objects.create(practice=other, file=SimpleUploadedFile("o.csv", b"x"), original_name="o.csv")
    assert "o.csv" not in billing.get("/admin/billing/batchupload/").content.decode()
    assert billing.get(reverse("billing-upload-progress", args=[upload.pk])).status_code == 404
    assert billing.get(f"/admin/billing/batchupload/{upload.pk}/change/").status_code == 302  # "not found" redirect
    # and the practice choice on the form is only her own
    assert f'value="{other.pk}"' not in billing.get(ADD).content.decode()
