"""Questions to the stored code sets, answered as of a date of service.

``snapshot_on(date)`` gives a ``CodingSnapshot`` over every loaded release. Each release's rows are
read once per process into memory (rows never change after a load) except the NCCI PTP tables, which
can hold millions of rows and are asked per claim with one indexed query for the claim's codes. So a
claim check costs a constant number of queries, whatever its size.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from datetime import date

from codes import kinds, models
from codes import snapshot as k
from codes.formats import rows as r
from codes.formats.base import normalise_code
from codes.snapshot import CodingSnapshot, MemoryRelease, ReleaseData, ReleaseRef

_cache_lock = threading.Lock()
_release_cache: OrderedDict[int, ReleaseData] = OrderedDict()
_CACHE_SIZE = 24  # releases kept in memory per process


def _rows_of(release: models.Release) -> dict:
    """Every row of a (non-PTP) release as the parser's row objects, by key (``codes.kinds``: key, group_by)."""
    kind = kinds.get(release.kind)
    if kind.in_database:
        raise ValueError(f"the rows of {kind.name} are asked in the database, never read whole")
    values = kind.model_class.objects.filter(release_id=release.id).values_list(*kind.columns)
    rows = kind.rows_from(values.iterator(chunk_size=5000))
    if kind.group_by:
        by_group: dict = {}
        for row in rows:
            by_group.setdefault(getattr(row, kind.group_by), []).append(row)
        return {group: tuple(rows) for group, rows in by_group.items()}
    return {kind.key_of(row): row for row in rows}


PREFETCH_MAX_CODES = 2000  # a batch with more distinct codes than this asks per claim instead
PTP_ASKED_MAX = 4096  # code sets whose PTP pairs a release keeps once asked


class DbPtpRelease(ReleaseData):
    """An NCCI PTP release left in the database: one indexed query per set of codes, or one per batch after
    ``prefetch`` (the batch checker's path: a chunk of claims costs one PTP query, not one per claim)."""

    def __init__(self, ref: ReleaseRef):
        self.ref = ref
        # (codes, pairs by (column 1, column 2)): one attribute, read and replaced whole, as the release is shared by
        # the checkers of a process (SnapshotFactory) and a thread may prefetch while another asks
        self._prefetched: tuple[frozenset[str], dict[tuple[str, str], list]] = (frozenset(), {})
        # The pairs of code sets already asked (a release's rows never change): the API's claims repeat the same
        # few combinations of codes, so most one-claim checks need no PTP query. Bounded, oldest dropped first.
        self._asked: OrderedDict[frozenset[str], list] = OrderedDict()

    def get(self, code):
        return None

    def keys_with_prefix(self, prefix: str) -> list[str]:
        return []

    def _query(self, codes) -> list:
        codes = list(codes)
        return [
            r.PtpRow(c1, c2, p, e, d, m, ra)
            for c1, c2, p, e, d, m, ra in models.PtpEdit.objects.filter(
                release_id=self.ref.id, column1__in=codes, column2__in=codes
            ).values_list("column1", "column2", "prior_1996", "effective", "deleted", "modifier_indicator", "rationale")
        ]

    def prefetch(self, codes: frozenset[str]) -> None:
        if len(codes) > PREFETCH_MAX_CODES or codes <= self._prefetched[0]:
            return
        by_pair: dict[tuple[str, str], list] = {}
        for row in self._query(codes):
            by_pair.setdefault((row.column1, row.column2), []).append(row)
        self._prefetched = (frozenset(codes), by_pair)

    def pairs(self, codes: frozenset[str]) -> list:
        prefetched, by_pair = self._prefetched
        if codes <= prefetched:
            return [row for c1 in codes for c2 in codes if c1 != c2 for row in by_pair.get((c1, c2), ())]
        rows = self._asked.get(codes)
        if rows is None:
            rows = self._asked[codes] = self._query(codes)
            if len(self._asked) > PTP_ASKED_MAX:
                self._asked.popitem(last=False)
        return rows


def release_data(release: models.Release) -> ReleaseData:
    """The in-memory (or, for PTP, query-backed) data of one release, cached per process."""
    if kinds.get(release.kind).in_database:
        return DbPtpRelease(release.ref())
    with _cache_lock:
        data = _release_cache.get(release.id)
        if data is not None:
            _release_cache.move_to_end(release.id)
            return data
    data = MemoryRelease(release.ref(), _rows_of(release))
    with _cache_lock:
        _release_cache[release.id] = data
        while len(_release_cache) > _CACHE_SIZE:
            _release_cache.popitem(last=False)
    return data


def clear_cache() -> None:
    with _cache_lock:
        _release_cache.clear()
    with _snapshots_lock:
        _snapshots_shared.clear()


