"""CodingSnapshot: every coding question answered as of one date of service.

Pure: a snapshot is built from ``ReleaseData`` objects (one per loaded release) and never touches the ORM
itself. ``codes.selectors.snapshot_on`` builds one from the database (with per-release in-memory
tables cached per process, and the large NCCI PTP table queried per claim); tests and benchmarks can
build one from rows in memory with ``MemoryRelease``.

Rules of the contract (../shared/contract/README.md, "Dates"):
- a release is in force from ``effective_from`` to ``effective_to`` inclusive (None: open ended);
- when two releases of one kind cover a date, the one that took effect later answers for it;
- rows that carry their own dates (HCPCS add/termination, NCCI effective/deletion) keep them: the
  release in force is asked, and the row's own dates decide whether it applies on the date;
- a procedure code is known when any loaded source that lists procedure codes has it in effect.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from codes.formats.base import normalise_code
from codes.formats.icd10 import icd10cm_display

# The kinds (``codes.kinds``), importable from here too: the rules and the guide name them as the snapshot's.
from codes.kinds import (  # noqa: E402, F401
    ALL_KINDS,
    ASC,
    CPT,
    CUMULATIVE_KINDS,
    GPCI,
    HCPCS,
    ICD10CM,
    KIND_LABELS,
    LOCALITY,
    MODIFIERS,
    MUE_HOSPITAL,
    MUE_PRACTITIONER,
    NCCI_ADDON,
    NOT_CLAIM_KINDS,
    OPPS,
    PFS_RVU,
    POS,
    PROCEDURE_KINDS,
    PROCEDURE_SUMMARIES,
    PTP_HOSPITAL,
    PTP_PRACTITIONER,
    ZIP5,
)


@dataclass(frozen=True, slots=True)
class ReleaseRef:
    """Which release answered: shown in every finding's reference and in the result's ``coding`` list."""

    id: int | None
    kind: str
    label: str
    effective_from: date
    effective_to: date | None = None
    sha256: str = ""

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def as_coding(self) -> dict:
        return {
            "kind": self.kind,
            "release": self.label,
            "effective_from": self.effective_from.isoformat(),
            "effective_to": self.effective_to.isoformat() if self.effective_to else None,
        }


def in_effect(on: date, start: date | None, end: date | None) -> bool:
    """Row-level dates: in effect from ``start`` to ``end`` inclusive; None is open."""
    return (start is None or start <= on) and (end is None or on <= end)


@dataclass(frozen=True, slots=True)
class DiagnosisInfo:
    code: str  # no dot
    billable: bool
    description: str
    release: ReleaseRef

    @property
    def display(self) -> str:
        return icd10cm_display(self.code)


@dataclass(frozen=True, slots=True)
class ProcedureInfo:
    """A procedure code as one source lists it, with its own dates where the source has them."""

    code: str
    system: str  # "CPT" or "HCPCS"
    description: str
    description_is_summary: bool  # our own words (fixtures), not the source's descriptor
    effective_from: date | None
    effective_to: date | None  # last valid day
    replacement: str
    release: ReleaseRef
    coverage: str = ""  # HCPCS COV code
    status: str = ""  # PFS status code, when the source is the PFS


IN_EFFECT = "in_effect"
NOT_IN_EFFECT = "not_in_effect"
UNKNOWN = "unknown"
NOT_LOADED = "not_loaded"


@dataclass(frozen=True, slots=True)
class ProcedureAnswer:
    """``status``: IN_EFFECT, NOT_IN_EFFECT (by a release in force or the row's own dates), UNKNOWN (in no loaded
    release, while a procedure release covers the date) or NOT_LOADED (no release that would answer covers the
    date; ``kinds``: the kinds that list the code for other dates). ``info``: the listing the answer rests on."""

    status: str
    info: ProcedureInfo | None
    kinds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ModifierInfo:
    code: str
    system: str
    description: str
    effective_from: date | None
    effective_to: date | None
    ncci_associated: bool
    anatomic: bool
    release: ReleaseRef


@dataclass(frozen=True, slots=True)
class AddonInfo:
    """One NCCI add-on code edit in effect: ``primary`` empty for a type 2 add-on (the contractor decides)."""

    addon: str
    primary: str
    edit_type: int
    effective: date
    deleted: date | None
    release: ReleaseRef


@dataclass(frozen=True, slots=True)
class PlaceInfo:
    code: str
    name: str
    facility: bool
    release: ReleaseRef


@dataclass(frozen=True, slots=True)
class PtpEdit:
    column1: str
    column2: str
    effective: date
    deleted: date | None
    modifier_indicator: str
    rationale: str
    release: ReleaseRef

    def applies_on(self, on: date) -> bool:
        if self.deleted is not None and self.deleted == self.effective and self.modifier_indicator == "9":
            return False  # withdrawn retroactively: never applied
        return in_effect(on, self.effective, self.deleted)


@dataclass(frozen=True, slots=True)
class MueInfo:
    code: str
    value: int
    adjudication_indicator: int
    rationale: str
    release: ReleaseRef


@dataclass(frozen=True, slots=True)
class RvuInfo:
    code: str
    modifier: str
    status: str
    work_rvu: Decimal | None
    pe_nonfacility_rvu: Decimal | None
    pe_nonfacility_na: bool
    pe_facility_rvu: Decimal | None
    pe_facility_na: bool
    mp_rvu: Decimal | None
    pctc_indicator: str
    global_days: str
    mult_proc: str
    bilat_surg: str
    conversion_factor: Decimal | None
    release: ReleaseRef

    @classmethod
    def from_row(cls, row, release: ReleaseRef) -> RvuInfo:
        """From a PFS RVU row (``codes.formats.rows.RvuRow``) of ``release``."""
        return cls(
            row.code,
            row.modifier,
            row.status,
            row.work_rvu,
            row.pe_nonfacility_rvu,
            row.pe_nonfacility_na,
            row.pe_facility_rvu,
            row.pe_facility_na,
            row.mp_rvu,
            row.pctc_indicator,
            row.global_days,
            row.mult_proc,
            row.bilat_surg,
            row.conversion_factor,
            release,
        )


class ReleaseData(ABC):
    """One loaded release's rows, indexed. Subclasses decide where the rows come from."""

    ref: ReleaseRef

    @abstractmethod
    def get(self, code: str):
        """The row object for a key (a code; for PFS a (code, modifier) tuple), or None."""

    @abstractmethod
    def keys_with_prefix(self, prefix: str) -> list[str]:
        """Codes starting with ``prefix`` (ICD-10-CM children of a header)."""

    @abstractmethod
    def pairs(self, codes: frozenset[str]) -> list:
        """NCCI PTP rows whose column 1 and column 2 are both in ``codes`` (any dates)."""

    def prefetch(self, codes: frozenset[str]) -> None:  # noqa: B027 (a no-op unless the rows live elsewhere)
        """Read ahead every PTP pair among ``codes`` (a batch's codes), so ``pairs`` among them costs no query."""


