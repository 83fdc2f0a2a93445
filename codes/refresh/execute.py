"""One refresh run, start to end: download -> checksum -> load held -> checks -> switch in force -> announce.

Each step is a plain function testable on its own; ``execute_run(run_id)`` strings them together for one
``RefreshRun`` and is what the Celery task ``codes.refresh_run`` calls. The release in force is touched only by
the switch (``codes.loading.activate``, one transaction): a run that fails anywhere before it leaves the code
sets as they were, and a release is written in one transaction, so a worker killed mid-load leaves nothing.
A run that finds the kind busy waits (the task retries) and then usually ends ``unchanged``: the other run loaded
the same file. Once a release is in force, ``codes.signals.release_activated`` tells the apps above (change
notices: ``practice.notices``).
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from codes.diff import ReleaseDiff
from codes.loading import LoadError, LoadResult, activate, file_sha256, load_files, set_checksum
from codes.models import RefreshRun, Release, Source
from codes.refresh import pages
from codes.refresh.checks import already_loaded, diff_with_previous, sanity_check
from codes.refresh.download import Fetched, RefreshError, without_contents
from codes.refresh.runs import BUSY, CLAIMED, TEMP_PREFIX, Progress, add_note, claim, fail, finish
from codes.signals import release_activated

log = logging.getLogger(__name__)


def load(
    run: RefreshRun,
    files: list[Fetched],
    progress: Callable[[int], None] | None = None,
    expected_rows: int | None = None,
    page=None,
) -> LoadResult:
    """Load the file set as a HELD release; the run records it in the same transaction (so a run taken over
    after a crash knows whether its load happened). ``expected_rows``: the count the source states (on its
    download page), passed to the loader, which fails the load on any other count (nothing kept). ``page``
    (``codes.refresh.pages.Resolved``): the in-force dates the page gives when the file cannot tell (ICD-10-CM's
    April update)."""
    source = run.source
    fixed = source is not None and source.dates == Source.Dates.FIXED
    from_page = page is not None and page.effective_from is not None and not fixed
    with transaction.atomic():
        result = _load_files(
            run.kind,
            [f.path for f in files],
            effective_from=source.effective_from if fixed else page.effective_from if from_page else None,
            effective_to=source.effective_to if fixed else page.effective_to if from_page else None,
            label=page.label if from_page else None,
            user=run.requested_by,
            hold=True,
            source_names=[f.name for f in files],
            progress=progress,
            expected_rows=expected_rows,
        )
        if result.status != "unchanged":
            RefreshRun.objects.filter(pk=run.pk).update(release_id=result.release_id, rows=result.rows)
    return result


def _load_files(*args, **kwargs) -> LoadResult:
    try:
        return load_files(*args, **kwargs)
    except LoadError as exc:
        if "--effective-from" in str(exc):  # the loader speaks to import_codeset users
            raise LoadError(f"{exc} (for a refresh: give the source fixed in-force dates in the admin)") from exc
        raise


def switch(release: Release) -> None:
    activate(release)


def announce(release: Release, diff: ReleaseDiff | None, run: RefreshRun | None = None) -> None:
    """Tell the apps above that ``release`` is in force (``codes.signals.release_activated``)."""
    release_activated.send(sender=Release, release=release, diff=diff, run=run)


@contextmanager
def _step(run: RefreshRun, name: str, progress: Progress):
    progress(name, 0, force=True)
    started = time.monotonic()
    try:
        yield
    finally:
        run.timings[name] = round(run.timings.get(name, 0) + time.monotonic() - started, 3)
        RefreshRun.objects.filter(pk=run.pk).update(timings=run.timings)


def execute_run(run_id: int, *, wait: float = 0) -> str:
    """Do one refresh run start to end (or nothing, when it is finished or in other hands). ``wait``: seconds to
    wait for the kind's lock before answering BUSY. Returns the run's final status, BUSY or ELSEWHERE."""
    deadline = time.monotonic() + wait
    while (outcome := claim(run_id)) == BUSY and time.monotonic() < deadline:
        time.sleep(1)
    if outcome != CLAIMED:
        return outcome
    run = RefreshRun.objects.select_related("source", "requested_by").get(pk=run_id)
    progress = Progress(run.pk)
    try:
        _run_steps(run, progress)
    except RefreshError as exc:
        fail(run, str(exc))
    except LoadError as exc:  # names file, line and field; the quoted values (what the address sent) are left out
        fail(run, without_contents(str(exc)))
    except Exception as exc:
        log.exception("refresh run %s failed", run.pk)
        fail(run, f"unexpected error ({type(exc).__name__}): {without_contents(str(exc))}")
    finally:
        progress.close()
    return run.status


def _run_steps(run: RefreshRun, progress: Progress) -> None:
    if run.release_id is None:  # a first attempt, or one whose load did not commit
        with tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{run.pk}-") as tmp:
            result = _download_and_load(run, Path(tmp), progress)
        if result is None:
            return
    release = Release.objects.get(pk=run.release_id)
    if release.status not in (Release.Status.HELD, Release.Status.LOADED):
        raise RefreshError(f"release #{release.pk} it loaded is now {release.get_status_display().lower()}")
    with _step(run, "check", progress):
        diff = diff_with_previous(release)
        run.diff = diff.as_json() if diff is not None else None
        RefreshRun.objects.filter(pk=run.pk).update(diff=run.diff)
        max_drop = run.source.max_row_drop if run.source and run.source.max_row_drop is not None else None
        current = Release.objects.exclude(pk=release.pk).in_force(run.kind)
        reason = sanity_check(release, current, max_drop)
    if reason and release.status == Release.Status.HELD:
        Release.objects.filter(pk=release.pk).update(held_reason=reason)
        finish(run, RefreshRun.Status.HELD, note=f"held for review: {reason}", release=release, rows=release.row_count)
        return
    with _step(run, "switch", progress):
        switch(release)
    with _step(run, "notify", progress):
        announce(release, diff, run)
    finish(run, RefreshRun.Status.LOADED, release=release, rows=release.row_count)


def _download_and_load(run: RefreshRun, tmp: Path, progress: Progress) -> LoadResult | None:
    """Download, unpack, checksum, load held. None when the run ended here (unchanged)."""

    def on_bytes(done: int, total: int | None) -> None:
        pct = min(99, done * 100 // total) if total else None
        note = f"{done / 1e6:,.1f} MB" + (f" of {total / 1e6:,.1f} MB" if total else "")
        progress("download", pct, note)

    with _step(run, "download", progress):
        try:  # a CMS page: its current file(s) of the kind (pages, licence hop, counts); a file: itself
            got = pages.fetch(run.url, run.kind, run.member, tmp, on=timezone.localdate(), progress=on_bytes)
        except pages.PageError as exc:
            raise RefreshError(str(exc)) from None
        files = got.files
        run.bytes = got.bytes
        if got.steps:
            run.note = add_note(run.note, got.note())
        RefreshRun.objects.filter(pk=run.pk).update(bytes=got.bytes, note=run.note)
    with _step(run, "verify", progress):
        hashes = [file_sha256(f.path) for f in files]
        existing = already_loaded(run.kind, set_checksum(hashes))
        run.files = [{"name": f.name, "size": f.size, "sha256": h} for f, h in zip(files, hashes)]
        RefreshRun.objects.filter(pk=run.pk).update(files=run.files)
    if existing is not None:
        _unchanged(run, existing)
        return None
    current = Release.objects.in_force(run.kind)
    expected = current.row_count if current else 0

    def on_rows(rows: int) -> None:
        pct = min(99, rows * 100 // expected) if expected else None
        progress("load", pct, f"{rows:,} rows" + (f" (about {expected:,} expected)" if expected else ""))

    with _step(run, "load", progress):
        result = load(run, files, on_rows, expected_rows=got.expected_rows, page=got)
    if result.status == "unchanged":  # loaded by someone else between our checksum and our load
        _unchanged(run, Release.objects.get(pk=result.release_id))
        return None
    run.release_id = result.release_id
    return result


def _unchanged(run: RefreshRun, existing: Release) -> None:
    state = "" if existing.status == Release.Status.LOADED else f", {existing.get_status_display().lower()}"
    finish(
        run,
        RefreshRun.Status.UNCHANGED,
        note=f"the same file set is already loaded as {existing.label} (release #{existing.pk}{state})",
        release=existing,
        rows=existing.row_count,
    )
