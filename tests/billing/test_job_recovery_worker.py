"""Issue 14 item 4 on the real stack: PostgreSQL, a Redis broker of the test's OWN (a redis-server it starts on a
random free port, so it may kill it: the shared Redis is never touched) and real Celery workers. The broker is
killed mid-upload and restarted empty (every message lost); a whole worker is killed mid-upload and mid-refresh.
After recovery (the periodic sweeper ``jobs.sweep``) every claim is checked exactly once and the refresh ends.
Skipped unless DATABASE_URL (PostgreSQL) and REDIS_URL are set and redis-server is installed."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest
from celery import Celery
from django.core.files.base import ContentFile

from billing.models import BatchUpload, ClaimCheck
from codes import snapshot as k
from codes.models import RefreshRun
from config.jobs import JobNotQueued
from practice.models import Practice
from tests.billing.upload_data import csv_bytes
from tests.cms_server import CmsServer
from tests.conftest_worker import WorkerProc, _test_database_url, missing_services, needs_services

REDIS_SERVER = shutil.which("redis-server")
pytestmark = [
    pytest.mark.integration,
    needs_services,
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]
ROOT = Path(__file__).resolve().parents[2]
STALE = 3  # JOB_STALE_SECONDS of the workers: the sweeper sends again what has been silent this long


class OwnRedis:
    """A redis-server of this test module only (no persistence: a restart is empty, as in the issue)."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        # a random port well away from 6379 and the 6390s others may use for the same kind of test
        self.port = next(p for p in random.sample(range(20000, 30000), 200) if _free(p))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                   "no", "--dir", str(self.tmp)]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:  # listening, and it is this very process that answers (not someone else's on the port)
            assert self.process.poll() is None, f"redis-server could not start on port {self.port}"
            assert time.monotonic() < deadline, "redis-server did not start"
            if not _free(self.port):
                client = redis.Redis(port=self.port, socket_timeout=2)
                try:
                    if client.info("server")["process_id"] == self.process.pid:
                        return
                except redis.exceptions.RedisError:
                    pass
                finally:
                    client.close()
            time.sleep(0.05)

    def kill(self) -> None:
        self.process.kill()  # this very process, by its handle
        self.process.wait(timeout=10)


def _free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture(scope="module")
def own_redis(tmp_path_factory):
    redis = OwnRedis(tmp_path_factory.mktemp("own-redis"))
    redis.start()
    yield redis
    if redis.process and redis.process.poll() is None:
        redis.kill()


class Workers:
    """Starts workers on the own Redis and one queue; ``send`` puts a task there from this process."""

    def __init__(self, redis: OwnRedis, db_name: str, log_dir: Path):
        self.redis, self.db_name, self.log_dir = redis, db_name, log_dir
        self.queue = f"test-recovery-{uuid.uuid4().hex[:10]}"
        self.procs: list[WorkerProc] = []
        self.app = Celery("recovery-test", broker=redis.url, set_as_current=False)
        self.app.conf.update(broker_connection_retry_on_startup=True, task_default_queue=self.queue)

    def start(self, **extra_env) -> WorkerProc:
        node = f"{self.queue}-{len(self.procs)}@{socket.gethostname()}"
        log = self.log_dir / f"worker-{len(self.procs)}.log"
        env = {
            **os.environ,
            "DATABASE_URL": _test_database_url(self.db_name),
            "REDIS_URL": self.redis.url,
            "CELERY_TASK_DEFAULT_QUEUE": self.queue,
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "PYTHONUNBUFFERED": "1",
            "JOB_STALE_SECONDS": str(STALE),
            "REFRESH_STALE_SECONDS": "60",
            "REFRESH_ALLOWED_NETWORKS": "127.0.0.1/32",
            "REFRESH_READ_TIMEOUT": "30",
            **extra_env,
        }
        command = [str(Path(sys.executable).with_name("celery")), "-A", "config", "worker", "-P", "prefork", "-c",
                   "2", "--without-heartbeat", "--without-gossip", "--without-mingle", "-Q", self.queue, "-n", node,
                   "-l", "info"]  # fmt: skip
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        worker = WorkerProc(process, node, self.queue, log)
        self.procs.append(worker)
        deadline = time.monotonic() + 60
        while not self._ping(node):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start:\n{worker.tail()}")
        return worker

    def _ping(self, node: str) -> bool:
        import redis

        try:
            return bool(self.app.control.ping(destination=[node], timeout=0.5))
        except (redis.exceptions.ConnectionError, OSError):  # a pooled connection to the broker before its restart
            return False

    def supervise(self, patience: float = 15) -> int:
        """What the deployment's supervisor does (docs/deploy.md, "Adding workers"): a live worker that does not
        answer a ping within ``patience`` seconds is restarted. A worker that reconnected to a restarted Redis can
        stay up without consuming (Celery issues #8030, #8091); the sweeper alone cannot help it. The number
        restarted."""
        restarted = 0
        for worker in [w for w in self.procs if w.process.poll() is None]:
            deadline = time.monotonic() + patience
            while not self._ping(worker.node):
                if time.monotonic() > deadline:
                    self.kill(worker)
                    self.start()
                    restarted += 1
                    break
        return restarted

    def kill(self, worker: WorkerProc) -> None:
        """The whole worker (main process and pool) at once, as a killed container would be."""
        os.killpg(worker.pid, signal.SIGKILL)  # its own process group (start_new_session)
        worker.process.wait(timeout=10)

    def send(self, name: str, *args) -> None:
        self.app.send_task(name, args=list(args), queue=self.queue)

    def stop_all(self) -> None:
        for worker in self.procs:
            if worker.process.poll() is None:
                worker.process.terminate()
                try:
                    worker.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
                    worker.process.wait(timeout=10)


