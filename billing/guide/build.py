"""The billing guide's data from the database: ``build_guide(procedure, year, locality, practice_id) -> GuideData``.

What it reads (a fixed number of queries, none per code):
- the procedure profile (its procedure codes, usual and avoided diagnoses, modifiers, places of service);
- the coding *as of the year*: for each kind, the release in force on the latest day of the year that a loaded
  release of that kind covers (the PFS October file rather than the January one; an ICD-10-CM release ending
  on 30 September). Each release's rows are read once per process (``codes.selectors``); a kind with no release
  covering any day of the year is "not loaded", never an amount of $0;
- the payer rules in force at any time in the year, with the practice's own overrides in preference;
- the PFS RVUs, the GPCI of the locality (``10112-00``: contractor 10112, locality 00) and the conversion factor
  (the RVU file's own, else ``fixtures/codesets/conversion_factors.csv``), OPPS Addendum B and ASC Addendum AA
  rows when loaded;
- the previous year's figures for the Changes sheet: codes added or terminated, rule versions that changed,
  amounts old and new;
- every release used (dates and sha256) for the Sources sheet.

CPT descriptors are the AMA's: the licensed text is shown when a ``cpt`` release is loaded, else our summary,
marked as such. HCPCS Level II text is CMS's and public.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from django.utils import timezone

from billing.guide.fees import (
    CARRIER_PRICED,
    CONVERSION_FACTORS_FILE,
    NOT_LOADED,
    FacilityRate,
    asc_rate,
    conversion_factor,
    conversion_factor_source,
    opps_rate,
    uses_facility_rate,
)
from billing.guide.text import for_year
from billing.guide.workbook import (
    CHANGE_AMOUNT,
    CHANGE_CODE,
    CHANGE_RULE,
    TEXT_CMS,
    TEXT_LICENSED,
    TEXT_SUMMARY,
    ChangeRow,
    CoverageRow,
    DiagnosisCode,
    GuideData,
    Locality,
    ModifierCode,
    PaymentRow,
    PlaceOfService,
    ProcedureCode,
    SourceRow,
    claim_fields_from,
)
from codes import models as code_models
from codes import snapshot as k
from codes.selectors import SnapshotFactory, loaded_releases
from codes.snapshot import KIND_LABELS, CodingSnapshot, ReleaseData
from practice import policy
from practice.models import Payer, PayerRule, Practice, PracticePayer, ProcedureProfile, ProfileCode
from practice.selectors import RuleBook, procedure_profile

NOT_COMPARED = "Not compared"  # a Changes row saying what could not be compared, and why
COMPONENT_ROW = "n/a (26/TC row)"  # OPPS and ASC pay the code, not a PFS component row
_LOCALITY = re.compile(r"^\s*(\d{5})-(\d{2})\s*$")
_PAYER_ORDER = {policy.MEDICARE_FFS: 0, policy.MEDICARE_ADVANTAGE: 1, policy.MEDICAID: 2, policy.COMMERCIAL: 3}
_ROLE_ORDER = {ProfileCode.PRIMARY: 0, ProfileCode.ALTERNATIVE: 1, ProfileCode.RELATED: 2}
_ROLE_TEXT = {
    ProfileCode.PRIMARY: "the procedure's own code",
    ProfileCode.ALTERNATIVE: "alternative code",
    ProfileCode.RELATED: "related code",
    ProfileCode.USUAL: "usual on these claims",
    ProfileCode.AVOID: "avoid on these claims",
}
# The kinds the guide reads (its Sources sheet lists their releases; LOCALITY only when it named the locality).
GUIDE_KINDS = (k.PROCEDURE_SUMMARIES, k.CPT, k.HCPCS, k.ICD10CM, k.MODIFIERS, k.POS, k.PFS_RVU, k.GPCI, k.OPPS, k.ASC)
# Kinds whose absence the Sources sheet states (others are simply not listed when absent).
_REPORTED_KINDS = (k.PFS_RVU, k.GPCI, k.OPPS, k.ASC, k.CPT, k.ICD10CM)


class GuideError(ValueError):
    """A guide that cannot be built as asked; ``option`` names the parameter at fault (procedure, year, locality)."""

    def __init__(self, option: str, message: str):
        self.option = option
        super().__init__(message)


def parse_locality(text: str) -> tuple[str, str]:
    """``"10112-00"`` -> ``("10112", "00")``: the Medicare contractor and the locality number, as in the GPCI file."""
    match = _LOCALITY.match(text or "")
    if not match:
        raise GuideError(
            "locality",
            f"{text!r} is not a locality: give the Medicare contractor and the locality number as in the GPCI "
            "file, e.g. 10112-00 (Alabama)",
        )
    return match.group(1), match.group(2)


def procedure_keys() -> list[str]:
    return list(ProcedureProfile.objects.order_by("key").values_list("key", flat=True))


# ---- the coding of one year --------------------------------------------------------------------------------


class YearCoding:
    """For each kind, the release in force on the latest day of ``year`` that a loaded release of the kind covers."""

    def __init__(self, year: int, releases: list[code_models.Release], factory: SnapshotFactory):
        self.year = year
        self.first, self.last = date(year, 1, 1), date(year, 12, 31)
        self._factory = factory
        self._on: dict[str, date | None] = {}
        by_kind: dict[str, list[code_models.Release]] = {}
        for release in releases:
            by_kind.setdefault(release.kind, []).append(release)
        for kind, rels in by_kind.items():
            best = None
            for release in rels:
                start = max(release.effective_from, self.first)
                end = min(release.effective_to or self.last, self.last)
                if start <= end and (best is None or end > best):
                    best = end
            self._on[kind] = best

    def on(self, kind: str) -> date | None:
        """The day the kind is read as of, or None when no loaded release of the kind covers the year."""
        return self._on.get(kind)

    def snapshot(self, kind: str) -> CodingSnapshot | None:
        on = self.on(kind)
        return self._factory(on) if on else None

    def data(self, kind: str) -> ReleaseData | None:
        snap = self.snapshot(kind)
        return snap.data(kind) if snap else None

    def loaded(self, kind: str) -> bool:
        return self.data(kind) is not None

    def get(self, kind: str, key):
        data = self.data(kind)
        return data.get(key) if data is not None else None

    def used(self, kinds: Iterable[str] = k.ALL_KINDS) -> list[k.ReleaseRef]:
        """The releases of ``kinds`` the year is read from, in the order of ``kinds``."""
        return [d.ref for kind in kinds if (d := self.data(kind)) is not None]


# ---- payer rules in force in a year ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rules:
    book: RuleBook
    versions: tuple[policy.PayerRuleVersion, ...]
    payers: tuple[policy.PayerInfo, ...]  # the payers the guide covers, in display order

    @classmethod
    def load(cls, practice_id: int | None) -> Rules:
        """Every payer and rule version (two queries); with a practice, its payers when it lists any (one more)."""
        all_payers = [p.as_info() for p in Payer.objects.all()]
        versions = tuple(
            r.as_version(r.payer.key)
            for r in PayerRule.objects.select_related("payer").order_by("payer__key", "key", "effective_from")
        )
        shown = all_payers
        if practice_id is not None:
            keys = set(PracticePayer.objects.filter(practice_id=practice_id).values_list("payer__key", flat=True))
            if keys:
                shown = [p for p in all_payers if p.key in keys]
        shown.sort(key=lambda p: (_PAYER_ORDER.get(p.payer_type, 9), p.name))
        return cls(RuleBook(all_payers, versions), versions, tuple(shown))

    def in_year(self, payer_key: str, year: int, practice_id: int | None) -> list[policy.PayerRuleVersion]:
        """The versions in force on any day of ``year`` (each once, by series then date)."""
        first, last = date(year, 1, 1), date(year, 12, 31)
        days = {first}
        for v in self.versions:
            if v.payer_key != payer_key:
                continue
            if first <= v.effective_from <= last:
                days.add(v.effective_from)
            if v.effective_to and first <= v.effective_to < last:
                days.add(v.effective_to + timedelta(days=1))
        seen: dict[object, policy.PayerRuleVersion] = {}
        for day in sorted(days):
            for v in self.book.rules_for(payer_key, day, practice_id):
                seen.setdefault((v.id, v.key, v.version, v.practice_id), v)
        return sorted(seen.values(), key=lambda v: (v.key or v.name, v.effective_from))

    def on(self, payer_key: str, day: date, practice_id: int | None) -> dict[str, policy.PayerRuleVersion]:
        return {v.key or v.name: v for v in self.book.rules_for(payer_key, day, practice_id)}


# ---- the guide -----------------------------------------------------------------------------------------------


def build_guide(procedure_key: str, year: int, locality: str | None, practice_id: int | None) -> GuideData:
    """The billing guide of a procedure profile for a calendar year, national or for one Medicare locality.

    Raises ``GuideError`` (with ``option`` set) for an unknown procedure, a year out of range or a locality that
    is malformed or absent from the loaded GPCI file of the year (or the year before).
    """
    return _Builder(procedure_key, year, locality, practice_id).build()


class _Builder:
    def __init__(self, procedure_key: str, year: int, locality: str | None, practice_id: int | None):
        if not isinstance(year, int) or not 1990 <= year <= 2100:
            raise GuideError("year", f"{year!r} is not a calendar year between 1990 and 2100")
        profile = procedure_profile(procedure_key)
        if profile is None:
            known = ", ".join(procedure_keys()) or "none loaded: run load_defaults"
            raise GuideError("procedure", f"unknown procedure {procedure_key!r} (known: {known})")
        self.profile = profile
        self.year, self.previous = year, year - 1
        self.practice_id = practice_id
        self.practice_name = (
            Practice.objects.filter(pk=practice_id).values_list("name", flat=True).first() if practice_id else None
        )
        self.releases = loaded_releases()
        factory = SnapshotFactory(self.releases)
        self.cur = YearCoding(year, self.releases, factory)
        self.prev = YearCoding(year - 1, self.releases, factory)
        self.release_models = {r.id: r for r in self.releases}
        self.kinds = GUIDE_KINDS
        self.locality_key = parse_locality(locality) if locality else None
        self.locality = self._locality()
        self.rules = Rules.load(practice_id)
        self.procedure_codes = sorted(
            profile.of("procedure"), key=lambda c: (_ROLE_ORDER.get(c.role, 9), profile.codes.index(c))
        )

    # -- locality and conversion factor ------------------------------------------------------------------------
    def _locality(self) -> Locality | None:
        if self.locality_key is None:
            return None
        code = "-".join(self.locality_key)
        checked = []
        for coding in (self.cur, self.prev):
            data = coding.data(k.GPCI)
            if data is None:
                continue
            row = data.get(self.locality_key)
            if row is not None:
                return Locality(code, row.name)
            checked.append(data.ref.label)
        area = self.cur.get(k.LOCALITY, self.locality_key)
        if area is not None:
            self.kinds = (*self.kinds, k.LOCALITY)
            return Locality(code, area.area)
        if checked or self.cur.loaded(k.LOCALITY):
            where = ", ".join(checked) or self.cur.data(k.LOCALITY).ref.label
            raise GuideError("locality", f"no Medicare locality {code} in {where}: give one as in the GPCI file")
        return Locality(code, f"(no GPCI file loaded for {self.year})")

    def gpci(self, coding: YearCoding):
        return coding.get(k.GPCI, self.locality_key) if self.locality_key else None

    def conversion_factor(self, coding: YearCoding) -> tuple[Decimal | None, str]:
        """The CF for the year (the RVU file's own, else the project's table) and where it comes from."""
        on = coding.on(k.PFS_RVU) or coding.last
        data = coding.data(k.PFS_RVU)
        file_cf = None
        if data is not None:
            for c in self.procedure_codes:
                row = data.get((c.code, ""))
                if row is not None and row.conversion_factor:
                    file_cf = row.conversion_factor
                    break
            if file_cf is None:
                file_cf = next((r.conversion_factor for r in _rows(data) if r.conversion_factor), None)
        try:
            cf = conversion_factor(on, file_cf=file_cf)
        except LookupError:
            return None, ""
        if file_cf:
            return cf, f"{data.ref.label} (CONV FACTOR column)"
        entry = conversion_factor_source(on)
        return cf, f"conversion_factors.csv: {entry.source} ({entry.certainty})" if entry else "conversion_factors.csv"

    # -- procedure codes -------------------------------------------------------------------------------------
    def describe(self, code: policy.ProfileCodeInfo) -> tuple[str, str, str]:
        """(system, description, where the text comes from) for a procedure code, as of the year."""
        system = "HCPCS" if code.code[:1].isalpha() else "CPT"
        if system == "CPT":
            row = self.cur.get(k.CPT, code.code)
            if row is not None and row.description:
                return system, row.description, TEXT_LICENSED
        else:
            row = self.cur.get(k.HCPCS, code.code)
            if row is not None and not row.is_modifier and row.long_description:
                return system, row.long_description, TEXT_CMS
        summary = self.cur.get(k.PROCEDURE_SUMMARIES, code.code)
        text = summary.summary if summary is not None else code.summary
        return (summary.code_system if summary is not None else system), _strip_marker(text), TEXT_SUMMARY

    def code_dates(self, code: str, coding: YearCoding) -> tuple[date | None, date | None]:
        """The code's own first and last valid days, from the sources that carry them (HCPCS, our summaries)."""
        hcpcs = coding.get(k.HCPCS, code)
        if hcpcs is not None and not hcpcs.is_modifier:
            return hcpcs.added, hcpcs.terminated
        summary = coding.get(k.PROCEDURE_SUMMARIES, code)
        if summary is not None:
            return summary.effective_from, summary.effective_to
        return None, None

    def procedures(self) -> tuple[ProcedureCode, ...]:
        out = []
        for code in self.procedure_codes:
            system, text, source = self.describe(code)
            notes = [_ROLE_TEXT.get(code.role, code.role)]
            start, end = self.code_dates(code.code, self.cur)
            if end is not None and end < self.cur.last:
                notes.append(f"last valid day {end.isoformat()}")
            elif start is not None and start > self.cur.first:
                notes.append(f"valid from {start.isoformat()}")
            rvu = self.cur.get(k.PFS_RVU, (code.code, ""))
            if rvu is not None:
                notes.append(f"PFS {self.year} status {rvu.status}, global {rvu.global_days or '-'}")
            elif self.cur.loaded(k.PFS_RVU):
                notes.append(f"not in the {self.year} PFS file")
            notes.append(for_year(code.notes, self.year))  # never another year's PFS figures
            out.append(ProcedureCode(code.code, system, text, source, _join(notes)))
        return tuple(out)

    def diagnoses(self) -> tuple[DiagnosisCode, ...]:
        out = []
        icd = self.cur.data(k.ICD10CM)
        for code in self.profile.of("icd10cm"):
            row = icd.get(code.code) if icd is not None else None
            notes = [_ROLE_TEXT.get(code.role, code.role), code.notes]
            if row is not None:
                out.append(DiagnosisCode(_dotted(code.code), row.description, row.billable, _join(notes)))
                continue
            if icd is not None:
                notes.insert(0, f"our summary: {icd.ref.label} does not list it")
                details = f"not a code in {icd.ref.label}"
            else:
                notes.insert(0, f"ICD-10-CM for {self.year} not loaded: our summary")
                details = ""
            out.append(DiagnosisCode(_dotted(code.code), code.summary, None, _join(notes), details))
        return tuple(out)

    def modifiers(self, coverage_versions: Iterable[policy.PayerRuleVersion]) -> tuple[ModifierCode, ...]:
        wanted = [(c.code, c.summary, [_ROLE_TEXT.get(c.role, c.role), c.notes]) for c in self.profile.of("modifier")]
        listed = {c for c, _, _ in wanted}
        for v in coverage_versions:
            for mod in v.required_modifiers:
                if mod not in listed:
                    listed.add(mod)
                    wanted.append((mod, "", [f"required by {v.name}"]))
        snap = self.cur.snapshot(k.MODIFIERS) or self.cur.snapshot(k.HCPCS)
        out = []
        for code, summary, notes in wanted:
            info = snap.modifier(code) if snap is not None else None
            description = info.description if info is not None else summary or "(not in the loaded modifier lists)"
            out.append(ModifierCode(code, description, _join(notes)))
        return tuple(out)

    def places(self) -> tuple[PlaceOfService, ...]:
        out = []
        for code in self.profile.of("pos"):
            row = self.cur.get(k.POS, code.code.zfill(2))
            name = row.name if row is not None else code.summary
            out.append(
                PlaceOfService(
                    code.code, name, uses_facility_rate(code.code), _join([_ROLE_TEXT.get(code.role), code.notes])
                )
            )
        return tuple(out)

    # -- payment ---------------------------------------------------------------------------------------------
    def payment_rows(self, coding: YearCoding, cf: Decimal | None) -> list[PaymentRow]:
        """One row per procedure code and PFS component row (26, TC) as of ``coding``'s year."""
        pfs = coding.data(k.PFS_RVU)
        opps, asc = coding.data(k.OPPS), coding.data(k.ASC)
        gpci = self.gpci(coding)
        out = []
        for code in self.procedure_codes:
            _, text, _ = self.describe(code)
            modifiers = [""]
            if pfs is not None:
                modifiers += [m for m in ("26", "TC") if pfs.get((code.code, m)) is not None]
            for modifier in modifiers:
                if modifier:
                    facility = FacilityRate("", "", None, COMPONENT_ROW)
                    opps_row, asc_row = facility, facility
                else:
                    opps_row = opps_rate(opps.get(code.code) if opps else None, source_loaded=opps is not None)
                    asc_row = asc_rate(asc.get(code.code) if asc else None, source_loaded=asc is not None)
                if pfs is None or cf is None:
                    why = f"no PFS RVU file loaded for {coding.year}" if pfs is None else "no conversion factor known"
                    local = NOT_LOADED if self.locality else None
                    row = PaymentRow(
                        code.code,
                        modifier,
                        _short(text),
                        "PFS not loaded",
                        NOT_LOADED,
                        NOT_LOADED,
                        local,
                        local,
                        opps_row.indicator,
                        opps_row.apc,
                        opps_row.display,
                        asc_row.indicator,
                        asc_row.display,
                        why,
                    )
                else:
                    row = PaymentRow.build(
                        code.code,
                        _short(text),
                        pfs.get((code.code, modifier)),
                        cf,
                        modifier=modifier,
                        gpci=gpci,
                        opps=opps_row,
                        asc=asc_row,
                    )
                    if self.locality and gpci is None:
                        gpci_data = coding.data(k.GPCI)
                        why = (
                            f"{gpci_data.ref.label} has no locality {self.locality.code}"
                            if gpci_data is not None
                            else f"no GPCI file loaded for {coding.year}"
                        )
                        row = replace(
                            row,
                            locality_nonfacility=NOT_LOADED,
                            locality_facility=NOT_LOADED,
                            notes=_join([row.notes, why]),
                        )
                out.append(row)
        return out

    # -- coverage ----------------------------------------------------------------------------------------------
    def coverage(self) -> tuple[list[CoverageRow], list[policy.PayerRuleVersion]]:
        codes = self.own_codes()
        rows, used = [], []
        for payer in self.rules.payers:
            for v in self.rules.in_year(payer.key, self.year, self.practice_id):
                if codes.intersection(v.codes):
                    rows.append(CoverageRow.from_rule(v, payer))
                    used.append(v)
        return rows, used

    # -- changes since the previous year ------------------------------------------------------------------------
    def changes(
        self,
        now: list[PaymentRow],
        before: list[PaymentRow],
        cf: tuple[Decimal | None, str],
        cf_before: tuple[Decimal | None, str],
    ) -> list[ChangeRow]:
        out: list[ChangeRow] = []
        year = self.year
        (cf, cf_source), (cf_before, cf_before_source) = cf, cf_before
        if cf is not None or cf_before is not None:
            entry = conversion_factor_source(self.cur.on(k.PFS_RVU) or self.cur.last)
            out.append(
                ChangeRow(
                    CHANGE_AMOUNT,
                    "Conversion factor",
                    "Medicare PFS conversion factor",
                    cf_before if cf_before is not None else NOT_LOADED,
                    cf if cf is not None else NOT_LOADED,
                    entry.start if entry and entry.start.year == year else date(year, 1, 1),
                    " / ".join(dict.fromkeys(x for x in (cf_before_source, cf_source) if x)),
                    decimals=4,
                )
            )
        out += self._code_changes()
        out += self._diagnosis_changes()
        out += self._amount_changes(now, before)
        out += self._rule_changes()
        return out

    def _code_changes(self) -> list[ChangeRow]:
        out = []
        year = self.year
        pfs_now, pfs_before = self.cur.data(k.PFS_RVU), self.prev.data(k.PFS_RVU)
        for code in self.procedure_codes:
            what, old, new, when, source = [], None, None, None, []
            start, end = self.code_dates(code.code, self.cur)
            if end is not None and date(year - 1, 12, 31) <= end < date(year, 12, 31):
                what.append(f"terminated: last valid day {end.isoformat()}")
                old, new, when = "valid", "terminated", end + timedelta(days=1)
            elif start is not None and date(year, 1, 1) <= start <= date(year, 12, 31):
                what.append(f"added: valid from {start.isoformat()}")
                old, new, when = "not valid", "valid", start
            if pfs_now is not None and pfs_before is not None:
                a, b = pfs_before.get((code.code, "")), pfs_now.get((code.code, ""))
                if a is not None and b is None:
                    what.append(f"not in the {year} PFS file (status {a.status} in {year - 1}): treat as deleted")
                    old, new = old or f"PFS status {a.status}", new or "not in the PFS file"
                elif a is None and b is not None:
                    what.append(f"new in the {year} PFS file (status {b.status})")
                    old, new = old or "not in the PFS file", new or f"PFS status {b.status}"
                elif a is not None and b is not None and a.status != b.status:
                    what.append(f"PFS status {a.status} -> {b.status}")
                    old, new = old or f"PFS status {a.status}", new or f"PFS status {b.status}"
                if a is not None or b is not None:
                    source.append(f"{pfs_before.ref.label} / {pfs_now.ref.label}")
            elif pfs_now is not None and pfs_now.get((code.code, "")) is None and not what:
                what.append(f"not in the {year} PFS file")
                source.append(pfs_now.ref.label)
            if what:
                summary = self.cur.data(k.PROCEDURE_SUMMARIES) or self.cur.data(k.HCPCS)
                if summary is not None and (start or end):
                    source.insert(0, summary.ref.label)
                out.append(
                    ChangeRow(CHANGE_CODE, code.code, "; ".join(what).capitalize(), old, new, when, _join(source))
                )
        return out

    def _diagnosis_changes(self) -> list[ChangeRow]:
        now, before = self.cur.data(k.ICD10CM), self.prev.data(k.ICD10CM)
        if now is None or before is None or now.ref.id == before.ref.id:
            return []
        out = []
        for code in self.profile.of("icd10cm"):
            a, b = before.get(code.code), now.get(code.code)
            if (a is None) == (b is None) and (a is None or a.billable == b.billable):
                continue
            state = lambda row: "not a code" if row is None else ("billable" if row.billable else "header")  # noqa: E731
            out.append(
                ChangeRow(
                    CHANGE_CODE,
                    _dotted(code.code),
                    f"ICD-10-CM: {state(a)} in {before.ref.label}, {state(b)} in {now.ref.label}",
                    state(a),
                    state(b),
                    now.ref.effective_from,
                    f"{before.ref.label} / {now.ref.label}",
                )
            )
        return out

    def _amount_changes(self, now: list[PaymentRow], before: list[PaymentRow]) -> list[ChangeRow]:
        if not self.prev.loaded(k.PFS_RVU) or not self.cur.loaded(k.PFS_RVU):
            missing = self.previous if not self.prev.loaded(k.PFS_RVU) else self.year
            return [
                ChangeRow(
                    NOT_COMPARED,
                    "Physician amounts",
                    f"No PFS RVU file covering {missing} is loaded: amounts are not compared",
                    source="Sources sheet",
                )
            ]
        old_rows = {(r.code, r.modifier): r for r in before}
        source = f"{self.prev.data(k.PFS_RVU).ref.label} / {self.cur.data(k.PFS_RVU).ref.label}"
        effective = date(self.year, 1, 1)
        fields = [("national_nonfacility", "non-facility, national"), ("national_facility", "facility, national")]
        if self.locality:
            code = self.locality.code
            fields += [("locality_nonfacility", f"non-facility, {code}"), ("locality_facility", f"facility, {code}")]
        fields += [("opps_rate", "OPPS national"), ("asc_rate", "ASC national")]
        out = []
        for row in now:
            old_row = old_rows.get((row.code, row.modifier))
            for name, label in fields:
                new = getattr(row, name)
                old = getattr(old_row, name) if old_row is not None else "not in the file"
                if not isinstance(old, Decimal) and not isinstance(new, Decimal):
                    continue  # text both years (carrier priced, NA, not loaded): nothing to compare
                subject = f"{row.code}{'-' + row.modifier if row.modifier else ''} {label}"
                what = "PFS amount" if not name.startswith(("opps", "asc")) else "National unadjusted rate"
                if old == new:
                    what += ": unchanged"
                out.append(ChangeRow(CHANGE_AMOUNT, subject, what, old, new, effective, source))
        return out

    def own_codes(self) -> set[str]:
        """The procedure's own codes (primary, alternative): a related code's rules belong to its own profile."""
        return {c.code for c in self.profile.of("procedure", "primary", "alternative")}

    def _rule_changes(self) -> list[ChangeRow]:
        out = []
        codes = self.own_codes()
        end_before = date(self.previous, 12, 31)
        for payer in self.rules.payers:
            before = {
                key: v
                for key, v in self.rules.on(payer.key, end_before, self.practice_id).items()
                if codes & set(v.codes)
            }
            during = [v for v in self.rules.in_year(payer.key, self.year, self.practice_id) if codes & set(v.codes)]
            series: dict[str, list[policy.PayerRuleVersion]] = {}
            for v in during:
                series.setdefault(v.key or v.name, []).append(v)
            for key in sorted(set(before) | set(series)):
                chain = [before.get(key)] + [v for v in series.get(key, []) if v is not before.get(key)]
                subject = f"{payer.name}: {(chain[-1] or chain[0]).reference or (chain[-1] or chain[0]).name}"
                for old, new in zip(chain, chain[1:]):
                    if old is not None and old.id == new.id:
                        continue
                    what = _rule_diff(old, new)
                    out.append(
                        ChangeRow(
                            CHANGE_RULE,
                            subject,
                            what,
                            _coverage_text(old) if old else "no rule",
                            _coverage_text(new),
                            new.effective_from,
                            f"{new.reference or new.name} [{new.certainty}]",
                        )
                    )
                last = chain[-1]
                if last is not None and last.effective_to and last.effective_to < date(self.year, 12, 31):
                    out.append(
                        ChangeRow(
                            CHANGE_RULE,
                            subject,
                            f"Version {last.version} ends on {last.effective_to.isoformat()}; no later version loaded",
                            _coverage_text(last),
                            "no rule",
                            last.effective_to + timedelta(days=1),
                            f"{last.reference or last.name} [{last.certainty}]",
                        )
                    )
        return out

    # -- sources ----------------------------------------------------------------------------------------------------
    def sources(self, rule_versions: Iterable[policy.PayerRuleVersion], cf_source: str) -> list[SourceRow]:
        out = []
        now = self.cur.used(self.kinds)
        for ref in now:
            out.append(SourceRow.from_release(ref, notes=self._release_notes(ref, f"as of {self.cur.on(ref.kind)}")))
        now_ids = {ref.id for ref in now}
        for ref in self.prev.used(self.kinds):
            if ref.id not in now_ids:
                note = f"{self.previous}, for the Changes sheet (as of {self.prev.on(ref.kind)})"
                out.append(SourceRow.from_release(ref, notes=self._release_notes(ref, note)))
        for kind in _REPORTED_KINDS:
            if kind == k.GPCI and not self.locality:
                continue
            if not self.cur.loaded(kind):
                why = {
                    k.CPT: "descriptions of CPT codes are our summaries",
                    k.ICD10CM: "diagnosis descriptions are our summaries, billable status not checked",
                }.get(kind, "amounts say 'not loaded'")
                out.append(SourceRow(KIND_LABELS[kind], "not loaded", None, notes=f"nothing covers {self.year}: {why}"))
        if cf_source.startswith("conversion_factors.csv"):
            out.append(
                SourceRow(
                    "Conversion factors",
                    "fixtures/codesets/conversion_factors.csv",
                    None,
                    sha256=_file_sha256(),
                    notes=cf_source,
                )
            )
        for v in rule_versions:
            out.append(
                SourceRow(
                    "Payer rule",
                    f"{v.name} v{v.version}" + (" (practice override)" if v.practice_override else ""),
                    v.effective_from,
                    v.effective_to,
                    notes=_join([v.reference, v.reference_url, f"certainty: {v.certainty}"]),
                )
            )
        return out

    def _release_notes(self, ref: k.ReleaseRef, note: str) -> str:
        release = self.release_models.get(ref.id)
        files = ", ".join(s.get("name", "") for s in (release.sources if release else []) if isinstance(s, dict))
        loaded = f"loaded {timezone.localtime(release.loaded_at):%Y-%m-%d}" if release and release.loaded_at else ""
        return _join([note, f"files: {files}" if files else "", loaded])

    # -- summary -------------------------------------------------------------------------------------------------
    def summary(self, coverage: list[CoverageRow], payments: list[PaymentRow], cf: Decimal | None) -> tuple[str, ...]:
        out = [f"{self.profile.name}. {self.profile.description}".strip()]
        if self.practice_name:
            out.append(f"Prepared for {self.practice_name}.")
        if coverage:
            parts = [f"{c.payer}: {c.coverage} ({', '.join(c.codes)})" for c in coverage]
            out.append(f"Coverage in {self.year}: " + "; ".join(parts) + ". See the Coverage sheet for each rule.")
        for code in self.profile.primary_codes:
            row = next((p for p in payments if p.code == code and not p.modifier), None)
            if row is None:
                continue
            if row.national_facility == CARRIER_PRICED:
                out.append(
                    f"{code} is carrier priced under the physician fee schedule ({row.status}): there is no national "
                    "amount; ask the Medicare contractor for its price."
                )
            elif isinstance(row.national_facility, Decimal):
                out.append(f"{code}: national facility amount ${row.national_facility:,.2f} (PFS, {self.year}).")
        missing = [KIND_LABELS[kind] for kind in (k.PFS_RVU, k.OPPS, k.ASC) if not self.cur.loaded(kind)]
        if self.locality and not self.cur.loaded(k.GPCI):
            missing.append(KIND_LABELS[k.GPCI])
        if missing:
            out.append(f"Not loaded for {self.year}: {', '.join(missing)}. Those amounts say 'not loaded'.")
        if cf is None:
            out.append(f"No conversion factor is known for {self.year}: physician amounts say 'not loaded'.")
        if self.cur.loaded(k.CPT):
            out.append("CPT descriptors: licensed AMA text. CPT is a registered trademark of the AMA.")
        else:
            out.append("Descriptions of CPT codes are our own summaries (no licensed CPT descriptor file is loaded).")
        return tuple(out)

    # -- all of it -------------------------------------------------------------------------------------------------
    def build(self) -> GuideData:
        cf, cf_source = cf_now = self.conversion_factor(self.cur)
        cf_before, _ = cf_then = self.conversion_factor(self.prev)
        payments = self.payment_rows(self.cur, cf)
        before = self.payment_rows(self.prev, cf_before)
        coverage, versions = self.coverage()
        claim_fields = claim_fields_from(self.profile.claim_fields)
        return GuideData(
            procedure=_procedure_title(self.profile),
            year=self.year,
            generated_at=timezone.localtime(),
            locality=self.locality,
            conversion_factor=cf,
            summary=self.summary(coverage, payments, cf),
            coverage=tuple(coverage),
            procedures=self.procedures(),
            diagnoses=self.diagnoses(),
            modifiers=self.modifiers(versions),
            places=self.places(),
            claim_fields=claim_fields,
            payments=tuple(payments),
            previous_year=self.previous,
            changes=tuple(self.changes(payments, before, cf_now, cf_then)),
            sources=tuple(self.sources(versions, cf_source)),
        )


