"""Scheduled refreshes of the code sets: download -> checksum -> load held -> checks -> switch in force.

Each step is a plain function testable on its own; ``execute_run(run_id)`` strings them together for one
``RefreshRun`` and is what the Celery task ``codes.refresh_run`` calls. The release in force is touched only by
the last step (``codes.loading.activate``, one transaction): a run that fails anywhere before it leaves the code
sets as they were, and a release is written in one transaction, so a worker killed mid-load leaves nothing.

One refresh per kind at a time. The lock is the run itself: a partial unique index allows one ``running``
``RefreshRun`` per kind (PostgreSQL and SQLite alike, no transaction held open over a download, and visible in
the admin). A run whose worker died keeps the lock only until someone notices: its heartbeat (written with every
progress update) goes stale after ``REFRESH_STALE_SECONDS``, or, on the same host, its process is gone. Then a
redelivered task (``acks_late`` + ``reject_on_worker_lost``) takes its own run over, or the next run of the kind
fails it and goes ahead. A run that finds the kind busy waits (the task retries) and then usually ends
``unchanged``: the other run loaded the same file.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import socket
import tempfile
import time
import zipfile
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, connection, connections, transaction
from django.db.models import F, Q
from django.utils import timezone

from codes import snapshot as k
from codes.diff import Change, ReleaseDiff, diff_releases, previous_release
from codes.fetch import (  # noqa: F401  (the download half of a refresh; refresh.download etc. stay importable)
    CHUNK,
    MAX_REDIRECTS,
    Fetched,
    RefreshError,
    Refused,
    TransientError,
    download,
    safe_get,
    without_contents,
)
from codes.formats.base import normalise_code
from codes.loading import LoadError, LoadResult, activate, file_sha256, load_files, set_checksum
from codes.models import ChangeNotice, RefreshRun, Release, Source
from config.roles import BILLING_STAFF

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a run whose worker dies this many times is given up

# execute_run outcomes besides a finished run's status
BUSY = "busy"  # another run of the kind holds the lock: try again later
ELSEWHERE = "elsewhere"  # this run is being worked on by a live process (a duplicate delivery)


def _setting(name: str):
    return getattr(settings, name)


# --- Schedules ----------------------------------------------------------------------------------------------

CRONTABS = {
    Source.Schedule.QUARTERLY: {"minute": "30", "hour": "4", "day_of_month": "1", "month_of_year": "1,4,7,10"},
    Source.Schedule.APRIL_OCTOBER: {"minute": "30", "hour": "4", "day_of_month": "1", "month_of_year": "4,10"},
    Source.Schedule.YEARLY: {"minute": "30", "hour": "4", "day_of_month": "1", "month_of_year": "1"},
}
DEFAULT_SCHEDULES = {
    k.ICD10CM: Source.Schedule.APRIL_OCTOBER,  # fiscal year from October 1, updates from April 1
    k.PFS_RVU: Source.Schedule.YEARLY,
    k.GPCI: Source.Schedule.YEARLY,
    k.LOCALITY: Source.Schedule.YEARLY,
    k.CPT: Source.Schedule.YEARLY,
    k.HCPCS: Source.Schedule.QUARTERLY,
    k.PTP_PRACTITIONER: Source.Schedule.QUARTERLY,
    k.PTP_HOSPITAL: Source.Schedule.QUARTERLY,
    k.MUE_PRACTITIONER: Source.Schedule.QUARTERLY,
    k.MUE_HOSPITAL: Source.Schedule.QUARTERLY,
    k.OPPS: Source.Schedule.QUARTERLY,
    k.ASC: Source.Schedule.QUARTERLY,
    k.NCCI_ADDON: Source.Schedule.QUARTERLY,
    k.ZIP5: Source.Schedule.QUARTERLY,
}
PERIODIC_TASK = "codes.refresh_source"


def schedule_of(source: Source) -> str:
    return source.schedule or DEFAULT_SCHEDULES.get(source.kind, Source.Schedule.MANUAL)


def periodic_task_name(source_id: int) -> str:
    return f"Refresh code set: source #{source_id}"


def sync_schedule(source: Source):
    """Create or update the source's PeriodicTask in django-celery-beat (disabled when manual or disabled)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    schedule = schedule_of(source)
    crontab = CRONTABS.get(schedule, CRONTABS[Source.Schedule.YEARLY])
    cron, _ = CrontabSchedule.objects.get_or_create(**crontab, day_of_week="*", timezone=settings.CELERY_TIMEZONE)
    task, _ = PeriodicTask.objects.update_or_create(
        name=periodic_task_name(source.pk),
        defaults={
            "task": PERIODIC_TASK,
            "crontab": cron,
            "interval": None,
            "kwargs": f'{{"source_id": {source.pk}}}',
            "enabled": source.enabled and schedule in CRONTABS,
            "description": f"{source.name} ({k.KIND_LABELS.get(source.kind, source.kind)}), {schedule}",
        },
    )
    return task


