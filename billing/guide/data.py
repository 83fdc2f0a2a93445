"""The billing guide's data: plain frozen dataclasses, filled by ``billing.guide.build`` from the database (or by a
test from plain rows) and written by ``billing.guide.workbook``.

Amount cells hold a ``Decimal`` or a short text saying why there is no amount ("carrier priced", "not loaded"):
never a false $0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from billing.checking.rules.payer import ENROLMENT_DIAGNOSES
from billing.guide.fees import PFS_STATUS, FacilityRate, GpciInput, PfsAmount, RvuLike, pfs_amounts
from codes.formats.icd10 import icd10cm_display
from codes.snapshot import KIND_LABELS, ReleaseRef
from practice.policy import (
    COVERAGE_CHOICES,
    PAYER_TYPES,
    POSITION_ANY,
    POSITION_LINE,
    POSITION_PRIMARY,
    POSITION_SECONDARY,
    PayerInfo,
    PayerRuleVersion,
)

Amount = Decimal | str
"""An amount in dollars, or the text shown instead ("carrier priced", "NA in this setting", "not loaded")."""

DEFAULT_DISCLAIMER = (
    "This guide is general information for the practice's billing office, compiled from the CMS files and payer "
    "policies loaded in the product on the date shown. It is not legal, coding or reimbursement advice and does not "
    "promise coverage or payment. Payer policies change: confirm coverage, coding and payment with each payer before "
    "the service, and code from the medical record. Medicare amounts are unadjusted fee schedule rates before "
    "deductible, coinsurance, sequestration and multiple-procedure, bilateral or other adjustments. CPT codes and "
    "descriptors are copyright the American Medical Association; descriptions marked 'our summary' are the "
    "product's own words, not CPT text."
)

# Where a procedure description comes from (CPT text is licensed; HCPCS Level II text is CMS's, public).
TEXT_SUMMARY = "our summary"
TEXT_LICENSED = "licensed CPT text"
TEXT_CMS = "CMS HCPCS text"

# Kinds of change on the Changes sheet.
CHANGE_CODE = "Code"
CHANGE_RULE = "Payer rule"
CHANGE_AMOUNT = "Amount"


@dataclass(frozen=True, slots=True)
class Locality:
    """A Medicare payment locality: ``code`` is MAC-locality ("10112-00"), ``name`` as CMS spells it."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One payer's position on the procedure, with what a claim needs."""

    payer: str
    payer_type: str  # "Medicare fee-for-service", "Commercial"…
    coverage: str  # "Covered only under Coverage with Evidence Development (CED)"…
    modifiers: tuple[str, ...] = ()
    diagnoses: tuple[str, ...] = ()  # as shown: "M48.062 (primary)"
    trial: str = ""  # "NCT number required: NCT03072927"; "" when none is needed
    prior_auth: str = ""  # "required", "not required"; "" when not known
    places_of_service: tuple[str, ...] = ()  # empty: no limit known
    effective_from: date | None = None
    effective_to: date | None = None
    reference: str = ""
    reference_url: str = ""
    certainty: str = "sure"  # sure / likely / unverified (practice.policy.CERTAINTY)
    notes: str = ""
    codes: tuple[str, ...] = ()  # the procedure codes the position is about; shown under the coverage

    @classmethod
    def from_rule(cls, rule: PayerRuleVersion, payer: PayerInfo) -> CoverageRow:
        """A coverage row from a payer rule version in force and its payer."""
        diagnoses = []
        for requirement in rule.required_diagnoses:
            codes = " or ".join(diagnosis_display(c) for c in requirement.codes)
            where = _POSITION_SHORT.get(requirement.position, requirement.position)
            diagnoses.append(f"{codes} ({where})")
        trial = ""
        if rule.trial_number_required:
            trial = "NCT number required"
            if rule.approved_trials:
                trial += ": " + ", ".join(rule.approved_trials)
        notes = [rule.notes, rule.not_covered_advice]
        if rule.scoped:
            notes.insert(0, f"Applies only to services done in {rule.scope_text()}")
        if rule.frequency is not None:
            limit = rule.frequency
            per = ", per side" if limit.per_side else ""
            groups = " / ".join(name for name, _ in limit.groups)
            notes.insert(0, f"At most {limit.sessions} sessions per {limit.window_days} days per {groups}{per}")
        if any(
            r.position == POSITION_SECONDARY and any(c.replace(".", "").upper() in ENROLMENT_DIAGNOSES for c in r.codes)
            for r in rule.required_diagnoses
        ):  # as PAYER_REQUIRES_DIAGNOSIS says it
            notes.append("Z00.6 first: CMS accepts it primary or secondary, the checker warns (not an error)")
        if rule.allowed_places_of_service and rule.place_of_service_severity == "warning":
            notes.append("place-of-service limit not confirmed: checked as a warning")
        return cls(
            payer=payer.name,
            payer_type=PAYER_TYPES.get(payer.payer_type, payer.payer_type),
            coverage=COVERAGE_CHOICES.get(rule.coverage, rule.coverage),
            modifiers=rule.required_modifiers,
            diagnoses=tuple(diagnoses),
            trial=trial,
            prior_auth="required" if rule.prior_auth_required else "not required",
            places_of_service=rule.allowed_places_of_service,
            effective_from=rule.effective_from,
            effective_to=rule.effective_to,
            reference=rule.reference,
            reference_url=rule.reference_url,
            certainty=rule.certainty,
            notes=join_notes(notes),
            codes=rule.codes,
        )


