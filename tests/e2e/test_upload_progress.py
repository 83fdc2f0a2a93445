"""Batch uploads in a real browser: the billing specialist uploads the practice-management export, watches the
progress bar move as the chunks are stored, and downloads the results workbook."""

import pytest
from openpyxl import load_workbook

from billing.models import BatchUpload, JobStatus
from billing.uploads import reading as uploads
from practice.models import Practice
from tests.billing.upload_data import claim_rows, csv_bytes, eager_celery, examples_without_requirements  # noqa: F401
from tests.e2e.pages import login, submit

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("eager_celery")]


def test_upload_a_file_and_download_the_results(page, demo, tmp_path, shots):
    from playwright.sync_api import expect

    examples = examples_without_requirements()
    rows = [row for stem, example in examples.items() for row in claim_rows(stem, example["claim"])]
    export = tmp_path / "export.csv"
    export.write_bytes(csv_bytes(rows))

    login(page, demo.url, "billing")
    page.goto(f"{demo.url}/admin/billing/batchupload/add/")
    with page.expect_download() as template:
        page.get_by_role("link", name="Download the CSV template").click()
    assert template.value.suggested_filename == "claims-upload-template.csv"
    page.set_input_files("#id_file", str(export))
    submit(page, "input[name=_save]")

    expect(page.locator(".upload-status")).to_have_text("Done")
    expect(page.locator(".upload-progress-text")).to_have_text(f"{len(examples)} claims checked")
    with page.expect_download() as results:
        page.get_by_role("link", name="Download (xlsx)").click()
    assert results.value.suggested_filename == "checked-export.xlsx"
    with open(results.value.path(), "rb") as fh:
        book = load_workbook(fh)
    refs = [row[0] for row in list(book["Results"].values)[1:]]
    assert refs == list(examples)
    page.screenshot(path=shots / "upload-done.png")


def test_the_bar_follows_a_running_upload_and_the_page_shows_the_end(page, demo, shots):
    from django.core.files.base import ContentFile
    from playwright.sync_api import expect

    upload = BatchUpload.objects.create(
        practice=Practice.objects.get(key="demo"),
        file=ContentFile(uploads.template_csv().encode(), name="big.csv"),
        original_name="big.csv",
        status=JobStatus.RUNNING,
        total_claims=1000,
        chunks_total=2,
    )
    login(page, demo.url, "billing")
    page.goto(f"{demo.url}/admin/billing/batchupload/")
    bar = page.locator(".upload-progress-bar")
    text = page.locator(".upload-progress-text")
    expect(text).to_have_text("0% (0 of 1,000 claims)")

    BatchUpload.objects.filter(pk=upload.pk).update(done_claims=500, chunks_done=1, counts={"clean": 500})
    expect(text).to_have_text("50% (500 of 1,000 claims)")
    expect(bar).to_have_attribute("style", "width: 50%; height: 100%; background: rgb(21, 101, 192);")
    page.screenshot(path=shots / "upload-running.png")

    BatchUpload.objects.filter(pk=upload.pk).update(
        done_claims=1000, chunks_done=2, status=JobStatus.FAILED, error="The check stopped at claims 501 to 1,000"
    )
    expect(page.locator(".upload-status")).to_have_text("Failed")  # the page reloaded by itself
    expect(text).to_have_text("stopped after 1,000 of 1,000 claims")
    page.screenshot(path=shots / "upload-failed.png")


def test_with_in_process_celery_the_upload_runs_after_the_response(page, demo, tmp_path, settings, monkeypatch):
    """The embedded default (no Redis): the add page answers while the upload has not started, the list shows it
    waiting, and the bar reaches Done by itself. The upload's start waits for the test's word: started inside the
    request, the save would never answer."""
    import threading

    from playwright.sync_api import expect

    from billing import tasks

    settings.EAGER_JOBS_IN_THREADS = True
    go, done = threading.Event(), threading.Event()
    real_delay = tasks.start_upload.delay

    def held_delay(upload_id):
        # one database user at a time while the page loads: SQLite's shared in-memory test database locks tables
        assert go.wait(30), "the test never let the upload go on"
        try:
            return real_delay(upload_id)
        finally:
            done.set()

    monkeypatch.setattr(tasks.start_upload, "delay", held_delay)
    examples = examples_without_requirements()
    rows = [row for stem, example in examples.items() for row in claim_rows(stem, example["claim"])]
    export = tmp_path / "later.csv"
    export.write_bytes(csv_bytes(rows))

    login(page, demo.url, "billing")
    page.goto(f"{demo.url}/admin/billing/batchupload/add/")
    page.set_input_files("#id_file", str(export))
    submit(page, "input[name=_save]")  # answers although the upload has not started
    expect(page.locator(".upload-status").first).not_to_have_text("Done")
    upload = BatchUpload.objects.get(original_name="later.csv")
    assert upload.status == JobStatus.QUEUED and upload.done_claims == 0
    go.set()
    assert done.wait(60)
    expect(page.locator(".upload-status").first).to_have_text("Done", timeout=15_000)
    expect(page.locator(".upload-progress-text").first).to_have_text(f"{len(examples)} claims checked")
