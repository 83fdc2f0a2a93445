"""Payers and payer rules as plain data, for the claim checker and the billing guide (no ORM here).

``practice.models`` stores them (effective-dated, with history); ``practice.selectors`` turns the
versions in force on a date into these objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

MEDICARE_FFS = "medicare"
MEDICARE_ADVANTAGE = "medicare_advantage"
MEDICAID = "medicaid"
COMMERCIAL = "commercial"
PAYER_TYPES = {
    MEDICARE_FFS: "Medicare fee-for-service",
    MEDICARE_ADVANTAGE: "Medicare Advantage",
    MEDICAID: "Medicaid",
    COMMERCIAL: "Commercial",
}

COVERED = "covered"
COVERED_CED = "ced"
NOT_COVERED = "not_covered"
INVESTIGATIONAL = "investigational"
COVERAGE_CHOICES = {
    COVERED: "Covered",
    COVERED_CED: "Covered only under Coverage with Evidence Development (CED)",
    NOT_COVERED: "Not covered",
    INVESTIGATIONAL: "Investigational / experimental (not covered)",
}

POSITION_PRIMARY = "primary"
POSITION_SECONDARY = "secondary"  # anywhere but first
POSITION_ANY = "any"  # anywhere on the claim
POSITION_LINE = "line"  # pointed to by the line
POSITIONS = {
    POSITION_PRIMARY: "Primary (first) diagnosis",
    POSITION_SECONDARY: "A secondary diagnosis (not first)",
    POSITION_ANY: "Anywhere on the claim",
    POSITION_LINE: "Pointed to by the service line",
}

CERTAINTY = {"sure": "Sure (primary source)", "likely": "Likely (secondary source)", "unverified": "Unverified"}


@dataclass(frozen=True, slots=True)
class PayerInfo:
    key: str
    name: str
    payer_type: str
    filing_limit_days: int | None  # None: no limit known
    medicare_contractor: str = ""
    filing_limit_note: str = field(default="", compare=False)  # where the limit comes from, and how sure


@dataclass(frozen=True, slots=True)
class DiagnosisRequirement:
    """Any one of ``codes`` (no dots; a code ending in '*' is a prefix) in ``position``."""

    codes: tuple[str, ...]
    position: str = POSITION_ANY
    certainty: str = "sure"  # of this requirement alone (e.g. M48.062 as primary: likely)


SIDE_MODIFIERS = {"LT": ("left",), "RT": ("right",), "50": ("left", "right")}


@dataclass(frozen=True, slots=True)
class FrequencyLimit:
    """At most ``sessions`` sessions (distinct dates of service) in ``window_days`` days, counted per group of
    codes (e.g. spinal region: cervical/thoracic, lumbar/sacral) and, with ``per_side``, per side (LT / RT; 50
    counts for both sides)."""

    sessions: int
    window_days: int
    groups: tuple[tuple[str, tuple[str, ...]], ...]  # (group name, codes)
    per_side: bool = False

    def group_of(self, code: str) -> str | None:
        for name, codes in self.groups:
            if code in codes:
                return name
        return None

    @staticmethod
    def sides(modifiers) -> tuple[str, ...]:
        """The sides a line's modifiers name; none named: ("unspecified",)."""
        sides = {side for m in modifiers for side in SIDE_MODIFIERS.get(m, ())}
        return tuple(sorted(sides)) or ("unspecified",)

    @classmethod
    def from_json(cls, data: dict | None) -> FrequencyLimit | None:
        if not data:
            return None
        return cls(
            sessions=int(data["sessions"]),
            window_days=int(data["window_days"]),
            groups=tuple(sorted((name, tuple(codes)) for name, codes in data["groups"].items())),  # jsonb reorders keys
            per_side=bool(data.get("per_side")),
        )


@dataclass(frozen=True, slots=True)
class LocationInfo:
    """Where a service was done: the practice location's key, state and Medicare jurisdiction."""

    key: str
    name: str
    state: str
    mac: str  # contractor (carrier) number: 04412
    locality: str
    place_of_service: str = ""
    zip_code: str = ""


