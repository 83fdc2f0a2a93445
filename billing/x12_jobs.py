"""An X12 upload imported as a job (the Celery task ``billing.import_x12_upload`` takes its id).

The import of a file is one transaction (billing.x12_import), and the upload is marked done in that same
transaction: a worker killed half-way leaves nothing stored and the upload ``running``; the redelivered task
(acks_late) imports it again from the start, and a finished upload is never imported twice. Progress while it
runs cannot be read from the database (the transaction is not committed yet), so it goes to the cache (Redis
when configured): characters read of the file's size, and claims so far.
"""

from __future__ import annotations

import io
import json

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from billing.models import JobStatus, X12Upload
from billing.x12_import import NotX12Error, X12FileError, import_835, import_837, transaction_type

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


def run_upload(upload_id: int) -> str:
    with transaction.atomic():
        upload = X12Upload.objects.select_for_update().filter(pk=upload_id).first()
        if upload is None or upload.status in (JobStatus.DONE, JobStatus.FAILED):
            return upload.status if upload else JobStatus.FAILED
        upload.status, upload.started_at = JobStatus.RUNNING, upload.started_at or timezone.now()
        upload.save(update_fields=["status", "started_at"])
    size = max(upload.file.size, 1)

    def report(done: int) -> None:
        cache.set(progress_key(upload_id), {"percent": min(99, int(100 * done / size))}, PROGRESS_TTL)

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
            upload.kind = kind
            upload.counts = _counts(kind, results)
            body = "".join(json.dumps(result) + "\n" for result in results)
            upload.result_file.save(f"x12-{upload.pk}.jsonl", ContentFile(body.encode()), save=False)
            upload.status, upload.finished_at = JobStatus.DONE, timezone.now()
            upload.save(update_fields=["kind", "counts", "result_file", "status", "finished_at"])
    except (NotX12Error, X12FileError) as exc:
        X12Upload.objects.filter(pk=upload_id).update(
            status=JobStatus.FAILED, error=f"Nothing was imported: {exc}", finished_at=timezone.now()
        )
        return JobStatus.FAILED
    finally:
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