def unschedule(source_ids) -> int:
    from django_celery_beat.models import PeriodicTask

    names = [periodic_task_name(i) for i in source_ids]
    return PeriodicTask.objects.filter(name__in=names).delete()[0]


def setup_schedules() -> tuple[int, int]:
    """Every source gets its PeriodicTask; tasks of deleted sources go. Idempotent. -> (synced, removed)."""
    from django_celery_beat.models import PeriodicTask

    sources = list(Source.objects.all())
    for source in sources:
        sync_schedule(source)
    keep = {periodic_task_name(s.pk) for s in sources}
    stale = PeriodicTask.objects.filter(task=PERIODIC_TASK).exclude(name__in=keep)
    return len(sources), stale.delete()[0]


# --- Addresses, kinds, zip members --------------------------------------------------------------------------

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
          "november", "december"]  # fmt: skip


def expand_url(template: str, on: date) -> str:
    """Fill the placeholders of a source's address for the quarter of ``on``: {year} 2026, {yy} 26, {quarter} 1-4,
    {q0} 0-3, {ncci} 322 (the NCCI version of 2026 Q3: v322r0), {month} 04, {month_name} april, {mon} apr.
    No braces: unchanged."""
    if "{" not in template:
        return template
    quarter = (on.month - 1) // 3 + 1
    values = {
        "year": on.year,
        "yy": f"{on.year % 100:02d}",
        "quarter": quarter,
        "q0": quarter - 1,
        "ncci": f"{on.year - 1994}{quarter - 1}",
        "month": f"{on.month:02d}",
        "month_name": MONTHS[on.month - 1],
        "mon": MONTHS[on.month - 1][:3],
    }
    try:
        return template.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise RefreshError(f"the address {template!r} has an unknown placeholder ({exc}): use {set(values)}") from None


# Which kind a file is, from its (or its zip's) name. First match wins.
KIND_NAMES = [
    (re.compile(r"ccipra|practitioner[-_ ]ptp", re.I), k.PTP_PRACTITIONER),
    (re.compile(r"ccioph|hospital[-_ ]ptp|outpatient[-_ ]ptp", re.I), k.PTP_HOSPITAL),
    (re.compile(r"mue.*practitioner", re.I), k.MUE_PRACTITIONER),
    (re.compile(r"mue.*(outpatient|hospital)", re.I), k.MUE_HOSPITAL),
    (re.compile(r"icd-?10-?cm|code[-_ ]descriptions|tabular", re.I), k.ICD10CM),
    (re.compile(r"hcpc|alpha[-_ ]?numeric", re.I), k.HCPCS),
    (re.compile(r"pprrvu|rvu\d\d", re.I), k.PFS_RVU),
    (re.compile(r"gpci", re.I), k.GPCI),
    (re.compile(r"locco", re.I), k.LOCALITY),
    (re.compile(r"addendum[-_ ]?aa|asc[-_ ]addend", re.I), k.ASC),
    (re.compile(r"addendum[-_ ]?b|opps[-_ ]addend", re.I), k.OPPS),
    (re.compile(r"^aoc[-_]|add[-_ ]?on[-_ ]code", re.I), k.NCCI_ADDON),
    (re.compile(r"^zip5[-_]|carrier[-_ ]locality", re.I), k.ZIP5),
]