@dataclass(frozen=True, slots=True)
class PayerRuleVersion:
    """One version of a payer's rule for a set of procedure codes, in force from/to (inclusive)."""

    id: int | None
    name: str
    payer_key: str
    codes: tuple[str, ...]
    effective_from: date
    effective_to: date | None
    version: int
    coverage: str
    required_modifiers: tuple[str, ...] = ()
    required_diagnoses: tuple[DiagnosisRequirement, ...] = ()
    trial_number_required: bool = False
    approved_trials: tuple[str, ...] = ()
    prior_auth_required: bool = False
    allowed_places_of_service: tuple[str, ...] = ()  # empty: any
    place_of_service_severity: str = "error"  # or "warning" (e.g. an unverified limit)
    not_covered_advice: str = ""  # what to do when not covered (waiver, GA modifier, member waiver)
    notes: str = ""
    reference: str = ""  # e.g. "Medicare NCD 150.13"
    reference_url: str = ""
    certainty: str = "sure"
    practice_override: bool = False
    key: str = ""  # the rule's series key (one key across its versions): ncd-150-13
    practice_id: int | None = None  # set on a practice's own override
    states: tuple[str, ...] = ()  # scope: the rule applies only to services done in these states (empty: any)
    macs: tuple[str, ...] = ()  # scope: only in these MAC contractor numbers' jurisdictions (empty: any)
    frequency: FrequencyLimit | None = None

    @property
    def scoped(self) -> bool:
        return bool(self.states or self.macs)

    def applies_at(self, location: LocationInfo | None) -> bool:
        """Whether the rule's scope (states, MAC jurisdictions) includes the location. An unscoped rule applies
        everywhere; a scoped one never applies where the location is unknown."""
        if not self.scoped:
            return True
        if location is None:
            return False
        if self.states and location.state.upper() not in self.states:
            return False
        return not (self.macs and location.mac not in self.macs)

    def scope_text(self) -> str:
        parts = []
        if self.states:
            parts.append("states " + ", ".join(self.states))
        if self.macs:
            parts.append("MAC contractors " + ", ".join(self.macs))
        return "; ".join(parts)

    def applies_to(self, code: str) -> bool:
        return code in self.codes

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def describe(self) -> str:
        """How a finding names this rule: which rule, which version, from when, on what source."""
        span = f"in force from {self.effective_from.isoformat()}"
        if self.effective_to:
            span += f" to {self.effective_to.isoformat()}"
        own = ", practice override" if self.practice_override else ""
        if self.scoped:
            own += f", only in {self.scope_text()}"
        source = f"; source: {self.reference}" if self.reference else ""
        return f"{self.name} v{self.version} ({span}{own}){source} [{self.certainty}]"


@dataclass(frozen=True, slots=True)
class ProfileCodeInfo:
    """A code of a procedure profile. ``system``: procedure, icd10cm, modifier or pos (as ``codes.selectors.lookup``);
    ``role``: primary / alternative / related (procedure codes), usual / avoid (the others)."""

    system: str
    code: str  # stored form: no dots
    role: str
    summary: str = ""
    notes: str = ""
    certainty: str = "sure"
    source: str = ""


@dataclass(frozen=True, slots=True)
class ProcedureProfileInfo:
    key: str
    name: str
    description: str
    codes: tuple[ProfileCodeInfo, ...]
    notes: str = ""
    # Where the items its claims need go on the 837P and the CMS-1500 (billing.guide.data.ClaimField fields)
    claim_fields: tuple[dict, ...] = ()

    def of(self, system: str, *roles: str) -> tuple[ProfileCodeInfo, ...]:
        return tuple(c for c in self.codes if c.system == system and (not roles or c.role in roles))

    @property
    def procedure_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.of("procedure"))

    @property
    def primary_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.of("procedure", "primary"))
