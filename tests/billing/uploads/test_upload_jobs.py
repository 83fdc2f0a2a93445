"""Batch-upload jobs (billing.uploads.jobs and billing.tasks, eager Celery): chunks, file order, done markers that
make a redelivered chunk harmless, and failures recorded in plain words."""

import io

import pytest
from django.core.files.base import ContentFile
from openpyxl import load_workbook

from billing import tasks
from billing.claims.checker import Checker
from billing.models import BatchUpload, ClaimCheck
from billing.uploads import jobs as upload_jobs
from practice.models import Practice
from tests.billing.upload_data import csv_bytes, eager_celery  # noqa: F401

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]


def rows(count: int, lines: int = 2) -> list[dict]:
    out = []
    for n in range(count):
        for code in ["0275T", "77003", "64483"][:lines]:
            out.append(
                {
                    "claim_ref": f"R{n:03d}",
                    "payer": "medicare",
                    "place_of_service": "24",
                    "date_of_service": "2026-05-04",
                    "diagnoses": "M48.062",
                    "code": code,
                    "units": "1",
                    "diagnosis_pointers": "1",
                }
            )
    return out


@pytest.fixture
def practice(db) -> Practice:
    return Practice.objects.create(key="p", name="Practice", npi="1234567893")


def new_upload(practice, data: bytes, name="claims.csv") -> BatchUpload:
    return BatchUpload.objects.create(practice=practice, file=ContentFile(data, name=name), original_name=name)


def result_refs(upload: BatchUpload) -> list[str]:
    upload.refresh_from_db()
    book = load_workbook(io.BytesIO(upload.result_file.read()))
    return [row[0] for row in list(book["Results"].values)[1:]]


def test_a_file_is_checked_in_chunks_and_the_results_keep_the_file_order(practice, settings):
    settings.UPLOAD_CHUNK_CLAIMS = 2
    data = rows(5)
    data.insert(1, {**data.pop(4), "code": "99213"})  # R002's second line before R000's second: not together
    upload = new_upload(practice, csv_bytes(data))
    assert tasks.start_upload.delay(upload.pk).get() == "done"
    upload.refresh_from_db()
    assert (upload.status, upload.total_claims, upload.done_claims) == ("done", 5, 5)
    assert (upload.chunks_total, upload.chunks_done, sorted(upload.chunk_runs)) == (3, 3, ["0", "1", "2"])
    assert [c["count"] for c in upload.chunk_plan["chunks"]] == [2, 2, 1]
    assert result_refs(upload) == ["R000", "R002", "R001", "R003", "R004"]
    assert ClaimCheck.objects.filter(upload=upload, source="upload").count() == 5


def test_chunks_done_out_of_order_or_twice_count_once(practice, settings):
    settings.UPLOAD_CHUNK_CLAIMS = 3
    upload = new_upload(practice, csv_bytes(rows(8)))
    planned = upload_jobs.plan(upload.pk)
    assert (planned.status, planned.chunks_total, upload_jobs.pending_chunks(planned)) == ("running", 3, [0, 1, 2])
    assert upload_jobs.plan(upload.pk).chunk_plan == planned.chunk_plan  # a second start plans nothing new
    checker = Checker.create()
    assert upload_jobs.check_chunk(upload.pk, 2, checker=checker).claims == 2
    assert upload_jobs.check_chunk(upload.pk, 2, checker=checker).claims == 0  # redelivered: nothing
    assert upload_jobs.check_chunk(upload.pk, 0, checker=checker).claims == 3
    upload.refresh_from_db()
    assert (upload.done_claims, upload.chunks_done, upload.percent) == (5, 2, 62)
    assert upload_jobs.finish(upload.pk).status == "running"  # not every chunk is in yet
    last = upload_jobs.check_chunk(upload.pk, 1, checker=checker)
    assert (last.claims, last.finished) == (3, True)
    assert upload_jobs.finish(upload.pk).status == "done"
    assert upload_jobs.check_chunk(upload.pk, 1, checker=checker).claims == 0
    upload.refresh_from_db()
    assert (upload.done_claims, upload.chunks_done, sum(upload.counts.values())) == (8, 3, 8)
    assert ClaimCheck.objects.filter(upload=upload).count() == 8
    assert result_refs(upload) == [f"R{n:03d}" for n in range(8)]
    # start redelivered after the end: nothing happens
    assert tasks.start_upload.delay(upload.pk).get() == "done"
    assert ClaimCheck.objects.filter(upload=upload).count() == 8


