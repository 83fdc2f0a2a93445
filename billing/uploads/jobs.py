"""Batch uploads as jobs: plan, check one chunk, finish, fail. Plain functions over ids; the Celery tasks of
billing.tasks call ``start``, ``run_chunk`` and ``run_finish``, the benchmark the steps in-process. The upload
itself is created, and its job queued on commit, by billing.uploads.services.

``plan`` reads the uploaded file once and writes the normalised work file that the chunks read, each only its own
byte range (billing.uploads.reading). ``check_chunk`` checks one chunk with one ``Checker`` and stores its checks, the
progress and the chunk's done marker (``chunk_runs``) in one transaction that takes the upload row's lock last, once
the checks are stored (workers store side by side; the lock is held for the progress update and the commit), so a
redelivered chunk changes nothing and the chunk that completes the upload is known exactly: it asks for ``finish``.
Each chunk also saves its rows of the results workbook (billing.uploads.resultparts) before it stores; ``finish``
joins them into the workbook.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import tempfile
import time
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.checking.claim import ClaimInputError
from billing.claims.checker import Checker
from billing.claims.checks import input_error_result, store_checks
from billing.models import BatchUpload, JobStatus
from billing.uploads import reading as uploads
from billing.uploads import resultparts, workfile
from billing.uploads.payloads import claim_payload, input_errors
from config import jobs
from config.unstorable import has_bad_text

log = logging.getLogger(__name__)


def chunk_claims() -> int:
    """Claims per chunk (setting ``UPLOAD_CHUNK_CLAIMS``, default 500)."""
    return max(1, int(getattr(settings, "UPLOAD_CHUNK_CLAIMS", workfile.DEFAULT_CHUNK_CLAIMS)))


def limits() -> uploads.Limits:
    """What one upload may cost, from the settings (defaults: ``uploads.Limits``)."""
    default = uploads.DEFAULT_LIMITS
    return uploads.Limits(
        max_rows=int(getattr(settings, "UPLOAD_MAX_ROWS", default.max_rows)),
        max_claims=int(getattr(settings, "UPLOAD_MAX_CLAIMS", default.max_claims)),
        max_xlsx_bytes=int(getattr(settings, "UPLOAD_MAX_XLSX_BYTES", default.max_xlsx_bytes)),
        max_shared_strings_bytes=int(
            getattr(settings, "UPLOAD_MAX_SHARED_STRINGS_BYTES", default.max_shared_strings_bytes)
        ),
    )


def upload_day(upload: BatchUpload) -> date:
    """The day the upload's claims are checked as of (the filing limit of a claim without ``submitted_on``)."""
    zone = zoneinfo.ZoneInfo(upload.practice.time_zone)  # the practice's day, not the server's
    return timezone.localdate(upload.created_at, zone) if upload.created_at else timezone.localdate(timezone=zone)


# ---- plan ----------------------------------------------------------------------------------------------------


def plan(upload_id: int) -> BatchUpload | None:
    """Read the uploaded file, write the work file and the chunk plan: queued -> running.

    A running or finished upload is returned as it is (a redelivered start plans nothing again). A file that
    cannot be read fails the upload with the reason in plain words and returns None.
    """
    upload = BatchUpload.objects.get(pk=upload_id)
    if upload.status != JobStatus.QUEUED:
        return upload
    size = chunk_claims()
    name = upload.original_name or upload.file.name
    try:
        with upload.file.open("rb") as fh, tempfile.TemporaryFile() as work:
            bounds = limits()
            found = workfile.write_work_file(uploads.read_rows(fh, name, bounds), work, size, bounds.max_claims)
            if not found.total_claims:
                raise uploads.UploadError("The file has a header row but no service lines under it.")
            work.seek(0)
            work_name = default_storage.save(f"uploads/work/upload-{upload.pk}.csv", File(work))
    except uploads.UploadError as exc:
        fail(upload_id, str(exc))
        return None
    updated = BatchUpload.objects.filter(pk=upload_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING,
        total_claims=found.total_claims,
        chunks_total=len(found.chunks),
        chunk_plan={"work_file": work_name, "chunk_claims": size, "rows": found.total_rows, "chunks": found.chunks},
        done_claims=0,
        chunks_done=0,
        chunk_runs={},
        counts={},
        started_at=timezone.now(),
    )
    if not updated:  # planned meanwhile by a second delivery of the same start: keep that one
        default_storage.delete(work_name)
    log.info("upload %s planned: %d claims, %d rows, %d chunks", upload_id, found.total_claims, found.total_rows,
             len(found.chunks))  # fmt: skip
    return BatchUpload.objects.get(pk=upload_id)


def pending_chunks(upload: BatchUpload) -> list[int]:
    """The chunks of a running upload without a done marker."""
    if upload.status != JobStatus.RUNNING:
        return []
    return [i for i in range(upload.chunks_total) if str(i) not in upload.chunk_runs]