class MemoryRelease(ReleaseData):
    """A release held in memory: a dict of rows by key; PTP rows by (column1, column2)."""

    def __init__(self, ref: ReleaseRef, rows: Mapping | None = None, ptp: Iterable | None = None):
        self.ref = ref
        self.rows = dict(rows or {})
        self._sorted: list[str] | None = None
        self._ptp: dict[tuple[str, str], list] = {}
        for row in ptp or ():
            self._ptp.setdefault((row.column1, row.column2), []).append(row)

    def get(self, code):
        return self.rows.get(code)

    def keys_with_prefix(self, prefix: str) -> list[str]:
        import bisect

        if self._sorted is None:
            self._sorted = sorted(k for k in self.rows if isinstance(k, str))
        i = bisect.bisect_left(self._sorted, prefix)
        out = []
        while i < len(self._sorted) and self._sorted[i].startswith(prefix):
            out.append(self._sorted[i])
            i += 1
        return out

    def pairs(self, codes: frozenset[str]) -> list:
        out = []
        for c1 in codes:
            for c2 in codes:
                if c1 != c2:
                    out.extend(self._ptp.get((c1, c2), ()))
        return out


@dataclass
class CodingSnapshot:
    """The coding in force on ``on``. ``releases`` maps a kind to every loaded release of that kind."""

    on: date
    releases: Mapping[str, Sequence[ReleaseData]]
    _in_force: dict[str, ReleaseData | None] = field(default_factory=dict, repr=False)
    # code as asked -> its sources / answer: a snapshot's releases do not change, and a batch asks the same
    # few codes for every claim of a date (a Checker is rebuilt when the releases change)
    _sources: dict[str, tuple] = field(default_factory=dict, repr=False)
    _answers: dict[str, ProcedureAnswer] = field(default_factory=dict, repr=False)
    _diagnoses: dict[str, DiagnosisInfo | None] = field(default_factory=dict, repr=False)
    _coding: tuple | None = field(default=None, repr=False)
    # (question, key) -> answer, for the other questions a claim's rules ask of every line (modifiers, MUEs, RVUs,
    # PTP pairs, add-on edits, the place of service): the same few keys, asked again claim after claim
    _asked: dict[tuple, object] = field(default_factory=dict, repr=False)
    # What a rule works out from the snapshot alone (its date and releases), kept by the rule under its own key
    # (e.g. the text of a CODING_NOT_LOADED finding for the date): plain, frozen values only
    memo: dict = field(default_factory=dict, repr=False)

    # ---- releases -------------------------------------------------------------------------------
    def data(self, kind: str) -> ReleaseData | None:
        """The release of ``kind`` in force on the date (the latest to take effect), or None.

        NCCI PTP files are cumulative (every pair keeps its own effective and deletion dates), so when no
        PTP release covers the date, the earliest release that took effect after it answers: its pairs'
        own dates decide whether they applied on the date.
        """
        try:
            return self._in_force[kind]
        except KeyError:
            pass
        releases = self.releases.get(kind, ())
        covering = [r for r in releases if r.ref.covers(self.on)]
        chosen = max(covering, key=lambda r: (r.ref.effective_from, r.ref.id or 0), default=None)
        if chosen is None and kind in CUMULATIVE_KINDS:
            later = [r for r in releases if r.ref.effective_from > self.on]
            chosen = min(later, key=lambda r: (r.ref.effective_from, -(r.ref.id or 0)), default=None)
        self._in_force[kind] = chosen
        return chosen

    def release(self, kind: str) -> ReleaseRef | None:
        try:
            return self._asked[("release", kind)]
        except KeyError:
            data = self.data(kind)
            found = self._asked[("release", kind)] = data.ref if data else None
            return found

    def loaded(self, kind: str) -> bool:
        """Whether any release of ``kind`` is loaded at all (whatever its dates)."""
        return bool(self.releases.get(kind))

    def coding(self) -> list[dict]:
        """The releases in force on the date, for the result's ``coding`` list (new dicts each call)."""
        if self._coding is None:
            self._coding = tuple(
                d.ref.as_coding()
                for kind in ALL_KINDS
                if kind not in NOT_CLAIM_KINDS and (d := self.data(kind)) is not None
            )
        return [dict(entry) for entry in self._coding]

    # ---- diagnoses ------------------------------------------------------------------------------
    def diagnosis(self, code: str) -> DiagnosisInfo | None:
        """The ICD-10-CM code as the release in force lists it."""
        try:
            return self._diagnoses[code]
        except KeyError:
            found = self._diagnoses[code] = self._diagnosis(code)
            return found

    def _diagnosis(self, code: str) -> DiagnosisInfo | None:
        data = self.data(ICD10CM)
        code = normalise_code(code)
        row = data.get(code) if data else None
        return _diagnosis(row, data.ref) if row is not None else None

    def diagnosis_elsewhere(self, code: str) -> DiagnosisInfo | None:
        """The code as another loaded ICD-10-CM release lists it (latest first), for 'not in effect'."""
        try:
            return self._asked[("diagnosis_elsewhere", code)]
        except KeyError:
            found = self._asked[("diagnosis_elsewhere", code)] = self._diagnosis_elsewhere(code)
            return found

    def _diagnosis_elsewhere(self, code: str) -> DiagnosisInfo | None:
        code = normalise_code(code)
        current = self.data(ICD10CM)
        for data in sorted(self.releases.get(ICD10CM, ()), key=lambda r: r.ref.effective_from, reverse=True):
            if data is current:
                continue
            row = data.get(code)
            if row is not None:
                return _diagnosis(row, data.ref)
        return None

    def billable_children(self, code: str, limit: int = 12) -> list[str]:
        data = self.data(ICD10CM)
        if not data:
            return []
        code = normalise_code(code)
        out = []
        for key in data.keys_with_prefix(code):
            if key != code and data.get(key).billable:
                out.append(key)
                if len(out) >= limit:
                    break
        return out

    # ---- procedures -----------------------------------------------------------------------------
    def procedure_sources(self, code: str) -> list[ProcedureInfo]:
        """The code as every procedure-code source in force on the date lists it (any row dates)."""
        known = self._sources.get(code)
        if known is None:
            known = self._sources[code] = tuple(self._procedure_sources(code))
        return list(known)

    def _procedure_sources(self, code: str) -> list[ProcedureInfo]:
        code = normalise_code(code)
        out = []
        for kind in PROCEDURE_KINDS:
            data = self.data(kind)
            if data is None:
                continue
            row = data.get((code, "")) if kind == PFS_RVU else data.get(code)
            if row is not None and not _is_modifier_row(kind, row):
                out.append(_procedure(kind, row, data.ref))
        return out

    def procedure(self, code: str) -> ProcedureInfo | None:
        """The best answer for a procedure code: a source that has it in effect, else any that lists it."""
        sources = self.procedure_sources(code)
        for info in sources:
            if in_effect(self.on, info.effective_from, info.effective_to):
                return info
        return sources[0] if sources else None

    def procedure_elsewhere(self, code: str) -> ProcedureInfo | None:
        """The code as the latest loaded procedure release not in force on the date lists it, with the ROW's own
        dates only: a release's end date is not the code's end date (it only says the file stopped there)."""
        listings = self._listings_elsewhere(code)
        return listings[0][1] if listings else None

    def _listings_elsewhere(self, code: str) -> list[tuple[str, ProcedureInfo]]:
        """(kind, info) for every loaded procedure release NOT in force on the date that lists the code, latest
        release first."""
        code = normalise_code(code)
        out = []
        for kind in PROCEDURE_KINDS:
            current = self.data(kind)
            for data in self.releases.get(kind, ()):
                if data is current:
                    continue
                row = data.get((code, "")) if kind == PFS_RVU else data.get(code)
                if row is not None and not _is_modifier_row(kind, row):
                    out.append((kind, _procedure(kind, row, data.ref)))
        out.sort(key=lambda item: (item[1].release.effective_from, item[1].release.id or 0), reverse=True)
        return out

    def procedure_answer(self, code: str) -> ProcedureAnswer:
        """Whether a procedure code is in effect on the date, and on what grounds (contract, "Dates").

        A verdict comes only from a release in force on the date, or from a row's OWN dates (a HCPCS termination
        date, a start date in a later file): a release that ended before the date does not make its codes end
        with it, and a file that took effect after the date does not make its codes start with it. A code
        listed only by releases that do not cover the date, whose own dates do not settle it, is NOT_LOADED
        for those releases' kinds: the caller says which code set to load, and gives no verdict.
        """
        answer = self._answers.get(code)
        if answer is None:
            answer = self._answers[code] = self._procedure_answer(code)
        return answer

    def _procedure_answer(self, code: str) -> ProcedureAnswer:
        sources = self.procedure_sources(code)
        for info in sources:
            if in_effect(self.on, info.effective_from, info.effective_to):
                return ProcedureAnswer(IN_EFFECT, info)
        if sources:
            return ProcedureAnswer(NOT_IN_EFFECT, _dated(sources))
        listings = self._listings_elsewhere(code)
        if not listings:
            return ProcedureAnswer(UNKNOWN if self.procedures_loaded() else NOT_LOADED, None)
        excluded = [info for _, info in listings if _row_excludes(self.on, info)]
        known = [info for _, info in listings if _row_includes(self.on, info)]
        if known:
            return ProcedureAnswer(IN_EFFECT, known[0])
        if excluded:
            return ProcedureAnswer(NOT_IN_EFFECT, _dated(excluded))
        kinds = tuple(dict.fromkeys(kind for kind, _ in listings))
        return ProcedureAnswer(NOT_LOADED, listings[0][1], kinds)

    def procedures_loaded(self) -> bool:
        try:
            return self._asked[("procedures_loaded", None)]
        except KeyError:
            found = self._asked[("procedures_loaded", None)] = any(
                self.data(kind) is not None for kind in PROCEDURE_KINDS
            )
            return found

    # ---- modifiers and places of service ------------------------------------------------------
    def modifier(self, code: str) -> ModifierInfo | None:
        try:
            return self._asked[("modifier", code)]
        except KeyError:
            found = self._asked[("modifier", code)] = self._modifier(code)
            return found

    def _modifier(self, code: str) -> ModifierInfo | None:
        code = (code or "").strip().upper()
        for kind in (MODIFIERS, HCPCS):
            data = self.data(kind)
            row = data.get(code) if data else None
            if row is None:
                continue
            if kind == HCPCS:
                if not row.is_modifier:
                    continue
                return ModifierInfo(
                    code, "HCPCS", row.long_description, row.added, row.terminated, False, False, data.ref
                )
            return ModifierInfo(
                code,
                row.code_system,
                row.description,
                row.effective_from,
                row.effective_to,
                row.ncci_associated,
                row.anatomic,
                data.ref,
            )
        return None

    def place_of_service(self, code: str) -> PlaceInfo | None:
        try:
            return self._asked[("pos", code)]
        except KeyError:
            found = self._asked[("pos", code)] = self._place_of_service(code)
            return found

    def _place_of_service(self, code: str) -> PlaceInfo | None:
        data = self.data(POS)
        row = data.get((code or "").strip().zfill(2)) if data else None
        if row is None or not in_effect(self.on, row.effective_from, row.effective_to):
            return None
        return PlaceInfo(row.code, row.name, row.facility, data.ref)

    # ---- edits and fees -------------------------------------------------------------------------
    def ptp_edits(self, codes: Iterable[str], claim_type: str = "professional") -> list[PtpEdit]:
        """PTP pairs among ``codes`` that apply on the date (column 1 and column 2 both present)."""
        data = self.data(PTP_HOSPITAL if claim_type == "institutional" else PTP_PRACTITIONER)
        if data is None:
            return []
        codes = frozenset(normalise_code(c) for c in codes)
        if len(codes) < 2:
            return []
        key = ("ptp", codes, claim_type)
        known = self._asked.get(key)
        if known is None:
            known = self._asked[key] = tuple(self._ptp_edits(data, codes))
        return list(known)

    def _ptp_edits(self, data: ReleaseData, codes: frozenset[str]) -> list[PtpEdit]:
        edits = [
            PtpEdit(r.column1, r.column2, r.effective, r.deleted, r.modifier_indicator, r.rationale, data.ref)
            for r in data.pairs(codes)
        ]
        return [e for e in edits if e.applies_on(self.on)]

    def mue(self, code: str, claim_type: str = "professional") -> MueInfo | None:
        try:
            return self._asked[("mue", code, claim_type)]
        except KeyError:
            found = self._asked[("mue", code, claim_type)] = self._mue(code, claim_type)
            return found

    def _mue(self, code: str, claim_type: str) -> MueInfo | None:
        data = self.data(MUE_HOSPITAL if claim_type == "institutional" else MUE_PRACTITIONER)
        row = data.get(normalise_code(code)) if data else None
        if row is None:
            return None
        return MueInfo(row.code, row.value, row.adjudication_indicator, row.rationale, data.ref)

    def addon_edits(self, code: str) -> list[AddonInfo]:
        """The NCCI add-on code edits for ``code`` as an add-on code that apply on the date (empty: the code is
        not an add-on code in the release in force, or no add-on release covers the date)."""
        known = self._asked.get(("addon", code))
        if known is None:
            known = self._asked[("addon", code)] = tuple(self._addon_edits(code))
        return list(known)

    def _addon_edits(self, code: str) -> list[AddonInfo]:
        data = self.data(NCCI_ADDON)
        rows = data.get(normalise_code(code)) if data else None
        out = []
        for row in rows or ():
            if not in_effect(self.on, row.addon_effective, row.addon_deleted):
                continue
            if row.primary and not in_effect(self.on, row.primary_effective, row.primary_deleted):
                continue
            out.append(
                AddonInfo(row.addon, row.primary, row.edit_type, row.addon_effective, row.addon_deleted, data.ref)
            )
        return out

    def rvu(self, code: str, modifier: str = "") -> RvuInfo | None:
        try:
            return self._asked[("rvu", code, modifier)]
        except KeyError:
            found = self._asked[("rvu", code, modifier)] = self._rvu(code, modifier)
            return found

    def _rvu(self, code: str, modifier: str) -> RvuInfo | None:
        data = self.data(PFS_RVU)
        row = data.get((normalise_code(code), modifier or "")) if data else None
        if row is None:
            return None
        return RvuInfo.from_row(row, data.ref)

    def row(self, kind: str, key):
        """The raw row of the release of ``kind`` in force, by key (GPCI: (mac, locality); OPPS/ASC: code)."""
        data = self.data(kind)
        return data.get(key) if data else None


