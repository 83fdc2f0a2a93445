"""Celery tasks of the code sets. They take ids and call ``codes.refresh``; all the work is there."""

import os

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from codes import refresh
from codes.models import RefreshRun, Source

LOCK_POLL_SECONDS = 3  # how soon a run that found its kind busy tries again


@shared_task(
    name="codes.refresh_run",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def refresh_run(self, run_id: int) -> str:
    """One refresh run. Redelivered for a finished run: does nothing. Kind busy: tries again later."""
    limit = settings.REFRESH_LOCK_WAIT_SECONDS
    outcome = refresh.execute_run(run_id, wait=limit if self.request.is_eager else 0)
    if outcome == refresh.BUSY:
        run = RefreshRun.objects.get(pk=run_id)
        if not self.request.is_eager and (timezone.now() - run.queued_at).total_seconds() < limit:
            raise self.retry(countdown=LOCK_POLL_SECONDS)
        refresh.fail_waiting(
            run_id, f"another refresh of {run.kind} kept running for over {limit // 60} minutes; this one did nothing"
        )
    return outcome


@shared_task(name="codes.refresh_source", ignore_result=True)  # the run records everything
def refresh_source(source_id: int, trigger: str = "schedule") -> int | None:
    """The scheduled refresh of one source (django-celery-beat): re-sends stuck runs of its kind, queues a run."""
    source = Source.objects.filter(pk=source_id, enabled=True).first()
    if source is None:
        return None
    refresh.requeue_stuck(source.kind)
    return refresh.enqueue(source=source, trigger=trigger).pk


@shared_task(name="codes.whoami")
def whoami() -> int:
    """The worker's process id (tests use it to prove a task ran in a worker)."""
    return os.getpid()