# ---- check one chunk ---------------------------------------------------------------------------------------


@dataclass
class ChunkOutcome:
    claims: int = 0  # claims checked and stored by this call (0: the chunk was done already, or the upload ended)
    finished: bool = False  # this call stored the upload's last chunk: ``finish`` is due


def check_claims(
    checker: Checker,
    practice_id: int,
    claims: Iterable[uploads.UploadClaim],
    today: date,
    payloads: list[dict | None] | None = None,
) -> list[dict]:
    """The result of each claim of an upload, with ``claim_ref``, ``row`` (its first row), ``payer`` and
    ``ordinal`` added. A claim that cannot be read is a ``CLAIM_INPUT_INVALID`` result naming row and column, and
    keeps no date when its date is unreadable (``today``, the upload's day, is no longer put in its place; the
    parameter stays for the callers, the checker was built for that day). ``payloads``, when given, gets each
    checked claim's payload (None for one that could not be read), in the results' order: ``store_checks`` keeps
    the patient's hash and services from it (``patient_account``)."""
    with collector_paused():
        return _check_claims(checker, practice_id, list(claims), payloads)


@contextlib.contextmanager
def collector_paused():
    """Python's cyclic garbage collector held off while a chunk is checked, and let run after (as before, if it
    was on). The check makes no reference cycles that outlive it (refcounting frees its garbage), but the
    results it keeps trigger the collector about every 700 objects, and each full collection walks every object
    the process holds, the code sets' rows among them: a fifth of the check's CPU (measured: 4,077 -> 4,912
    claims per CPU-second over 10,000 claims). The one collection after the chunk sees its objects once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check_claims(
    checker: Checker, practice_id: int, claims: list[uploads.UploadClaim], payloads: list[dict | None] | None
) -> list[dict]:
    # A payload's text is its rows' cells, cut and cased (claim_payload): when no cell of the chunk holds text that
    # cannot be stored, no payload does, and one search of the chunk's cells stands for parse_claim's search of
    # each payload (a sixth of its time). Otherwise each claim is searched as before, naming the field.
    text_checked = not has_bad_text("".join(["".join(row.values.values()) for claim in claims for row in claim.rows]))
    prepared = [(claim, *claim_payload(claim)) for claim in claims]
    checker.prefetch(payload for _, payload, errors in prepared if not errors)
    out = []
    for claim, payload, errors in prepared:
        problems = [(column, message, None) for column, message in errors.items()]
        result = None
        if not problems:
            try:
                result = checker.check(payload, practice_id, text_checked=text_checked)
            except ClaimInputError as exc:
                problems = input_errors(exc.errors, claim)
        if result is None:
            result = input_error_result(
                _date_or(payload.get("date_of_service")),
                ClaimInputError({column: message for column, message, _ in problems}),
            )
            for finding, (_, _, line) in zip(result["findings"], problems):
                if line is not None:
                    finding["line"] = line
        result.update(claim_ref=claim.ref, row=claim.first_row, payer=payload.get("payer") or "", ordinal=claim.ordinal)
        out.append(result)
        if payloads is not None:
            payloads.append(None if problems else payload)
    return out


def _date_or(text: str | None, default: date | None = None) -> date | None:
    """The claim's date if it is one; otherwise ``default`` (None: the check keeps no date rather than another
    day's, and its finding names the row and column)."""
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return default


class _ChunkTaken(Exception):
    """Raised inside ``check_chunk``'s transaction to roll its stored checks back."""