@dataclass(frozen=True, slots=True)
class ProcedureCode:
    code: str
    system: str  # "CPT" or "HCPCS"
    description: str
    text_source: str  # TEXT_SUMMARY, TEXT_LICENSED or TEXT_CMS
    notes: str = ""


@dataclass(frozen=True, slots=True)
class DiagnosisCode:
    code: str  # shown with the dot: "M48.062"
    description: str
    billable: bool | None  # None: not known (no ICD-10-CM release loaded for the year, or it does not list the code)
    notes: str = ""
    details: str = ""  # what the Details column says instead of billable / not billable, when set


@dataclass(frozen=True, slots=True)
class ModifierCode:
    code: str
    description: str
    notes: str = ""


@dataclass(frozen=True, slots=True)
class PlaceOfService:
    code: str
    name: str
    facility_rate: bool  # the PFS facility rate applies
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ClaimField:
    """Where one claim item goes on the electronic (837P) and paper (CMS-1500) professional claim."""

    item: str
    x12_837p: str
    cms_1500: str
    example: str
    applies_to: str
    certainty: str = "sure"
    source: str = ""
    notes: str = ""


@dataclass(frozen=True, slots=True)
class PaymentRow:
    """Payment for one code (and PFS modifier row: "", "26", "TC") by site of service.

    The locality amounts are shown only when the guide has a locality; set them (for every row) then.
    """

    code: str
    modifier: str
    description: str
    status: str  # "R: restricted coverage"
    national_nonfacility: Amount
    national_facility: Amount
    locality_nonfacility: Amount | None = None
    locality_facility: Amount | None = None
    opps_indicator: str = ""
    opps_apc: str = ""
    opps_rate: Amount = "not loaded"
    asc_indicator: str = ""
    asc_rate: Amount = "not loaded"
    notes: str = ""

    @classmethod
    def build(
        cls,
        code: str,
        description: str,
        rvu: RvuLike | None,
        cf: Decimal,
        *,
        modifier: str = "",
        gpci: GpciInput = None,
        opps: FacilityRate | None = None,
        asc: FacilityRate | None = None,
        notes: str = "",
    ) -> PaymentRow:
        """A row priced with ``billing.guide.fees``: national always, the locality when ``gpci`` is given."""
        national_nf, national_f = pfs_amounts(rvu, None, cf)
        local: tuple[PfsAmount, PfsAmount] | tuple[None, None] = (
            pfs_amounts(rvu, gpci, cf) if gpci is not None else (None, None)
        )
        status = ""
        if rvu is not None:
            status = f"{rvu.status}: {PFS_STATUS.get(rvu.status, 'unknown status')}"
        extra = [n for n in (national_nf.note, national_f.note) if n and not n.startswith("status ")]
        return cls(
            code=code,
            modifier=modifier,
            description=description,
            status=status or national_f.status,
            national_nonfacility=national_nf.display,
            national_facility=national_f.display,
            locality_nonfacility=local[0].display if local[0] is not None else None,
            locality_facility=local[1].display if local[1] is not None else None,
            opps_indicator=opps.indicator if opps else "",
            opps_apc=opps.apc if opps else "",
            opps_rate=opps.display if opps else "not loaded",
            asc_indicator=asc.indicator if asc else "",
            asc_rate=asc.display if asc else "not loaded",
            notes=join_notes([*extra, notes]),
        )


