"""Queueing refresh runs: a run row first, its Celery task sent once the row is committed; runs nobody works on
sent again (``requeue_stuck``); waiting for runs to end (``refresh_codesets --wait``).

The task is found by its name (``codes.refresh_run``, defined in ``codes.tasks``, which imports this package: never
the other way round)."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from codes.models import RefreshRun, Source
from codes.refresh.runs import owner_alive
from codes.refresh.sources import expand_url
from config.jobs import JobNotQueued
from config.jobs import send as send_task

log = logging.getLogger(__name__)

RUN_TASK = "codes.refresh_run"


def run_task():
    """The Celery task that works one run, by its name (every app's tasks are registered first if need be)."""
    from config.celery import app

    if RUN_TASK not in app.tasks:
        app.loader.import_default_modules()  # the autodiscovery of the apps' tasks modules
    return app.tasks[RUN_TASK]


def enqueue(
    *,
    source: Source | None = None,
    kind: str | None = None,
    url: str | None = None,
    member: str = "",
    trigger: str = "command",
    user=None,
    background: bool = False,
) -> RefreshRun:
    """Create a queued run and send its task once the run is committed. ``background`` (a web page asking):
    with in-process Celery the run goes to a thread instead of holding the page (``send_in_background``)."""
    if source is not None:
        kind, member = source.kind, source.member
        url = expand_url(source.url, timezone.localdate())
    if not kind or not url:
        raise ValueError("a refresh needs a source, or a kind and an address")
    run = RefreshRun.objects.create(
        source=source,
        kind=kind,
        url=url,
        member=member or "",
        trigger=trigger,
        requested_by=user if getattr(user, "pk", None) else None,
    )
    transaction.on_commit(lambda: send_in_background(run.pk) if background else send(run.pk))
    return run


def send_in_background(run_id: int) -> None:
    """Send a run's task without holding the page that asked: with a broker that is what ``send`` does; with
    in-process Celery the run goes to a thread after the response (``config.background.in_background``, the one
    place for that; the test settings run it inline, as they run every page's job)."""
    from config.background import in_background

    in_background(send, run_id, label=f"refresh run {run_id}")


def send(run_id: int) -> None:
    """Send the run's task. The broker down: the run stays as it is (queued) with a note, the periodic sweeper
    (``jobs.sweep``) sends it again, and ``config.jobs.JobNotQueued`` is raised (a web request answers 503)."""
    try:
        task_id = send_task(run_task(), run_id, what=f"refresh run {run_id}")
    except JobNotQueued:
        RefreshRun.objects.filter(pk=run_id, status=RefreshRun.Status.QUEUED).update(
            progress_note="not sent yet: the job queue did not answer; sent again automatically"
        )
        raise
    RefreshRun.objects.filter(pk=run_id).update(task_id=task_id, progress_note="")


def requeue_stuck(kind: str | None = None) -> list[int]:
    """Send again the runs nobody is working on: queued for longer than the stale time (a lost message), or
    running with a dead worker (its redelivery never came). Called before every scheduled refresh."""
    cutoff = timezone.now() - timedelta(seconds=settings.REFRESH_STALE_SECONDS)
    runs = RefreshRun.objects.filter(
        Q(status=RefreshRun.Status.QUEUED, queued_at__lt=cutoff) | Q(status=RefreshRun.Status.RUNNING)
    )
    if kind:
        runs = runs.filter(kind=kind)
    again = [r.pk for r in runs if r.status == RefreshRun.Status.QUEUED or not owner_alive(r)]
    for run_id in again:
        send(run_id)  # the broker still down: JobNotQueued, and the next sweep tries again
    return again


def wait_for(run_ids: list[int], timeout: float, poll: float = 0.5) -> list[RefreshRun]:
    """The runs once all are finished (or the timeout passed), in the given order."""
    deadline = time.monotonic() + timeout
    while True:
        runs = {r.pk: r for r in RefreshRun.objects.filter(pk__in=run_ids).select_related("release")}
        if all(runs[i].finished for i in run_ids) or time.monotonic() >= deadline:
            return [runs[i] for i in run_ids]
        time.sleep(poll)