@pytest.fixture
def workers(transactional_db, own_redis, tmp_path):
    reason = missing_services()
    if reason:
        pytest.skip(reason)
    from django.db import connection

    group = Workers(own_redis, connection.settings_dict["NAME"], tmp_path)
    yield group
    group.stop_all()
    group.app.close()


def rows(count: int) -> list[dict]:
    return [
        {"claim_ref": f"K{n:05d}", "payer": "medicare", "place_of_service": "24", "date_of_service": "2026-05-04",
         "diagnoses": "M48.062; Z00.6", "code": code, "modifiers": "Q0" if code == "0275T" else "", "units": "1",
         "diagnosis_pointers": "1"}
        for n in range(count) for code in ("0275T", "77003")
    ]  # fmt: skip


def new_upload(claims: int) -> BatchUpload:
    practice = Practice.objects.create(key=f"p{uuid.uuid4().hex[:6]}", name="Practice", npi="1234567893")
    return BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(rows(claims)), name="k.csv"), original_name="k.csv"
    )


def wait_until(condition, timeout: float, what: str, poll: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"{what}: not within {timeout} s")


def progress(upload: BatchUpload) -> BatchUpload:
    upload.refresh_from_db()
    return upload


def sweep_until_done(workers: Workers, upload: BatchUpload, timeout: float = 180) -> BatchUpload:
    """What beat does every JOB_SWEEP_SECONDS: send ``jobs.sweep``, until the upload ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if progress(upload).status in ("done", "failed"):
            return upload
        workers.supervise()
        workers.send("jobs.sweep")
        time.sleep(STALE + 0.5)
    pytest.fail(f"upload {upload.pk} still {upload.status} at {upload.done_claims} of {upload.total_claims}")


def checked_exactly_once(upload: BatchUpload, claims: int) -> None:
    upload.refresh_from_db()
    assert (upload.status, upload.error) == ("done", "")
    assert upload.done_claims == upload.total_claims == claims
    assert upload.chunks_done == upload.chunks_total == len(upload.chunk_runs)
    per_claim = Counter(ClaimCheck.objects.filter(upload=upload).values_list("result__claim_ref", flat=True))
    assert len(per_claim) == claims and set(per_claim.values()) == {1}
    assert sum(upload.counts.values()) == claims and upload.result_file


def test_the_broker_killed_and_restarted_empty_mid_upload(workers, own_redis):
    workers.start()
    upload = new_upload(6000)  # 12 chunks of 500
    workers.send("billing.start_upload", upload.pk)
    at = wait_until(lambda: 0 < progress(upload).done_claims < 3000 and upload.done_claims, 120, "progress")
    own_redis.kill()  # every queued chunk message is gone with it
    time.sleep(1)
    stopped_at = progress(upload).done_claims
    assert upload.status == "running" and stopped_at < 6000
    own_redis.start()  # empty: nothing will arrive by itself
    time.sleep(STALE + 2)
    assert progress(upload).status == "running" and upload.done_claims < 6000, "the test needs lost messages"
    sweep_until_done(workers, upload)
    checked_exactly_once(upload, 6000)
    assert 0 < at <= stopped_at


def test_a_whole_worker_killed_mid_upload(workers):
    first = workers.start()
    upload = new_upload(6000)
    workers.send("billing.start_upload", upload.pk)
    wait_until(lambda: 0 < progress(upload).done_claims < 3000, 120, "progress")
    workers.kill(first)  # its unacked messages stay invisible in Redis for an hour (visibility timeout)
    stopped_at = progress(upload).done_claims
    workers.start()  # a new worker: nothing tells it about the upload but the sweeper
    sweep_until_done(workers, upload)
    checked_exactly_once(upload, 6000)
    assert stopped_at < 6000


def test_a_refresh_whose_worker_was_killed_is_taken_over_and_its_temp_folder_removed(workers, tmp_path):
    from tests.codes.refresh_data import hcpcs_text

    server = CmsServer(tmp_path / "www")
    try:
        server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
        url = server.url("HCPC2020_ANWEB_small.txt", "slow/4")  # the download takes 4 s: time to kill the worker
        first = workers.start()
        run = RefreshRun.objects.create(kind=k.HCPCS, url=url, trigger="command")
        workers.send("codes.refresh_run", run.pk)

        def downloading():
            run.refresh_from_db()
            return run.status == "running" and run.step == "download"

        wait_until(downloading, 60, "the download to start")
        folders = list(Path(tempfile.gettempdir()).glob(f"refresh-{run.pk}-*"))
        assert folders, "the run's temporary folder"
        workers.kill(first)
        run.refresh_from_db()
        assert run.status == "running"  # and would stay so: nobody else knows
        workers.start()  # at start it removes the folders of runs nobody works on
        wait_until(lambda: not any(f.exists() for f in folders), 30, "the leftover folder removed at start")
        deadline = time.monotonic() + 120
        while not run.finished and time.monotonic() < deadline:
            workers.send("jobs.sweep")
            time.sleep(STALE + 2)
            run.refresh_from_db()
        assert (run.status, run.attempts) == ("loaded", 2), (run.status, run.error, run.note)
        assert "taken over by" in run.note
        assert not list(Path(tempfile.gettempdir()).glob(f"refresh-{run.pk}-*"))
    finally:
        server.close()


def test_queueing_with_the_broker_down_is_503_and_the_row_waits(workers, own_redis, client, django_user_model):
    """The web process sending to a dead broker: 503 (not 500), the upload kept queued, then swept."""
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile

    from config.celery import app
    from config.roles import BILLING_STAFF
    from practice.models import PracticeMembership

    workers.start()
    practice = Practice.objects.create(key="web", name="Practice", npi="1234567893")
    user = django_user_model.objects.create_user("w", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=BILLING_STAFF))
    PracticeMembership.objects.create(user=user, practice=practice)
    client.force_login(user)
    saved = {name: app.conf[name] for name in ("broker_url", "task_default_queue", "task_publish_retry_policy")}
    own_redis.kill()
    retry = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
    app.conf.update(broker_url=own_redis.url, task_default_queue=workers.queue, task_publish_retry_policy=retry)
    app._pool = app.amqp._producer_pool = None  # noqa: SLF001  (the web process's connections follow the new address)
    try:
        started = time.monotonic()
        answer = client.post(
            "/admin/billing/batchupload/add/",
            {"practice": practice.pk, "file": SimpleUploadedFile("k.csv", csv_bytes(rows(250)))},
        )
        assert answer.status_code == 503 and time.monotonic() - started < 20
        assert b"your job was saved and starts by itself" in answer.content
        upload = BatchUpload.objects.get(practice=practice)
        assert upload.status == "queued"
        with pytest.raises(JobNotQueued):
            from config.jobs import send

            send(app.tasks["billing.start_upload"], upload.pk)
    finally:
        own_redis.start()
        app.conf.update(saved)
        app._pool = app.amqp._producer_pool = None  # noqa: SLF001
    sweep_until_done(workers, upload)
    checked_exactly_once(upload, 250)
