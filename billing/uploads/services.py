"""Batch uploads, what the admin (or any caller) asks for: a new upload, its job queued once it is committed."""

from __future__ import annotations

from pathlib import PurePath

from billing.models import BatchUpload
from config import jobs


def create_upload(*, practice, file, user) -> BatchUpload:
    """Store the file as a queued upload of ``practice`` by ``user`` and queue ``start_upload`` on commit, so a
    worker finds the row. With no Redis the job runs in-process in a thread after the response
    (config.background), so the progress bar moves on the embedded default too. The broker down: the upload stays
    queued for the sweeper and the page answers 503 (config.jobs, config.outage)."""
    from billing import tasks

    upload = BatchUpload.objects.create(
        practice=practice,
        file=file,
        original_name=PurePath(file.name).name[:255],
        created_by=user if getattr(user, "pk", None) else None,
    )
    jobs.send_on_commit(tasks.start_upload, upload.pk, what=f"upload {upload.pk}", background=True)
    return upload
