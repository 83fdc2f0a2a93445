"""An X12 upload imported as a job (the Celery task ``billing.import_x12_upload`` takes its id).

The import of a file is one transaction (billing.x12.importing), and the upload is marked done in that same
transaction: a worker killed half-way leaves nothing stored and the upload ``running``; the redelivered task
(acks_late, reject_on_worker_lost) or the periodic sweeper (billing.sweep) takes it over once its worker is
gone (``worker``, ``heartbeat_at``) and imports it again from the start; a run whose upload was taken over rolls
back, and a finished upload is never imported twice. Queued through ``config.jobs.send`` on commit: the broker
down answers 503 and the upload stays queued for the sweeper. Progress while it
runs cannot be read from the database (the transaction is not committed yet), so it goes to the cache (Redis
when configured): characters read of the file's size, and claims so far.
"""

from __future__ import annotations

import io
import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import connection, connections, transaction
from django.utils import timezone

from billing.models import JobStatus, X12Upload
from billing.x12.importing import NotX12Error, X12FileError, import_835, import_837, transaction_type
from config.jobs import process_gone, worker_id

log = logging.getLogger(__name__)

PROGRESS_TTL = 3600


def progress_key(upload_id: int) -> str:
    return f"billing:x12-upload:{upload_id}:progress"


class _Counting(io.TextIOBase):
    """A text stream that reports how far it has been read (for the progress bar)."""

    def __init__(self, stream, on_read):
        self._stream, self._on_read, self.done = stream, on_read, 0

    def read(self, size=-1):
        text = self._stream.read(size)
        self.done += len(text)
        self._on_read(self.done)
        return text


HEARTBEAT_SECONDS = 5.0


class _TakenOver(Exception):
    """Another run took the upload over (the sweeper judged this one dead): this run's import is rolled back."""


def owner_alive(upload: X12Upload) -> bool:
    """Is someone importing this running upload? No heartbeat for JOB_STALE_SECONDS, or its process gone: no."""
    stale = timedelta(seconds=settings.JOB_STALE_SECONDS)
    if upload.heartbeat_at is None or timezone.now() - upload.heartbeat_at > stale:
        return False
    return not process_gone(upload.worker)


class _Heartbeat:
    """Writes ``heartbeat_at`` at most every ``HEARTBEAT_SECONDS`` while the import runs. The import is one
    transaction, where an update would stay invisible until its end: PostgreSQL gets the heartbeat through a
    second connection (as codes.refresh.runs.Progress does); SQLite (one writer at a time) has only the claim's."""

    def __init__(self, upload_id: int):
        self.upload_id, self._last, self._side = upload_id, time.monotonic(), None

    def __call__(self) -> None:
        if time.monotonic() - self._last < HEARTBEAT_SECONDS:
            return
        self._last = time.monotonic()
        if not connection.in_atomic_block:
            X12Upload.objects.filter(pk=self.upload_id).update(heartbeat_at=timezone.now())
        elif connection.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection("default")
            table = connection.ops.quote_name(X12Upload._meta.db_table)
            with self._side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET heartbeat_at = %s WHERE id = %s",  # noqa: S608 (our table name)
                    [timezone.now(), self.upload_id],
                )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def run_upload(upload_id: int) -> str:
    """Import one upload. A redelivered or swept message takes over a running upload whose worker is gone; one
    whose owner is alive, or a finished one, is left as it is (so a file is never imported twice)."""
    me = worker_id()
    with transaction.atomic():
        upload = X12Upload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.status in (JobStatus.DONE, JobStatus.FAILED):
            return upload.status if upload else JobStatus.FAILED
        if upload.status == JobStatus.RUNNING and upload.worker and owner_alive(upload):  # no worker: swept
            return upload.status  # delivered twice: the first run owns it
        if upload.status == JobStatus.RUNNING:
            log.warning("X12 upload %s: its worker %s stopped; imported again", upload_id, upload.worker or "-")
        upload.status, upload.started_at = JobStatus.RUNNING, upload.started_at or timezone.now()
        upload.heartbeat_at, upload.worker = timezone.now(), me
        upload.save(update_fields=["status", "started_at", "heartbeat_at", "worker"])
    size = max(upload.file.size, 1)
    heartbeat = _Heartbeat(upload_id)

    def report(done: int) -> None:
        cache.set(progress_key(upload_id), {"percent": min(99, int(100 * done / size))}, PROGRESS_TTL)
        heartbeat()

    try:
        with upload.file.open("rb") as raw, transaction.atomic():
            text = io.TextIOWrapper(raw, encoding="latin-1", newline="")
            kind = transaction_type(text)
            text.seek(0)
            stream = _Counting(text, report)
            if kind == "837":
                results = import_837(stream, upload.practice, source_name=upload.original_name, user=upload.created_by)
            elif kind == "835":
                results = import_835(stream, upload.practice, source_name=upload.original_name, user=upload.created_by)
            else:
                raise X12FileError(f"transaction set {kind!r} is neither an 837P nor an 835")
            heartbeat.close()  # its row is locked next: the side connection must not wait on it
            current = X12Upload.objects.select_for_update().get(pk=upload_id)
            if current.status != JobStatus.RUNNING or current.worker != me:
                raise _TakenOver(current.status)
            upload.kind = kind
            upload.counts = _counts(kind, results)
            body = "".join(json.dumps(result) + "\n" for result in results)
            upload.result_file.save(f"x12-{upload.pk}.jsonl", ContentFile(body.encode()), save=False)
            upload.status, upload.finished_at = JobStatus.DONE, timezone.now()
            upload.save(update_fields=["kind", "counts", "result_file", "status", "finished_at"])
    except _TakenOver as exc:
        log.warning("X12 upload %s: taken over by another run; this import rolled back", upload_id)
        return str(exc)
    except (NotX12Error, X12FileError) as exc:
        X12Upload.objects.filter(pk=upload_id, worker=me).update(
            status=JobStatus.FAILED, error=f"Nothing was imported: {exc}", finished_at=timezone.now()
        )
        return JobStatus.FAILED
    finally:
        heartbeat.close()
        cache.delete(progress_key(upload_id))
    return JobStatus.DONE


def _counts(kind: str, results: list[dict]) -> dict:
    counts: dict[str, int] = {}
    for result in results:
        if "error" in result:
            key = "refused"
        elif kind == "837":
            key = result["status"]
        else:
            key = "already posted" if result.get("already_posted") else "matched" if result["matched"] else "unmatched"
        counts[key] = counts.get(key, 0) + 1
    return counts


def progress(upload: X12Upload) -> dict:
    running = cache.get(progress_key(upload.pk)) if upload.status == JobStatus.RUNNING else None
    percent = 100 if upload.status == JobStatus.DONE else (running or {}).get("percent", 0)
    return {"status": upload.status, "percent": percent, "counts": upload.counts, "error": upload.error}