def _diagnosis(row, ref: ReleaseRef) -> DiagnosisInfo:
    return DiagnosisInfo(row.code, row.billable, row.description, ref)


def _is_modifier_row(kind: str, row) -> bool:
    """HCPCS files list Level II modifiers beside the codes: a modifier record is not a procedure code."""
    return kind == HCPCS and getattr(row, "is_modifier", False)


def _procedure(kind: str, row, ref: ReleaseRef) -> ProcedureInfo:
    """Turn a source row of any procedure kind into a ProcedureInfo with the row's own dates."""
    if kind == HCPCS:
        return ProcedureInfo(
            row.code,
            "HCPCS",
            row.long_description,
            False,
            row.added,
            row.terminated,
            next(iter(row.xrefs), "") if row.terminated else "",
            ref,
            coverage=row.coverage,
        )
    if kind == PROCEDURE_SUMMARIES:
        return ProcedureInfo(
            row.code, row.code_system, row.summary, True, row.effective_from, row.effective_to, row.replacement, ref
        )
    if kind == CPT:
        return ProcedureInfo(row.code, "CPT", row.description, False, None, None, "", ref)
    if kind == PFS_RVU:
        system = "HCPCS" if row.code[:1].isalpha() else "CPT"
        return ProcedureInfo(row.code, system, row.description, False, None, None, "", ref, status=row.status)
    # OPPS / ASC addenda
    system = "HCPCS" if row.code[:1].isalpha() else "CPT"
    return ProcedureInfo(row.code, system, row.short_description, False, None, None, "", ref)


def _dated(sources: Sequence[ProcedureInfo]) -> ProcedureInfo:
    """Of the listings of a code, the one whose own dates say why it is not in effect (a replacement first)."""
    dated = [info for info in sources if info.effective_from or info.effective_to]
    return next((info for info in dated if info.replacement), dated[0] if dated else sources[0])


def _row_excludes(on: date, info: ProcedureInfo) -> bool:
    """The row's own dates put ``on`` outside the code's life (it starts later, or was terminated before)."""
    return bool((info.effective_from and on < info.effective_from) or (info.effective_to and on > info.effective_to))


def _row_includes(on: date, info: ProcedureInfo) -> bool:
    """A release not in force on ``on`` still shows the code in effect then: each side of ``on`` is vouched for by
    the row's own date, or, where the row has none, by the release's own dates reaching past ``on``."""
    ref = info.release
    start_ok = info.effective_from <= on if info.effective_from else ref.effective_from <= on
    end_ok = on <= info.effective_to if info.effective_to else (ref.effective_to is None or on <= ref.effective_to)
    return start_ok and end_ok


SnapshotFactory = Callable[[date], CodingSnapshot]