def test_a_chunk_that_fails_fails_the_upload_in_plain_words(practice, settings, monkeypatch):
    settings.UPLOAD_CHUNK_CLAIMS = 2
    calls = []
    real_check = Checker.check

    def check(self, payload, practice_id, **options):
        calls.append(payload)
        if len(calls) == 3:
            raise RuntimeError("the coding cache is broken")
        return real_check(self, payload, practice_id, **options)

    monkeypatch.setattr(Checker, "check", check)
    upload = new_upload(practice, csv_bytes(rows(6)))
    assert tasks.start_upload.delay(upload.pk).get() == "failed"
    upload.refresh_from_db()
    assert upload.status == "failed" and upload.finished_at is not None
    assert upload.error.startswith(
        "The check stopped at claims 3 to 4 (part 2 of 3): RuntimeError: the coding cache is broken."
    )
    assert "upload" in upload.error and not upload.result_file
    assert (upload.done_claims, len(calls)) == (2, 3)  # the first chunk was kept; the third never ran


@pytest.mark.parametrize(
    "data, message",
    [
        (b"claim_ref,payer,units\nA,medicare,1\n", "missing the required columns place_of_service, date_of_service"),
        (b"claim_ref,payer,place_of_service,date_of_service,code\n\n", "no service lines"),
        (b"\xd0\xcf\x11\xe0" + b"\0" * 64, "old Excel .xls file"),
    ],
)
def test_a_file_that_cannot_be_read_fails_with_the_reason(practice, data, message):
    upload = new_upload(practice, data)
    assert tasks.start_upload.delay(upload.pk).get() == "failed"
    upload.refresh_from_db()
    assert upload.status == "failed" and message in upload.error
    assert upload.total_claims == 0 and not ClaimCheck.objects.exists()


def test_a_row_s_unreadable_date_and_a_grouped_charge_are_findings_and_the_date_is_never_today(practice):
    """Issue 17: `2026-6-19` was shown as today's date with one vague finding; "6,500.00" got no comment."""
    from django.utils import timezone

    data = rows(2, lines=1)
    data[0]["date_of_service"] = "2026-6-19"
    data[0]["charge"] = "6,500.00"
    data[1]["charge"] = "6500.00"  # the API's rule: a decimal with up to two places
    upload = new_upload(practice, csv_bytes(data))
    assert tasks.start_upload.delay(upload.pk).get() == "done"
    bad, good = ClaimCheck.objects.filter(upload=upload).order_by("reference")
    assert (bad.reference, good.reference) == ("R000", "R001")  # uploaded claims keep their names
    assert bad.date_of_service is None and bad.date_of_service != timezone.localdate()
    assert bad.result["date_of_service"] is None
    messages = {f["message"] for f in bad.result["findings"]}
    assert any(m.startswith("row 2, date_of_service:") for m in messages), messages
    assert any(m.startswith("row 2, charge:") for m in messages), messages
    assert str(good.date_of_service) == "2026-05-04"
    assert not any("charge" in f["message"] for f in good.result["findings"])
    assert str(bad).startswith("R000: error")
    from billing.reports.data import Period, check_records

    assert sorted(r.claim for r in check_records([practice.pk], Period())) == ["R000", "R001"]  # not "check #12"
    upload.refresh_from_db()
    book = load_workbook(io.BytesIO(upload.result_file.read()))
    results = list(book["Results"].values)
    header = results[0]
    first = dict(zip(header, results[1]))
    assert first["claim_ref"] == "R000" and first["date_of_service"] in (None, "")