# The member(s) to take from a CMS zip when the source names none: the first pattern that matches wins.
DEFAULT_MEMBERS = {
    k.ICD10CM: ["icd10cm?order?*.txt", "icd10cm?tabular?*.xml", "icd10c?tabular?*.xml"],
    k.HCPCS: ["HCPC*ANWEB*.txt", "HCPC*ANWEB*.csv", "HCPC*ANWEB*.xlsx"],
    k.PFS_RVU: ["PPRRVU*nonQPP*.csv", "PPRRVU*.csv", "PPRRVU*.txt"],
    k.GPCI: ["GPCI*.csv", "GPCI*.txt"],
    k.LOCALITY: ["*LOCCO*.txt", "*LOCCO*.csv"],
    k.PTP_PRACTITIONER: ["ccipra-*.txt"],
    k.PTP_HOSPITAL: ["ccioph-*.txt"],
    k.MUE_PRACTITIONER: ["*MUE*Practitioner*.csv"],
    k.MUE_HOSPITAL: ["*MUE*Outpatient*.csv", "*MUE*Hospital*.csv"],
    k.OPPS: ["*addendum?b*.csv", "*addendum?b*.txt"],
    k.ASC: ["*addendum?aa*.csv"],
    # AOC_V2026Q3-F-MCR.txt is the fixed-width text; the Excel copy beside it (AOC_V2026Q3-MCR.xlsx) is not read.
    k.NCCI_ADDON: ["AOC*-F-MCR*.txt", "AOC*MCR*.txt"],
    # ZIP5_OCT2025.txt; not its layout (ZIP5lyout.txt), its Excel copy or the ZIP9 (ZIP+4) file beside it.
    k.ZIP5: ["ZIP5_*.txt"],
}


