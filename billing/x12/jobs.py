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
from pathlib import PurePath

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from billing.models import JobStatus, X12Upload
from billing.x12.importing import NotX12Error, X12FileError, import_835, import_837, transaction_type
from config import jobs

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
    """Is someone importing this running upload? (``config.jobs.owner_alive``)"""
    return jobs.owner_alive(upload)


def create_x12_upload(*, practice, file, user) -> X12Upload:
    """Store the file as a queued X12 upload of ``practice`` by ``user`` and queue ``import_x12_upload`` once it is
    committed. The broker down: the upload stays queued for the sweeper and the page answers 503."""
    from billing.tasks import import_x12_upload

    upload = X12Upload.objects.create(
        practice=practice,
        file=file,
        original_name=PurePath(file.name).name[:255],
        created_by=user if getattr(user, "pk", None) else None,
    )
    jobs.send_on_commit(import_x12_upload, upload.pk, what=f"X12 upload {upload.pk}")
    return upload


def run_upload(upload_id: int) -> str:
    """Import one upload. A redelivered or swept message takes over a running upload whose worker is gone; one
    whose owner is alive, or a finished one, is left as it is (so a file is never imported twice)."""
    upload = jobs.take_over(X12Upload, upload_id)
    if upload is None:
        status = X12Upload.objects.filter(pk=upload_id).values_list("status", flat=True).first()
        return status or JobStatus.FAILED  # finished, or delivered twice: the first run owns it
    me = upload.worker
    if upload.started_at is None:
        upload.started_at = timezone.now()
        X12Upload.objects.filter(pk=upload_id).update(started_at=upload.started_at)
    size = max(upload.file.size, 1)
    beat = jobs.OutsideTransaction(X12Upload, upload_id, interval=HEARTBEAT_SECONDS)

    def report(done: int) -> None:
        cache.set(progress_key(upload_id), {"percent": min(99, int(100 * done / size))}, PROGRESS_TTL)
        beat(heartbeat_at=timezone.now())

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
            beat.close()  # its row is locked next: the side connection must not wait on it
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
        jobs.fail(X12Upload, upload_id, f"Nothing was imported: {exc}", worker=me)
        return JobStatus.FAILED
    finally:
        beat.close()
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
