"""Batch uploads on a real Celery worker (prefork, 2 processes), PostgreSQL and Redis: the chunks run in the
worker's processes, progress climbs to 100 %, the workbook has every claim, a redelivered chunk and a killed
worker process change no count. Skipped unless DATABASE_URL (PostgreSQL) and REDIS_URL are set."""

import io
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from billing import tasks
from billing.models import BatchUpload, ClaimCheck
from codes.selectors import clear_cache
from practice.selectors import practices_for
from tests.billing.upload_data import claim_rows, csv_bytes, examples_without_requirements
from tests.conftest_worker import WorkerProc, _test_database_url, missing_services, needs_services

pytestmark = [pytest.mark.integration, needs_services]
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def upload_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A worker of its own on its own queue (the tests send there explicitly; nothing global is changed)."""
    reason = missing_services()
    if reason:
        pytest.skip(reason)
    from django.db import connection

    from config.celery import app

    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    tag = uuid.uuid4().hex[:10]
    queue, node = f"test-uploads-{tag}", f"test-uploads-{tag}@{socket.gethostname()}"
    log = tmp_path_factory.mktemp("upload-worker") / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(db_name),
        "CELERY_TASK_DEFAULT_QUEUE": queue,  # the chunks and the finish it sends stay on this queue
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "PYTHONUNBUFFERED": "1",
    }
    command = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "-P", "prefork", "-c", "2"]
    command += ["--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", queue, "-n", node, "-l", "info"]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProc(process, node, queue, log)
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(destination=[node], timeout=0.5):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{worker.tail()}")
        yield worker
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def demo(transactional_db, upload_worker):
    clear_cache()
    call_command("load_defaults", "--demo", stdout=StringIO())
    client = Client()
    client.force_login(User.objects.get(username="billing"))
    uploads = []
    yield client, uploads
    for upload in uploads:  # files under MEDIA_ROOT, shared with the worker
        for field in (upload.file, upload.result_file):
            if field:
                field.delete(save=False)
    clear_cache()


def upload_of(client, uploads: list, claims: int) -> BatchUpload:
    examples = list(examples_without_requirements().values())
    rows = []
    for n in range(claims):
        rows += claim_rows(f"W{n:05d}", examples[n % len(examples)]["claim"])
    practice = practices_for(User.objects.get(username="billing")).get()
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows), name="w.csv"), original_name="w.csv"
    )
    uploads.append(upload)
    return upload


def watch(client, upload: BatchUpload, on_progress=None, timeout: float = 180) -> list[int]:
    """Poll the progress view as the admin's page does, until the upload ends; the percents seen."""
    url = reverse("billing-upload-progress", args=[upload.pk])
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = client.get(url).json()
        seen.append(data["percent"])
        if on_progress:
            on_progress(data)
        if data["status"] in ("done", "failed"):
            return seen
        time.sleep(0.05)
    pytest.fail(f"upload {upload.pk} did not finish in {timeout} s: {data}")


def check_complete(upload: BatchUpload, claims: int, worker: WorkerProc) -> None:
    upload.refresh_from_db()
    assert (upload.status, upload.error) == ("done", "")
    assert upload.total_claims == upload.done_claims == claims and upload.percent == 100
    assert upload.chunks_done == upload.chunks_total == len(upload.chunk_runs)
    assert sum(upload.counts.values()) == claims
    assert ClaimCheck.objects.filter(upload=upload).count() == claims
    book = load_workbook(io.BytesIO(upload.result_file.read()), read_only=True)
    refs = [row[0] for row in book["Results"].iter_rows(min_row=2, values_only=True)]
    assert refs == [f"W{n:05d}" for n in range(claims)]


def test_chunks_run_in_the_worker_processes_and_progress_reaches_100(demo, upload_worker):
    client, uploads = demo
    upload = upload_of(client, uploads, 1200)  # 3 chunks of 500
    tasks.start_upload.apply_async((upload.pk,), queue=upload_worker.queue)
    seen = watch(client, upload)
    assert seen == sorted(seen) and seen[-1] == 100
    check_complete(upload, 1200, upload_worker)
    assert upload.chunks_total == 3
    pool = set(upload_worker.children())
    for run in upload.chunk_runs.values():
        host, pid = run["worker"].rsplit(":", 1)
        assert int(pid) != os.getpid() and int(pid) in pool, (run, pool)

    # the same chunk delivered again: nothing changes
    stored = tasks.check_upload_chunk.apply_async((upload.pk, 0), queue=upload_worker.queue).get(timeout=30)
    assert stored == 0
    upload.refresh_from_db()
    assert (upload.done_claims, upload.chunks_done) == (1200, 3)
    assert ClaimCheck.objects.filter(upload=upload).count() == 1200


def test_a_worker_process_killed_mid_chunk_loses_and_doubles_nothing(demo, upload_worker):
    client, uploads = demo
    upload = upload_of(client, uploads, 3000)  # 6 chunks
    tasks.start_upload.apply_async((upload.pk,), queue=upload_worker.queue)
    killed = []

    def kill_once(data):
        if not killed and data["status"] == "running" and 0 < data["done"] < data["total"]:
            for pid in upload_worker.children():  # every pool process: one of them is mid-chunk
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)

    watch(client, upload, on_progress=kill_once, timeout=240)
    assert killed, "the upload finished before a process could be killed"
    check_complete(upload, 3000, upload_worker)