# ---- small helpers ------------------------------------------------------------------------------------------


def _rows(data: ReleaseData):
    return getattr(data, "rows", {}).values()


def _procedure_title(profile: policy.ProcedureProfileInfo) -> str:
    """ "mild®" from "mild® (percutaneous image-guided lumbar decompression)": the name before a parenthesis."""
    return profile.name.split(" (")[0].strip() or profile.key


def _strip_marker(text: str) -> str:
    return re.sub(r"\s*\[our summary\]\s*$", "", text or "").strip()


def _short(text: str) -> str:
    """The whole description: the guide's cells wrap, a description never ends in "…" inside its cell."""
    return text


def _dotted(code: str) -> str:
    code = code.replace(".", "").upper()
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def _join(parts: Iterable[str | None]) -> str:
    seen = list(dict.fromkeys(p.strip() for p in parts if p and p.strip()))
    return "; ".join([p.rstrip(".") for p in seen[:-1]] + seen[-1:])


def _coverage_text(v: policy.PayerRuleVersion) -> str:
    text = {
        policy.COVERED: "covered",
        policy.COVERED_CED: "CED only",
        policy.NOT_COVERED: "not covered",
        policy.INVESTIGATIONAL: "investigational",
    }.get(v.coverage, v.coverage)
    return f"v{v.version}: {text}"