def check_chunk(upload_id: int, index: int, *, checker: Checker | None = None) -> ChunkOutcome:
    """Check chunk ``index`` of a running upload and store it; nothing when its done marker is already there."""
    upload = BatchUpload.objects.select_related("created_by").get(pk=upload_id)
    key = str(index)
    if upload.status != JobStatus.RUNNING or key in upload.chunk_runs:
        return ChunkOutcome()
    chunk = upload.chunk_plan["chunks"][index]
    started = time.perf_counter()
    with default_storage.open(upload.chunk_plan["work_file"], "rb") as work:
        claims = workfile.read_chunk(work, chunk)
    today = upload_day(upload)
    checker = checker or Checker.create(today=today)
    payloads: list[dict | None] = []
    results = check_claims(checker, upload.practice_id, claims, today, payloads)
    resultparts.save_part(upload, index, results)  # this chunk's rows of the results workbook, for ``finish``
    checked = time.perf_counter()
    try:
        with transaction.atomic():
            # Store first, lock last: the checks go in before the upload's row is locked, so workers store their
            # chunks side by side and the lock is held only for the progress UPDATE and the commit. A second
            # delivery of this chunk that got there first, or the upload failed meanwhile: the stored checks are
            # rolled back (_ChunkTaken). NO KEY UPDATE (PostgreSQL), the lock the progress UPDATE takes anyway: it
            # does not wait on, nor block, the KEY SHARE lock of a check's foreign key to the upload.
            store_checks(
                upload.practice_id, results, user=upload.created_by, source="upload", upload=upload, payloads=payloads
            )
            locked = BatchUpload.objects.select_for_update(no_key=True).get(pk=upload_id)
            if locked.status != JobStatus.RUNNING or key in locked.chunk_runs:
                raise _ChunkTaken
            counts = dict(locked.counts or {})
            for result in results:
                counts[result["status"]] = counts.get(result["status"], 0) + 1
            runs = {
                **locked.chunk_runs,
                key: {
                    "claims": len(results),
                    "worker": jobs.worker_id(),
                    "check_seconds": round(checked - started, 3),
                    "seconds": round(time.perf_counter() - started, 3),
                    "at": timezone.now().isoformat(timespec="milliseconds"),
                },
            }
            BatchUpload.objects.filter(pk=upload_id).update(
                done_claims=F("done_claims") + len(results),
                chunks_done=F("chunks_done") + 1,
                counts=counts,
                chunk_runs=runs,
            )
            finished = locked.chunks_done + 1 >= locked.chunks_total
    except _ChunkTaken:
        return ChunkOutcome()  # a second delivery of this chunk got here first, or the upload ended meanwhile
    return ChunkOutcome(claims=len(results), finished=finished)


def fail_chunk(upload_id: int, index: int, exc: BaseException) -> None:
    """A chunk that could not be checked fails the upload, saying which claims and why."""
    upload = BatchUpload.objects.filter(pk=upload_id).first()
    if upload is None:
        return
    chunks = (upload.chunk_plan or {}).get("chunks") or []
    where = f"part {index + 1} of {upload.chunks_total}"
    if index < len(chunks):
        first, count = chunks[index]["first"], chunks[index]["count"]
        where = f"claims {first + 1:,} to {first + count:,} ({where})"
    fail(
        upload_id,
        f"The check stopped at {where}: {exc.__class__.__name__}: {exc}. The claims checked before were kept. "
        f"Upload the file again; if it stops again, tell your administrator (upload {upload_id}).",
    )


# ---- finish and fail ---------------------------------------------------------------------------------------


FINISH_BEAT = "finish_beat"  # chunk_plan key: when the finishing worker last showed it is writing the workbook
FINISH_BEAT_SECONDS = 5.0  # at most; a third of JOB_STALE_SECONDS when that is shorter


def _claim_finish(upload_id: int) -> BatchUpload | None:
    """Make this call the upload's finisher: None when the upload is not ready (not running, a chunk missing) or
    another finish wrote its heartbeat within JOB_STALE_SECONDS (a finish sent twice: by the last chunk and by the
    sweeper, or redelivered). A finisher whose worker died stops beating, and the sweeper's next send takes over."""
    now = timezone.now()
    with transaction.atomic():
        upload = BatchUpload.objects.select_for_update().get(pk=upload_id)
        if upload.status != JobStatus.RUNNING or upload.chunks_done < upload.chunks_total:
            return None
        with contextlib.suppress(KeyError, TypeError, ValueError):
            beat = datetime.fromisoformat(upload.chunk_plan[FINISH_BEAT])
            if (now - beat).total_seconds() < jobs.stale_seconds():
                return None
        _finish_beat(upload_id, now)
    return upload


def _finish_beat(upload_id: int, now: datetime | None = None) -> None:
    with transaction.atomic():
        plan = BatchUpload.objects.select_for_update().values_list("chunk_plan", flat=True).get(pk=upload_id)
        stamp = (now or timezone.now()).isoformat()
        BatchUpload.objects.filter(pk=upload_id).update(chunk_plan={**(plan or {}), FINISH_BEAT: stamp})


def _beater(upload_id: int) -> Callable[[], None]:
    """A function the finish calls as it goes: it writes the finish's heartbeat every few seconds."""
    every = min(FINISH_BEAT_SECONDS, jobs.stale_seconds() / 3)
    last = time.monotonic()

    def beat() -> None:
        nonlocal last
        if time.monotonic() - last >= every:
            _finish_beat(upload_id)
            last = time.monotonic()

    return beat