def infer_kind(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    for pattern, kind in KIND_NAMES:
        if pattern.search(name):
            return kind
    return None


def _members(zf: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    return [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]


def unpack(fetched: Fetched, pattern: str, kind: str, dest: str | Path, max_bytes: int | None = None) -> list[Fetched]:
    """A plain file is returned as is; from a zip, the member(s) matching ``pattern`` (or the kind's usual
    names), case ignored, compared with the member's file name. Several matches load as one file set."""
    max_bytes = max_bytes or _setting("REFRESH_MAX_BYTES")
    with open(fetched.path, "rb") as fh:
        magic = fh.read(4)
    looks_zip = magic == b"PK\x03\x04" or fetched.name.lower().endswith(".zip")
    if not looks_zip:
        return [fetched]
    if not zipfile.is_zipfile(fetched.path):
        raise RefreshError(f"{fetched.name} is not a readable zip (cut short or damaged): nothing was loaded")
    try:
        with zipfile.ZipFile(fetched.path) as zf:
            members = _members(zf)
            names = [Path(i.filename).name for i in members]
            patterns = [pattern] if pattern else DEFAULT_MEMBERS.get(kind, [])
            chosen: list[zipfile.ZipInfo] = []
            for pat in patterns:
                chosen = [i for i in members if fnmatch.fnmatchcase(Path(i.filename).name.lower(), pat.lower())]
                if chosen:
                    break
            if not patterns and len(members) == 1:
                chosen = members
            if not chosen:
                wanted = " or ".join(repr(p) for p in patterns) or "a name (give the source's zip member)"
                raise RefreshError(f"the zip has no member matching {wanted} (members: {', '.join(names) or 'none'})")
            out = []
            for info in sorted(chosen, key=lambda i: i.filename):
                if info.file_size > max_bytes:
                    raise RefreshError(
                        f"{info.filename} in the zip is {info.file_size:,} bytes, over the limit of {max_bytes:,}"
                    )
                target = Path(dest) / Path(info.filename).name
                written = 0
                with zf.open(info) as src, open(target, "wb") as dst:
                    while chunk := src.read(CHUNK):
                        written += len(chunk)
                        if written > max_bytes:
                            raise RefreshError(f"{info.filename} unpacks to more than {max_bytes:,} bytes")
                        dst.write(chunk)
                out.append(Fetched(target, Path(info.filename).name, written))
            return out
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError) as exc:  # a bad CRC or deflate stream
        raise RefreshError(f"{fetched.name} is a damaged zip ({exc}): nothing was loaded") from None


# --- Checksum, load, checks, switch -------------------------------------------------------------------------


def already_loaded(kind: str, checksum: str) -> Release | None:
    """The release of ``kind`` that holds this very file set (as ``load_files`` decides 'unchanged')."""
    return (
        Release.objects.filter(kind=kind, sha256=checksum)
        .exclude(status__in=[Release.Status.FAILED, Release.Status.LOADING])
        .order_by("-id")
        .first()
    )


def in_force(kind: str, *, exclude: int | None = None, on: date | None = None) -> Release | None:
    """The loaded release of ``kind`` answering today (else the latest loaded one)."""
    on = on or timezone.localdate()
    loaded = Release.objects.filter(kind=kind, status=Release.Status.LOADED).exclude(pk=exclude)
    covering = loaded.filter(effective_from__lte=on).filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
    order = ("-effective_from", "-id")
    return covering.order_by(*order).first() or loaded.order_by(*order).first()


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
    (``codes.cms_pages.Resolved``): the in-force dates the page gives when the file cannot tell (ICD-10-CM's April
    update)."""
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


def sanity_check(release: Release, current: Release | None, max_drop: float | None = None) -> str:
    """Why ``release`` should wait for review instead of going in force ('' when it may go)."""
    if current is None:
        return ""
    max_drop = _setting("REFRESH_MAX_ROW_DROP") if max_drop is None else max_drop
    reasons = []
    if current.row_count:
        drop = (current.row_count - release.row_count) / current.row_count
        if drop > max_drop:
            reasons.append(
                f"{release.row_count:,} rows against {current.row_count:,} in {current.label} (in force): "
                f"{drop:.0%} fewer, more than the {max_drop:.0%} allowed"
            )
    if release.effective_from < current.effective_from:
        reasons.append(
            f"it takes effect {release.effective_from}, before {current.label} (in force from "
            f"{current.effective_from}): is it an older file?"
        )
    return "; ".join(reasons)


def diff_with_previous(release: Release) -> ReleaseDiff | None:
    previous = previous_release(release)
    return diff_releases(previous, release) if previous else None


def switch(release: Release) -> None:
    activate(release)


# --- Change notices -----------------------------------------------------------------------------------------


# Which of the practice's code systems each kind of release speaks about (GPCI and locality rows hold none).
KIND_SYSTEMS = {
    k.ICD10CM: ("icd10cm",),
    k.HCPCS: ("procedure", "modifier"),  # the HCPCS file lists Level II modifiers too
    k.MODIFIERS: ("modifier",),
    k.POS: ("pos",),
    k.GPCI: (),
    k.LOCALITY: (),
}
SYSTEMS = ("procedure", "icd10cm", "modifier", "pos")


def watched_by_system() -> dict[str, set[str]]:
    """The practice's codes by system (as ``codes.selectors.lookup`` names them): every procedure profile's codes,
    and the codes, modifiers, diagnoses and places of service of the payer rules in force now or later. Upper case
    without dots; a trailing * is a prefix. The setting WATCHED_CODES adds codes of any system."""
    from practice.models import PayerRule, ProfileCode

    out: dict[str, set[str]] = {system: set() for system in SYSTEMS}
    for system, code in ProfileCode.objects.values_list("system", "code"):
        out.setdefault(system, set()).add(normalise_code(code))
    today = timezone.localdate()
    rules = PayerRule.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=today))
    fields = {"codes": "procedure", "required_modifiers": "modifier", "required_diagnoses": "icd10cm",
              "allowed_places_of_service": "pos"}  # fmt: skip
    for values in rules.values_list(*fields):
        for system, value in zip(fields.values(), values):
            out[system] |= _codes_in(value)
    extra = {normalise_code(c) for c in getattr(settings, "WATCHED_CODES", [])}
    for codes in out.values():
        codes |= extra
        codes.discard("")
    return out


def watched_codes(system: str | None = None) -> set[str]:
    """The codes whose changes the billing staff are told about (of one system, or of all)."""
    by_system = watched_by_system()
    if system is not None:
        return by_system.get(system, set())
    return set().union(*by_system.values())


def _codes_in(value) -> set[str]:
    """Codes in a payer-rule field: a list of codes, or of {"codes": [...]} entries."""
    out: set[str] = set()
    if isinstance(value, str):
        out.add(normalise_code(value))
    elif isinstance(value, dict):
        out |= _codes_in(value.get("codes") or value.get("code") or [])
    elif isinstance(value, list | tuple):
        for item in value:
            out |= _codes_in(item)
    return out


def _watched(code: str, watched: set[str]) -> bool:
    code = normalise_code(code)
    return code in watched or any(w.endswith("*") and code.startswith(w[:-1]) for w in watched)


def codes_touched(change: Change, watched: set[str], kind: str = "") -> list[str]:
    """The watched codes a change is about: every part of a PTP pair, the code (not the modifier) of a PFS row."""
    parts = change.key if isinstance(change.key, tuple) else (change.key,)
    if kind == k.PFS_RVU:
        parts = parts[:1]
    return [str(p) for p in parts if p and _watched(str(p), watched)]


def notify_changes(run: RefreshRun | None, release: Release, diff: ReleaseDiff | None) -> ChangeNotice | None:
    """A ChangeNotice and an email to the Billing staff group when the release changes a watched code.
    Once per run (a run taken over after a crash does not send it twice)."""
    if diff is None or not diff.changes:
        return None
    by_system = watched_by_system()
    systems = KIND_SYSTEMS.get(release.kind, ("procedure",))
    watched = set().union(*(by_system[s] for s in systems))
    if release.kind in (k.PTP_PRACTITIONER, k.PTP_HOSPITAL) and watched:  # the shown diff may be cut short
        diff = diff_releases(previous_release(release), release, codes=sorted(watched))
    relevant = [(c, codes_touched(c, watched, release.kind)) for c in diff.changes]
    relevant = [(c, hit) for c, hit in relevant if hit]
    if not relevant:
        return None
    if run is not None and ChangeNotice.objects.filter(run=run).exists():
        return run.notice
    codes = sorted({code for _, hit in relevant for code in hit})
    label = k.KIND_LABELS.get(release.kind, release.kind)
    lines = [f"- {c.describe()}" for c, _ in relevant]
    summary = (
        f"{release.label} ({label}), in force from {release.in_force_text}, changes codes the practice uses: "
        f"{', '.join(codes)}.\n" + "\n".join(lines)
    )
    notice = ChangeNotice.objects.create(
        run=run,
        release=release,
        kind=release.kind,
        codes=codes,
        changes=ReleaseDiff(diff.kind, diff.old_label, diff.new_label, [c for c, _ in relevant]).as_json(
            limit=len(relevant)
        )["changes"],
        summary=summary,
    )
    recipients = sorted(
        set(
            get_user_model()
            .objects.filter(groups__name=BILLING_STAFF, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if recipients:
        subject = f"Code change: {', '.join(codes[:6])}{'...' if len(codes) > 6 else ''} in {release.label}"
        body = summary + (f"\n\nRefresh run #{run.pk}." if run else "") + "\nThe admin has the full list of changes."
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # the notice row stands; the mail is a courtesy
            log.exception("change notice %s: the email could not be sent", notice.pk)
        else:
            ChangeNotice.objects.filter(pk=notice.pk).update(emailed_to=recipients)
            notice.emailed_to = recipients
    return notice


# --- Progress and the lock ----------------------------------------------------------------------------------


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_alive(run: RefreshRun) -> bool:
    """Is the process running ``run`` still there? Stale heartbeat: no. Same host: ask the OS about its pid."""
    if run.heartbeat_at is None or timezone.now() - run.heartbeat_at > timedelta(
        seconds=_setting("REFRESH_STALE_SECONDS")
    ):
        return False
    host, _, pid = run.worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        from config.jobs import pid_alive

        return pid_alive(int(pid))
    return True


class Progress:
    """Writes a run's step, percent, note and heartbeat, at most every ``interval`` seconds unless forced.

    During the load the default connection is inside the load's transaction, where an update would stay
    invisible until the end: PostgreSQL gets the update through a second connection; SQLite (one writer at a
    time) only sees the step boundaries."""

    def __init__(self, run_id: int, interval: float = 0.5):
        self.run_id = run_id
        self.interval = interval
        self._last = 0.0
        self._side = None

    def __call__(self, step: str, percent: int | None = None, note: str = "", *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < self.interval:
            return
        self._last = now
        values = {"step": step, "percent": percent, "progress_note": note[:200], "heartbeat_at": timezone.now()}
        if not connection.in_atomic_block:
            RefreshRun.objects.filter(pk=self.run_id).update(**values)
        elif connection.vendor == "postgresql":
            if self._side is None:
                self._side = connections.create_connection("default")
            table = connection.ops.quote_name(RefreshRun._meta.db_table)
            with self._side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} SET step = %s, percent = %s, progress_note = %s, heartbeat_at = %s "  # noqa: S608
                    "WHERE id = %s",
                    [values["step"], percent, values["progress_note"], values["heartbeat_at"], self.run_id],
                )

    def close(self) -> None:
        if self._side is not None:
            self._side.close()
            self._side = None


def claim(run_id: int) -> str:
    """Take the run and its kind's lock. -> "claimed", BUSY, ELSEWHERE, or the status of a finished run."""
    run = RefreshRun.objects.get(pk=run_id)
    if run.finished:
        return run.status
    now = timezone.now()
    me = worker_id()
    if run.status == RefreshRun.Status.RUNNING:  # redelivered: its worker died, or this is a duplicate
        if owner_alive(run):
            return ELSEWHERE
        if run.attempts >= MAX_ATTEMPTS:
            _fail(
                run,
                f"the worker running it stopped {run.attempts} times (last during {run.step or 'start'}); gave up. "
                "The release in force is untouched.",
            )
            return RefreshRun.Status.FAILED
        clean_temp(run.pk)  # what the stopped worker left (a download, an unpacked member)
        taken = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.RUNNING, worker=run.worker).update(
            worker=me,
            heartbeat_at=now,
            attempts=F("attempts") + 1,
            note=_add_note(run.note, f"{run.worker} stopped during {run.step or 'start'}; taken over by {me}"),
        )
        return "claimed" if taken else ELSEWHERE
    other = RefreshRun.objects.filter(kind=run.kind, status=RefreshRun.Status.RUNNING).exclude(pk=run.pk).first()
    if other is not None and not owner_alive(other):
        _fail(
            other,
            f"the worker running it stopped during {other.step or 'start'} and did not come back; nothing of it "
            f"was put in force (run #{run.pk} refreshes {run.kind} instead)",
        )
    try:
        with transaction.atomic():
            taken = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.QUEUED).update(
                status=RefreshRun.Status.RUNNING,
                started_at=now,
                heartbeat_at=now,
                worker=me,
                attempts=F("attempts") + 1,
                step="start",
                percent=None,
                progress_note="",
            )
    except IntegrityError:
        holder = RefreshRun.objects.filter(kind=run.kind, status=RefreshRun.Status.RUNNING).first()
        other = f"run #{holder.pk}" if holder else "another run"
        values = {"progress_note": f"waiting for {other} of {run.kind} to finish"}
        if f"waited for {other}" not in run.note:
            values["note"] = _add_note(run.note, f"waited for {other} of {run.kind} (one refresh per kind at a time)")
        RefreshRun.objects.filter(pk=run.pk).update(**values)
        return BUSY
    return "claimed" if taken else ELSEWHERE


