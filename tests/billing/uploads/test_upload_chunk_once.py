"""A chunk is stored exactly once although ``check_chunk`` stores its checks before it locks the upload's row
(issue 18: the lock taken last, so that workers store side by side): a second delivery that got there first, or the
upload failing meanwhile, rolls the stored checks back. In-process on any database; with two connections at once on
PostgreSQL (DATABASE_URL), where both deliveries have stored their checks before either takes the lock."""

import threading

import pytest
from django.core.files.base import ContentFile
from django.db import connection

from billing.claims.checker import Checker
from billing.models import BatchUpload, ClaimCheck, Finding, JobStatus
from billing.uploads import jobs as upload_jobs
from practice.models import Practice
from tests.billing.upload_data import csv_bytes


def rows(count: int) -> list[dict]:
    return [
        {"claim_ref": f"R{n:03d}", "payer": "medicare", "place_of_service": "24", "date_of_service": "2026-05-04",
         "diagnoses": "M48.062", "code": code, "units": "1", "diagnosis_pointers": "1"}
        for n in range(count) for code in ("0275T", "77003")
    ]  # fmt: skip


def planned_upload(settings, claims: int = 7, size: int = 3) -> BatchUpload:
    settings.UPLOAD_CHUNK_CLAIMS = size
    practice = Practice.objects.create(key="p", name="Practice", npi="1234567893")
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows(claims)), name="c.csv"), original_name="c.csv"
    )
    upload = upload_jobs.plan(upload.pk)
    assert upload.status == JobStatus.RUNNING and upload.chunks_total == -(-claims // size)
    return upload


def stored(upload: BatchUpload) -> list[str]:
    return sorted(ClaimCheck.objects.filter(upload=upload).values_list("reference", flat=True))


@pytest.mark.django_db
def test_a_second_delivery_that_finishes_first_leaves_the_first_storing_nothing(monkeypatch, settings):
    upload = planned_upload(settings)
    real = upload_jobs.check_claims
    inner = []

    def check_claims(*args, **kwargs):
        if not inner:  # while the first delivery checks, the second runs from start to end
            inner.append(None)
            inner[0] = upload_jobs.check_chunk(upload.pk, 1, checker=Checker.create())
        return real(*args, **kwargs)

    monkeypatch.setattr(upload_jobs, "check_claims", check_claims)
    outer = upload_jobs.check_chunk(upload.pk, 1, checker=Checker.create())
    assert (inner[0].claims, outer.claims, outer.finished) == (3, 0, False)
    upload.refresh_from_db()
    assert (upload.done_claims, upload.chunks_done, sorted(upload.chunk_runs)) == (3, 1, ["1"])
    assert sum(upload.counts.values()) == 3
    assert stored(upload) == ["R003", "R004", "R005"]  # once each: the first delivery's checks rolled back
    results = ClaimCheck.objects.filter(upload=upload).values_list("result", flat=True)
    assert Finding.objects.count() == sum(len(result["findings"]) for result in results) > 0  # no orphans


@pytest.mark.django_db
def test_an_upload_failed_while_a_chunk_was_checked_keeps_none_of_its_checks(monkeypatch, settings):
    upload = planned_upload(settings)
    real = upload_jobs.check_claims

    def check_claims(*args, **kwargs):
        upload_jobs.fail(upload.pk, "Stopped by the administrator.")
        return real(*args, **kwargs)

    monkeypatch.setattr(upload_jobs, "check_claims", check_claims)
    assert upload_jobs.check_chunk(upload.pk, 0, checker=Checker.create()).claims == 0
    upload.refresh_from_db()
    assert (upload.status, upload.error, upload.done_claims, upload.chunk_runs) == (
        "failed", "Stopped by the administrator.", 0, {}
    )  # fmt: skip
    assert stored(upload) == [] and not Finding.objects.exists()


def _needs_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite lets one writer in at a time, there is no race")


def _in_thread(target, *args) -> threading.Thread:
    def run():
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_storing_at_once_on_postgresql_store_one_chunk(monkeypatch, settings):
    """Both deliveries have stored their checks (their foreign keys checked: each holds a KEY SHARE lock on the
    upload's row) before either asks for the row's lock: neither waited on the other's store, one wins, the other's
    checks are rolled back, and neither fails (FOR UPDATE there would deadlock; FOR NO KEY UPDATE does not)."""
    _needs_postgresql()
    upload = planned_upload(settings)
    real = upload_jobs.store_checks
    both_stored = threading.Barrier(2)

    def store_checks(*args, **kwargs):
        out = real(*args, **kwargs)
        both_stored.wait(timeout=20)  # the two transactions are open with their checks inserted
        return out

    monkeypatch.setattr(upload_jobs, "store_checks", store_checks)
    outcomes, errors = [], []

    def deliver():
        try:
            outcomes.append(upload_jobs.check_chunk(upload.pk, 1, checker=Checker.create()))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [_in_thread(deliver) for _ in range(2)]
    for thread in threads:
        thread.join(60)
    assert errors == [] and sorted(o.claims for o in outcomes) == [0, 3]
    upload.refresh_from_db()
    assert (upload.done_claims, upload.chunks_done, sorted(upload.chunk_runs)) == (3, 1, ["1"])
    assert stored(upload) == ["R003", "R004", "R005"]


@pytest.mark.django_db(transaction=True)
def test_an_upload_failed_by_another_connection_after_the_store_on_postgresql_keeps_none(monkeypatch, settings):
    _needs_postgresql()
    upload = planned_upload(settings)
    real = upload_jobs.store_checks
    stored_event, failed_event = threading.Event(), threading.Event()

    def store_checks(*args, **kwargs):
        out = real(*args, **kwargs)
        stored_event.set()
        assert failed_event.wait(timeout=20)  # the upload fails, committed elsewhere, before the lock is asked for
        return out

    monkeypatch.setattr(upload_jobs, "store_checks", store_checks)
    outcomes = []
    thread = _in_thread(lambda: outcomes.append(upload_jobs.check_chunk(upload.pk, 0, checker=Checker.create())))
    assert stored_event.wait(timeout=30)
    assert ClaimCheck.objects.filter(upload=upload).count() == 0  # not committed: not seen here
    upload_jobs.fail(upload.pk, "Stopped by the administrator.")
    failed_event.set()
    thread.join(60)
    assert [o.claims for o in outcomes] == [0]
    upload.refresh_from_db()
    assert (upload.status, upload.done_claims, upload.chunk_runs) == ("failed", 0, {})
    assert stored(upload) == [] and not Finding.objects.filter(check_run__upload_id=upload.pk).exists()