@dataclass(frozen=True, slots=True)
class ChangeRow:
    """A change since the previous year: a code, a payer rule or an amount (old and new)."""

    kind: str  # CHANGE_CODE, CHANGE_RULE or CHANGE_AMOUNT
    subject: str  # "0275T", "Medicare NCD 150.13", "G0276 facility, national"
    description: str
    old: Amount | None = None
    new: Amount | None = None
    effective: date | None = None
    source: str = ""
    decimals: int = 2  # 4 for a conversion factor


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A release the guide was built from."""

    kind: str
    label: str
    effective_from: date | None
    effective_to: date | None = None
    published: date | None = None
    sha256: str = ""
    notes: str = ""

    @classmethod
    def from_release(cls, ref: ReleaseRef, *, published: date | None = None, notes: str = "") -> SourceRow:
        return cls(
            KIND_LABELS.get(ref.kind, ref.kind),
            ref.label,
            ref.effective_from,
            ref.effective_to,
            published,
            ref.sha256,
            notes,
        )


@dataclass(frozen=True)
class GuideData:
    """Everything the guide shows. ``locality`` None: national amounts only."""

    procedure: str
    year: int
    generated_at: datetime
    locality: Locality | None = None
    disclaimer: str = DEFAULT_DISCLAIMER
    conversion_factor: Decimal | None = None
    summary: tuple[str, ...] = ()
    coverage: tuple[CoverageRow, ...] = ()
    procedures: tuple[ProcedureCode, ...] = ()
    diagnoses: tuple[DiagnosisCode, ...] = ()
    modifiers: tuple[ModifierCode, ...] = ()
    places: tuple[PlaceOfService, ...] = ()
    claim_fields: tuple[ClaimField, ...] = ()  # the procedure profile's own (fixtures/practice)
    payments: tuple[PaymentRow, ...] = ()
    previous_year: int | None = None
    changes: tuple[ChangeRow, ...] = ()
    sources: tuple[SourceRow, ...] = ()


def claim_fields_from(items) -> tuple[ClaimField, ...]:
    """The claim items of a procedure profile (its fixture's ``claim_fields``: dicts of ClaimField's fields)."""
    names = {f.name for f in fields(ClaimField)}
    return tuple(ClaimField(**{k: v for k, v in item.items() if k in names}) for item in items or ())


_POSITION_SHORT = {
    POSITION_PRIMARY: "primary",
    POSITION_SECONDARY: "secondary",
    POSITION_ANY: "any position",
    POSITION_LINE: "pointed to by the line",
}


def join_notes(notes: Iterable[str | None]) -> str:
    """Notes joined with '; ', empty and repeated ones dropped, without a full stop before a semicolon."""
    parts = list(dict.fromkeys(n.strip() for n in notes if n and n.strip()))
    return "; ".join([p.rstrip(".") for p in parts[:-1]] + parts[-1:])


def diagnosis_display(code: str) -> str:
    """A diagnosis of a rule or a profile as people write it (``M48.062``); a prefix (``M48*``) as it is."""
    code = code.replace(".", "").strip().upper()
    return code if code.endswith("*") else icd10cm_display(code)