def _add_note(note: str, line: str) -> str:
    return f"{note}\n{line}".strip()


def _finish(run: RefreshRun, status: str, *, error: str = "", note: str = "", **extra):
    """Record the end of a run (only if this process still owns it)."""
    values = {
        "status": status,
        "finished_at": timezone.now(),
        "error": error,
        "step": "",
        "percent": None,
        "progress_note": "",
        "timings": run.timings,
        **extra,
    }
    if note:
        values["note"] = _add_note(run.note, note)
    done = RefreshRun.objects.filter(pk=run.pk, status=RefreshRun.Status.RUNNING, worker=run.worker).update(**values)
    if not done:
        log.warning("refresh run %s: no longer ours, its end (%s) was not recorded", run.pk, status)
    for name, value in values.items():
        setattr(run, name, value)


def fail_waiting(run_id: int, error: str) -> None:
    RefreshRun.objects.filter(pk=run_id, status=RefreshRun.Status.QUEUED).update(
        status=RefreshRun.Status.FAILED, finished_at=timezone.now(), error=error, progress_note=""
    )


# --- One run ------------------------------------------------------------------------------------------------


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
    if outcome != "claimed":
        return outcome
    run = RefreshRun.objects.select_related("source", "requested_by").get(pk=run_id)
    progress = Progress(run.pk)
    try:
        _run_steps(run, progress)
    except RefreshError as exc:
        _fail(run, str(exc))
    except LoadError as exc:  # names file, line and field; the quoted values (what the address sent) are left out
        _fail(run, without_contents(str(exc)))
    except Exception as exc:
        log.exception("refresh run %s failed", run.pk)
        _fail(run, f"unexpected error ({type(exc).__name__}): {without_contents(str(exc))}")
    finally:
        progress.close()
    return run.status