class LazyReleases(dict):
    """kind -> [ReleaseData], reading a release's rows only when a question needs that kind."""

    def __init__(self, releases: list[models.Release]):
        super().__init__()
        self._by_kind: dict[str, list[models.Release]] = {}
        for rel in releases:
            self._by_kind.setdefault(rel.kind, []).append(rel)

    def get(self, kind, default=()):
        if kind not in self:
            rels = self._by_kind.get(kind)
            if not rels:
                return default
            self[kind] = _LazyList(rels)
        return dict.get(self, kind, default)


class _LazyList(list):
    """A list of ReleaseData where each element is read on first access, and ``.ref`` is always cheap."""

    def __init__(self, releases: list[models.Release]):
        super().__init__(_LazyData(rel) for rel in releases)


class _LazyData(ReleaseData):
    def __init__(self, release: models.Release):
        self.release = release
        self.ref = release.ref()
        self._data: ReleaseData | None = None

    def _load(self) -> ReleaseData:
        if self._data is None:
            self._data = release_data(self.release)
        return self._data

    def get(self, code):
        return self._load().get(code)

    def keys_with_prefix(self, prefix: str) -> list[str]:
        return self._load().keys_with_prefix(prefix)

    def pairs(self, codes: frozenset[str]) -> list:
        return self._load().pairs(codes)

    def prefetch(self, codes: frozenset[str]) -> None:
        self._load().prefetch(codes)

    @property
    def rows(self) -> dict:
        return getattr(self._load(), "rows", {})


def loaded_releases() -> list[models.Release]:
    return list(models.Release.objects.filter(status=models.Release.Status.LOADED).order_by("kind", "effective_from"))


class SnapshotFactory:
    """Snapshots for many dates over one read of the release list (the batch checker's path).

    Factories over the same releases (same ids, dates, labels and checksums: a release's rows never change after
    its load) share their snapshots within a process, so what a snapshot works out once (the releases in force,
    a code's sources and answer, the coding list) serves every chunk of an upload, not only the few claims of one
    chunk on its date (a chunk of 500 claims spread over six months gave each snapshot three). Shared by at most
    ``SNAPSHOT_FACTORIES`` factories, then started afresh, which bounds what the snapshots' caches hold.
    """

    def __init__(self, releases: list[models.Release] | None = None):
        self.releases = loaded_releases() if releases is None else releases
        self._lazy, self._snapshots = _shared_snapshots(self.releases)

    def __call__(self, on: date) -> CodingSnapshot:
        snap = self._snapshots.get(on)
        if snap is None:
            snap = self._snapshots[on] = CodingSnapshot(on, self._lazy)
        return snap

    def prefetch_ptp(self, codes: Iterable[str], dates: Iterable[date]) -> None:
        """Read every NCCI PTP pair among ``codes`` (all the codes of a batch of claims) from the PTP releases in
        force on ``dates`` (the batch's dates of service) with one query per release, so the batch's checks ask
        the database nothing more about pairs."""
        wanted = frozenset(normalise_code(c) for c in codes if c)
        if len(wanted) < 2:
            return
        releases = {}
        for on in set(dates):
            snapshot = self(on)
            for kind in (k.PTP_PRACTITIONER, k.PTP_HOSPITAL):
                data = snapshot.data(kind)
                if data is not None:
                    releases[id(data)] = data
        for data in releases.values():
            data.prefetch(wanted)


SNAPSHOT_FACTORIES = 50  # factories (a Checker each: one per chunk of an upload) that share one set of snapshots
SNAPSHOT_DATES = 4000  # dates (snapshots) after which a new factory starts afresh (Checker.shared rebuilds at 5000)
_snapshots_lock = threading.Lock()
_snapshots_shared: list = []  # [releases key, LazyReleases, {date: CodingSnapshot}, factories so far] or empty


def _shared_snapshots(releases: list[models.Release]) -> tuple[LazyReleases, dict[date, CodingSnapshot]]:
    """The release data and the snapshots by date that factories over the same releases share (see
    ``SnapshotFactory``)."""
    key = tuple(release.ref() for release in releases)
    with _snapshots_lock:
        shared = _snapshots_shared
        if shared and shared[0] == key and shared[3] < SNAPSHOT_FACTORIES and len(shared[2]) < SNAPSHOT_DATES:
            shared[3] += 1
            return shared[1], shared[2]
        lazy, snapshots = LazyReleases(releases), {}
        shared[:] = [key, lazy, snapshots, 1]
        return lazy, snapshots


def snapshot_on(on: date) -> CodingSnapshot:
    return SnapshotFactory()(on)


LOOKUP_SYSTEMS = {
    "icd10cm": "icd10cm",
    "procedure": "procedure",
    "cpt": "procedure",
    "hcpcs": "procedure",
    "modifier": "modifier",
    "pos": "pos",
}


