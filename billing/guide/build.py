"""The billing guide's data from the database: ``build_guide(procedure, year, locality, practice_id) -> GuideData``.

What it reads (a fixed number of queries, none per code):
- the procedure profile (its procedure codes, usual and avoided diagnoses, modifiers, places of service);
- the coding *as of the year*: for each kind, the release in force on the latest day of the year that a loaded
  release of that kind covers (the PFS October file rather than the January one; an ICD-10-CM release ending
  on 30 September). Each release's rows are read once per process (``codes.selectors``); a kind with no release
  covering any day of the year is "not loaded", never an amount of $0;
- the payer rules in force at any time in the year, with the practice's own overrides in preference
  (``practice.selectors.RuleBook`` through ``billing.guide.year.YearRules``);
- the PFS RVUs, the GPCI of the locality (``10112-00``: contractor 10112, locality 00) and the conversion factor
  (the RVU file's own, else ``fixtures/codesets/conversion_factors.csv``), OPPS Addendum B and ASC Addendum AA
  rows when loaded;
- the previous year's figures for the Changes sheet (``billing.guide.changes``): codes added or terminated, rule
  versions that changed, amounts old and new;
- every release used (dates and sha256) for the Sources sheet.

CPT descriptors are the AMA's: the licensed text is shown when a ``cpt`` release is loaded, else our summary,
marked as such. HCPCS Level II text is CMS's and public.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import replace
from decimal import Decimal
from functools import cache

from django.utils import timezone

from billing.guide.changes import YearChanges, own_codes
from billing.guide.data import (
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
    join_notes,
)
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
from billing.guide.year import YearCoding, YearRules
from codes import snapshot as k
from codes.formats.icd10 import icd10cm_display
from codes.selectors import SnapshotFactory, loaded_releases
from codes.snapshot import KIND_LABELS, ReleaseData
from practice import policy
from practice.models import Practice, ProcedureProfile, ProfileCode
from practice.selectors import procedure_profile

COMPONENT_ROW = "n/a (26/TC row)"  # OPPS and ASC pay the code, not a PFS component row
_LOCALITY = re.compile(r"^\s*(\d{5})-(\d{2})\s*$")
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
        self.rules = YearRules.load(practice_id)
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

    def procedures(self) -> tuple[ProcedureCode, ...]:
        out = []
        for code in self.procedure_codes:
            system, text, source = self.describe(code)
            notes = [_ROLE_TEXT.get(code.role, code.role)]
            start, end = self.cur.code_dates(code.code)
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
            out.append(ProcedureCode(code.code, system, text, source, join_notes(notes)))
        return tuple(out)

    def diagnoses(self) -> tuple[DiagnosisCode, ...]:
        out = []
        icd = self.cur.data(k.ICD10CM)
        for code in self.profile.of("icd10cm"):
            row = icd.get(code.code) if icd is not None else None
            notes = [_ROLE_TEXT.get(code.role, code.role), code.notes]
            if row is not None:
                out.append(DiagnosisCode(icd10cm_display(code.code), row.description, row.billable, join_notes(notes)))
                continue
            if icd is not None:
                notes.insert(0, f"our summary: {icd.ref.label} does not list it")
                details = f"not a code in {icd.ref.label}"
            else:
                notes.insert(0, f"ICD-10-CM for {self.year} not loaded: our summary")
                details = ""
            out.append(DiagnosisCode(icd10cm_display(code.code), code.summary, None, join_notes(notes), details))
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
            out.append(ModifierCode(code, description, join_notes(notes)))
        return tuple(out)

    def places(self) -> tuple[PlaceOfService, ...]:
        out = []
        for code in self.profile.of("pos"):
            row = self.cur.get(k.POS, code.code.zfill(2))
            name = row.name if row is not None else code.summary
            out.append(
                PlaceOfService(
                    code.code, name, uses_facility_rate(code.code), join_notes([_ROLE_TEXT.get(code.role), code.notes])
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
                        text,
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
                        text,
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
                            notes=join_notes([row.notes, why]),
                        )
                out.append(row)
        return out

    # -- coverage ----------------------------------------------------------------------------------------------
    def coverage(self) -> tuple[list[CoverageRow], list[policy.PayerRuleVersion]]:
        codes = own_codes(self.profile)
        rows, used = [], []
        for payer in self.rules.payers:
            for v in self.rules.in_year(payer.key, self.year, self.practice_id):
                if codes.intersection(v.codes):
                    rows.append(CoverageRow.from_rule(v, payer))
                    used.append(v)
        return rows, used

    def changes(
        self,
        now: list[PaymentRow],
        before: list[PaymentRow],
        cf_now: tuple[Decimal | None, str],
        cf_then: tuple[Decimal | None, str],
    ) -> list[ChangeRow]:
        return YearChanges(
            self.cur, self.prev, self.profile, self.procedure_codes, self.rules, self.practice_id, self.locality
        ).rows(now, before, cf_now, cf_then)

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
                    notes=join_notes([v.reference, v.reference_url, f"certainty: {v.certainty}"]),
                )
            )
        return out

    def _release_notes(self, ref: k.ReleaseRef, note: str) -> str:
        release = self.release_models.get(ref.id)
        files = ", ".join(s.get("name", "") for s in (release.sources if release else []) if isinstance(s, dict))
        loaded = f"loaded {timezone.localtime(release.loaded_at):%Y-%m-%d}" if release and release.loaded_at else ""
        return join_notes([note, f"files: {files}" if files else "", loaded])

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


@cache
def _file_sha256() -> str:
    return hashlib.sha256(CONVERSION_FACTORS_FILE.read_bytes()).hexdigest()


__all__ = ["GuideError", "build_guide", "parse_locality", "procedure_keys"]