def _rule_diff(old: policy.PayerRuleVersion | None, new: policy.PayerRuleVersion) -> str:
    """What a new version changes, in words."""
    start = f"Version {new.version} from {new.effective_from.isoformat()}"
    if old is None:
        return f"{start}: {new.name} ({policy.COVERAGE_CHOICES.get(new.coverage, new.coverage)})"

    def listed(values) -> str:
        return ", ".join(values) or "none"

    def diagnoses(v: policy.PayerRuleVersion) -> str:
        return listed(f"{'/'.join(_dotted(c) for c in r.codes)} {r.position}" for r in v.required_diagnoses)

    checks = [
        ("coverage", lambda v: policy.COVERAGE_CHOICES.get(v.coverage, v.coverage)),
        ("modifiers", lambda v: listed(v.required_modifiers)),
        ("diagnoses", diagnoses),
        ("NCT number required", lambda v: "yes" if v.trial_number_required else "no"),
        ("approved studies", lambda v: listed(v.approved_trials)),
        ("prior authorisation", lambda v: "required" if v.prior_auth_required else "not required"),
        ("places of service", lambda v: listed(v.allowed_places_of_service) if v.allowed_places_of_service else "any"),
        ("certainty", lambda v: v.certainty),
    ]
    changed = [f"{name}: {get(old)} -> {get(new)}" for name, get in checks if get(old) != get(new)]
    return f"{start}: " + ("; ".join(changed) if changed else "same requirements, new version (see its notes)")


@cache
def _file_sha256() -> str:
    return hashlib.sha256(CONVERSION_FACTORS_FILE.read_bytes()).hexdigest()


def practice_locality(practice_id: int | None) -> str | None:
    """The practice's first location's locality (``10112-00``), the guide form's default."""
    if practice_id is None:
        return None
    from practice.models import Location

    location = Location.objects.filter(practice_id=practice_id).order_by("name").first()
    return location.locality_code if location else None


def guide_filename(procedure_key: str, year: int, locality: str | None) -> str:
    return f"{procedure_key}-billing-guide-{year}{'-' + locality if locality else ''}.xlsx"


__all__ = [
    "GuideError",
    "build_guide",
    "guide_filename",
    "parse_locality",
    "practice_locality",
    "procedure_keys",
]