def lookup(system: str, code: str, on: date, snapshot: CodingSnapshot | None = None) -> dict:
    """The contract's lookup object for one code as of ``on``.

    A verdict on a code is only given by a release that covers the date, or by the code's own dates (contract,
    ``lookup_code``): when no loaded release of the system covers ``on``, ``in_effect`` (and ``billable``) is
    None and ``note`` says so; ``found`` and ``description`` may still come from a release for other dates.
    """
    system_key = LOOKUP_SYSTEMS.get(system.lower())
    if system_key is None:
        raise ValueError(f"unknown system {system!r}: one of {', '.join(LOOKUP_SYSTEMS)}")
    snap = snapshot or snapshot_on(on)
    out = {
        "system": system.lower(),
        "code": code,
        "found": False,
        "in_effect": False,
        "billable": None,
        "description": None,
        "release": None,
    }
    if system_key == "icd10cm":
        info = snap.diagnosis(code)
        if info is not None:
            out.update(
                code=info.display,
                found=True,
                in_effect=True,
                billable=info.billable,
                description=info.description,
                release=info.release.label,
            )
        elif (other := snap.diagnosis_elsewhere(code)) is not None:
            out.update(
                code=other.display,
                found=True,
                in_effect=False,
                billable=other.billable,
                description=other.description,
                release=other.release.label,
            )
        else:
            out["code"] = normalise_code(code)
        if snap.data(k.ICD10CM) is None:
            _not_covered(out, on, (k.ICD10CM,))
    elif system_key == "procedure":
        code_n = normalise_code(code)
        out["code"] = code_n
        answer = snap.procedure_answer(code_n)
        info = answer.info
        if info is not None:
            effective = answer.status == k.IN_EFFECT
            out.update(
                found=True,
                in_effect=effective,
                billable=effective,
                description=info.description,
                release=info.release.label,
            )
            out["code_system"] = info.system
            out["description_is_summary"] = info.description_is_summary
            if info.effective_from:
                out["effective_from"] = info.effective_from.isoformat()
            if info.effective_to:
                out["effective_to"] = info.effective_to.isoformat()
            if info.status:
                out["pfs_status"] = info.status
        if answer.status == k.NOT_LOADED:
            _not_covered(out, on, answer.kinds or k.PROCEDURE_KINDS)
    elif system_key == "modifier":
        out["code"] = code.strip().upper()
        info = snap.modifier(code)
        if info is not None:
            effective = k.in_effect(on, info.effective_from, info.effective_to)
            out.update(found=True, in_effect=effective, description=info.description, release=info.release.label)
        elif snap.data(k.MODIFIERS) is None and snap.data(k.HCPCS) is None:
            _not_covered(out, on, (k.MODIFIERS, k.HCPCS))
    else:
        out["code"] = code.strip().zfill(2)
        info = snap.place_of_service(code)
        if info is not None:
            out.update(found=True, in_effect=True, description=info.name, release=info.release.label)
        elif snap.data(k.POS) is None:
            _not_covered(out, on, (k.POS,))
    return out


def _not_covered(out: dict, on: date, kinds) -> None:
    """No release that would answer covers ``on``: no verdict (in_effect and billable None) and a note."""
    names = " or ".join(k.KIND_LABELS.get(kind, kind) for kind in kinds)
    out["in_effect"] = None
    out["billable"] = None
    where = f" (listed by {out['release']} for other dates)" if out.get("release") else ""
    out["note"] = f"No loaded {names} release covers {on.isoformat()}: no verdict on this code for that date{where}."


def freshness(today: date) -> list[dict]:
    """For each kind: the release in force today (if any), the last day any loaded release covers, and whether the
    kind is stale (loaded, but nothing covers today)."""
    out = []
    releases = loaded_releases()
    for kind in k.ALL_KINDS:
        rels = [x for x in releases if x.kind == kind]
        current = models.Release.objects.in_force(kind, today, or_latest=False) if rels else None
        latest_end = max((x.effective_to or date.max for x in rels), default=None)
        out.append(
            {
                "kind": kind,
                "label": k.KIND_LABELS[kind],
                "loaded": bool(rels),
                "current": current,
                "covers_today": current is not None,
                "stale": bool(rels) and current is None,
                "last_day": None if latest_end in (None, date.max) else latest_end,
            }
        )
    return out


def zip_locality(zip_code: str, on: date) -> tuple[r.ZipLocalityRow, ReleaseRef] | None:
    """The carrier, locality and state of a ZIP code from the ZIP crosswalk in force on ``on`` (the latest to
    take effect; failing that, the latest loaded): one query for the release, one for the row. None when no
    crosswalk is loaded or the ZIP is not in it."""
    zip5 = (zip_code or "").strip()[:5]
    release = models.Release.objects.in_force(k.ZIP5, on)
    if release is None:
        return None
    zips = kinds.get(k.ZIP5)
    values = models.ZipLocality.objects.filter(release=release, zip_code=zip5).values_list(*zips.columns)[:1]
    found = next(zips.rows_from(values), None)
    return (found, release.ref()) if found is not None else None