def finish(upload_id: int) -> BatchUpload:
    """Join the chunks' parts of the results workbook (billing.uploads.resultparts; a chunk without a usable part
    rendered from its stored checks) and mark the upload done (once every chunk is in; one finisher at a time, see
    ``_claim_finish``)."""
    upload = _claim_finish(upload_id)
    if upload is None:
        return BatchUpload.objects.get(pk=upload_id)
    stem = (upload.original_name or "claims").rsplit(".", 1)[0][:80]
    with tempfile.TemporaryFile() as out:
        written = resultparts.write_workbook(upload, out, _beater(upload_id))
        out.seek(0)
        upload.result_file.save(f"checked-{stem}.xlsx", File(out), save=False)
    updated = BatchUpload.objects.filter(pk=upload_id, status=JobStatus.RUNNING).update(
        status=JobStatus.DONE, result_file=upload.result_file.name, finished_at=timezone.now()
    )
    if updated:
        _drop_work_file(upload)
        log.info("upload %s done: %d claims (%d chunks rendered at the finish)", upload_id, upload.total_claims,
                 len(written["rendered"]))  # fmt: skip
    else:
        upload.result_file.delete(save=False)  # finished (or failed) meanwhile by another delivery
    return BatchUpload.objects.get(pk=upload_id)


def fail(upload_id: int, message: str) -> None:
    """Mark a queued or running upload failed with the reason in plain words."""
    if jobs.fail(BatchUpload, upload_id, message):
        log.warning("upload %s failed", upload_id)
        upload = BatchUpload.objects.filter(pk=upload_id).first()
        if upload is not None:
            _drop_work_file(upload)


def _drop_work_file(upload: BatchUpload) -> None:
    """Delete the work file and the chunks' parts of the results workbook."""
    resultparts.drop_parts(upload)
    name = (upload.chunk_plan or {}).get("work_file")
    if name:
        try:
            default_storage.delete(name)
        except OSError:  # already gone, or the storage is briefly unavailable: a leftover file harms nothing
            log.warning("upload %s: work file not deleted", upload.pk)


# ---- the three steps as the tasks run them -----------------------------------------------------------------


def start(upload_id: int) -> str:
    """Plan an upload and send its chunks (a redelivered start sends the chunks not yet done: they are
    idempotent); the upload's status ("running" on a worker, "done" when the chunks ran in-process)."""

    try:
        upload = plan(upload_id)
    except Exception as exc:  # an unreadable file fails the upload in plain words; nothing else depends on it
        log.exception("upload %s: planning failed", upload_id)
        fail(
            upload_id,
            f"The file could not be read ({exc.__class__.__name__}: {exc}). Export it again and upload it; if this "
            f"happens again, tell your administrator (upload {upload_id}).",
        )
        return JobStatus.FAILED
    if upload is None or upload.status != JobStatus.RUNNING:
        return upload.status if upload is not None else JobStatus.FAILED
    send_rest(upload)
    upload.refresh_from_db(fields=["status"])
    return upload.status


def send_rest(upload: BatchUpload) -> list[int]:
    """Send what a running upload still needs: its chunks without a done marker, or (all in) its finish. The
    chunks sent; the broker down: ``JobNotQueued`` (the sweeper sends them later)."""
    from billing import tasks

    pending = pending_chunks(upload)
    if pending:
        jobs.send_group(tasks.check_upload_chunk, [(upload.pk, i) for i in pending], what=f"upload {upload.pk} chunks")
    else:
        jobs.send(tasks.finish_upload, upload.pk, what=f"upload {upload.pk} finish")
    return pending


def run_chunk(upload_id: int, index: int, *, retried: bool) -> int:
    """Check one chunk; the claims it stored (0: done already). A database error is raised again when Celery
    retries the task (``retried``: a worker; ``autoretry_for``), and fails the upload in-process where no later try
    comes; any other error fails the upload saying which claims. The chunk that stores the last one sends the
    finish (the broker down there: ``JobNotQueued``, and the sweeper sends it)."""
    from django.db import InterfaceError, OperationalError

    from billing import tasks

    try:
        outcome = check_chunk(upload_id, index)
    except (OperationalError, InterfaceError) as exc:
        if retried:
            raise
        log.exception("upload %s chunk %s: database error", upload_id, index)
        fail_chunk(upload_id, index, exc)
        return 0
    except Exception as exc:  # the upload records why it stopped; the claims stored before are kept
        log.exception("upload %s chunk %s failed", upload_id, index)
        fail_chunk(upload_id, index, exc)
        return 0
    if outcome.finished:
        jobs.send(tasks.finish_upload, upload_id, what=f"upload {upload_id} finish")
    return outcome.claims


def run_finish(upload_id: int) -> str:
    """Write the results workbook and mark the upload done; a failure fails the upload in plain words."""
    try:
        return finish(upload_id).status
    except Exception as exc:  # the checks are kept; the upload says the workbook could not be written
        log.exception("upload %s: results workbook failed", upload_id)
        fail(
            upload_id,
            f"Every claim was checked, but the results workbook could not be written ({exc.__class__.__name__}: "
            f"{exc}). The checks are kept; tell your administrator (upload {upload_id}).",
        )
        return JobStatus.FAILED