def _fail(run: RefreshRun, error: str) -> None:
    held = Release.objects.filter(pk=run.release_id, status=Release.Status.HELD).first() if run.release_id else None
    if held is not None:  # loaded by this run but never put in force: keep it out of every answer
        Release.objects.filter(pk=held.pk).update(
            status=Release.Status.FAILED, notes=_add_note(held.notes, f"refresh run #{run.pk} failed: {error}")
        )
    _finish(run, RefreshRun.Status.FAILED, error=error)


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
        reason = sanity_check(release, in_force(run.kind, exclude=release.pk), max_drop)
    if reason and release.status == Release.Status.HELD:
        Release.objects.filter(pk=release.pk).update(held_reason=reason)
        _finish(run, RefreshRun.Status.HELD, note=f"held for review: {reason}", release=release, rows=release.row_count)
        return
    with _step(run, "switch", progress):
        switch(release)
    with _step(run, "notify", progress):
        notify_changes(run, release, diff)
    _finish(run, RefreshRun.Status.LOADED, release=release, rows=release.row_count)


def _download_and_load(run: RefreshRun, tmp: Path, progress: Progress) -> LoadResult | None:
    """Download, unpack, checksum, load held. None when the run ended here (unchanged)."""

    def on_bytes(done: int, total: int | None) -> None:
        pct = min(99, done * 100 // total) if total else None
        note = f"{done / 1e6:,.1f} MB" + (f" of {total / 1e6:,.1f} MB" if total else "")
        progress("download", pct, note)

    with _step(run, "download", progress):
        from codes import cms_pages  # a CMS page: its current file(s) of the kind (pages, licence hop, counts)

        try:
            got = cms_pages.fetch(run.url, run.kind, run.member, tmp, on=timezone.localdate(), progress=on_bytes)
        except cms_pages.PageError as exc:
            raise RefreshError(str(exc)) from None
        files = got.files
        run.bytes = got.bytes
        if got.steps:
            run.note = _add_note(run.note, got.note())
        RefreshRun.objects.filter(pk=run.pk).update(bytes=got.bytes, note=run.note)
    with _step(run, "verify", progress):
        hashes = [file_sha256(f.path) for f in files]
        existing = already_loaded(run.kind, set_checksum(hashes))
        run.files = [{"name": f.name, "size": f.size, "sha256": h} for f, h in zip(files, hashes)]
        RefreshRun.objects.filter(pk=run.pk).update(files=run.files)
    if existing is not None:
        _unchanged(run, existing)
        return None
    current = in_force(run.kind)
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
    _finish(
        run,
        RefreshRun.Status.UNCHANGED,
        note=f"the same file set is already loaded as {existing.label} (release #{existing.pk}{state})",
        release=existing,
        rows=existing.row_count,
    )


# --- Queueing -----------------------------------------------------------------------------------------------


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
    """Send a run's task without waiting for it. With a broker that is what ``send`` does; with in-process Celery
    (no REDIS_URL) the task would run inside ``send``, so it runs in a thread of its own (its own database
    connection, closed at the end) and the page that asked answers at once."""
    from config.celery import app

    if not app.conf.task_always_eager:
        send(run_id)
        return

    import threading

    def work() -> None:
        try:
            send(run_id)
        except Exception:  # the run records its own failure; this is only what escaped it
            log.exception("refresh run %s (in-process, background) failed", run_id)
        finally:
            connections.close_all()

    threading.Thread(target=work, name=f"refresh-run-{run_id}", daemon=True).start()


def send(run_id: int) -> None:
    """Send the run's task. The broker down: the run stays as it is (queued) with a note, the periodic sweeper
    (``jobs.sweep``) sends it again, and ``config.jobs.JobNotQueued`` is raised (a web request answers 503)."""
    from codes.tasks import refresh_run
    from config.jobs import JobNotQueued
    from config.jobs import send as send_task

    try:
        task_id = send_task(refresh_run, run_id, what=f"refresh run {run_id}")
    except JobNotQueued:
        RefreshRun.objects.filter(pk=run_id, status=RefreshRun.Status.QUEUED).update(
            progress_note="not sent yet: the job queue did not answer; sent again automatically"
        )
        raise
    RefreshRun.objects.filter(pk=run_id).update(task_id=task_id, progress_note="")


def requeue_stuck(kind: str | None = None) -> list[int]:
    """Send again the runs nobody is working on: queued for longer than the stale time (a lost message), or
    running with a dead worker (its redelivery never came). Called before every scheduled refresh."""
    cutoff = timezone.now() - timedelta(seconds=_setting("REFRESH_STALE_SECONDS"))
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


# --- Temporary files ----------------------------------------------------------------------------------------

TEMP_PREFIX = "refresh-"


def clean_temp(run_id: int | None = None) -> list[str]:
    """Remove the temporary folders of refresh runs nobody is working on: one run's (when its task takes it over
    from a stopped worker), or every such folder (at worker start). A folder of a run whose live owner is on
    this host stays. -> the folders removed."""
    import shutil

    root = Path(tempfile.gettempdir())
    pattern = f"{TEMP_PREFIX}{run_id}-*" if run_id is not None else f"{TEMP_PREFIX}*"
    found: dict[int, list[Path]] = {}
    for path in root.glob(pattern):
        number = path.name[len(TEMP_PREFIX) :].split("-", 1)[0]
        if path.is_dir() and number.isdigit():
            found.setdefault(int(number), []).append(path)
    if not found:
        return []
    busy = set()
    if run_id is None:
        running = RefreshRun.objects.filter(pk__in=list(found), status=RefreshRun.Status.RUNNING)
        busy = {r.pk for r in running if owner_alive(r)}
    removed = []
    for number, paths in found.items():
        if number in busy:
            continue
        for path in paths:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    if removed:
        log.info("removed %d leftover refresh folder(s)", len(removed))
    return removed
