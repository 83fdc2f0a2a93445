"""Payer rules: effective-dated, audited versions of a payer's rule for a set of procedure codes, scoped by
practice, state or MAC."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from practice import policy
from practice.codecheck import check_rule_codes
from practice.models.payers import Payer
from practice.models.practices import CERTAINTY_CHOICES, SEVERITY_CHOICES, SEVERITY_ERROR, Practice
from practice.validators import (
    diagnosis_error,
    modifier_error,
    nct_error,
    normalise,
    normalise_nct,
    place_of_service_error,
    procedure_code_error,
)


def _state_error(value: str) -> str | None:
    import re

    return None if re.fullmatch(r"[A-Z]{2}", value) else f"{value}: a state is its two-letter code (TX)."


def _mac_error(value: str) -> str | None:
    import re

    return None if re.fullmatch(r"\d{5}", value) else f"{value}: a MAC contractor number is five digits (04412)."


class PayerRuleQuerySet(models.QuerySet):
    def in_force(self, on: date):
        return self.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on), effective_from__lte=on)

    def for_code(self, code: str):
        """Versions whose codes include ``code`` (exactly). A quoted match on the JSON text: portable to SQLite,
        which has no JSON containment lookup, and PostgreSQL alike."""
        return self.filter(codes__icontains=f'"{normalise(code)}"')

    def series_of(self, payer_id: int, key: str, practice_id: int | None):
        if practice_id is None:
            return self.filter(payer_id=payer_id, key=key, practice__isnull=True)
        return self.filter(payer_id=payer_id, key=key, practice_id=practice_id)


class PayerRule(models.Model):
    """One version of a payer's rule, in force from ``effective_from`` to ``effective_to`` (inclusive; empty: open).

    A *series* is every version with the same payer, practice (empty: the shipped, global rule) and ``key``.
    Versions of a series never overlap (``clean()`` and ``practice.services`` both refuse it). A practice's own
    series with the key of a global one overrides the global rule for that practice, date by date.

    The list parameters are JSONFields rather than small related tables: a version is read and written as a
    whole, the selectors turn it into one frozen ``PayerRuleVersion``, and django-simple-history then records
    every list in the same history row as the dates and the coverage -- one row is the complete old version.
    Related tables would escape that history. ``clean()`` checks their shape and every code in them.
    Stored forms: codes upper case without dots (diagnoses M48062, a trailing * for a prefix), NCT numbers as
    NCT + 8 digits; ``required_diagnoses`` is a list of ``{"codes": [...], "position": ..., "certainty": ...}``.
    """

    # What a claim must carry to meet the rule (the admin form shows them together).
    CLAIM_REQUIREMENT_FIELDS = (
        "required_modifiers",
        "required_diagnoses",
        "trial_number_required",
        "approved_trials",
        "prior_auth_required",
        "allowed_places_of_service",
        "place_of_service_severity",
    )
    RULE_FIELDS = (
        "payer",
        "practice",
        "key",
        "name",
        "version",
        "effective_from",
        "effective_to",
        "codes",
        "coverage",
        *CLAIM_REQUIREMENT_FIELDS,
        "not_covered_advice",
        "notes",
        "reference",
        "reference_url",
        "certainty",
        "states",
        "macs",
        "frequency_limit",
    )

    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="rules")
    practice = models.ForeignKey(
        Practice,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="rule_overrides",
        help_text="Empty: the shipped rule for every practice. Set: this practice's own rule (wins over the shipped).",
    )
    key = models.SlugField(max_length=80, help_text="Names the rule across its versions: ncd-150-13")
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day in force; empty: until further notice.")
    codes = models.JSONField(default=list, help_text="Procedure codes the rule applies to.")
    coverage = models.CharField(max_length=20, choices=list(policy.COVERAGE_CHOICES.items()))
    required_modifiers = models.JSONField(default=list, blank=True)
    required_diagnoses = models.JSONField(default=list, blank=True)
    trial_number_required = models.BooleanField("clinical-trial (NCT) number required", default=False)
    approved_trials = models.JSONField(default=list, blank=True, help_text="Approved studies: NCT + 8 digits.")
    prior_auth_required = models.BooleanField("prior authorisation required", default=False)
    allowed_places_of_service = models.JSONField(default=list, blank=True, help_text="Empty: any place of service.")
    place_of_service_severity = models.CharField(max_length=10, choices=SEVERITY_CHOICES, default=SEVERITY_ERROR)
    not_covered_advice = models.TextField(blank=True, help_text="What to do when not covered: ABN + GA, member waiver")
    notes = models.TextField(blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="Policy reference: Medicare NCD 150.13")
    reference_url = models.URLField(max_length=500, blank=True)
    certainty = models.CharField(max_length=10, choices=CERTAINTY_CHOICES, default="sure")
    states = models.JSONField(
        default=list, blank=True, help_text="Scope: only services done in these states (TX, AZ). Empty: any state."
    )
    macs = models.JSONField(
        "MAC contractors",
        default=list,
        blank=True,
        help_text="Scope: only in these Medicare contractors' jurisdictions (contractor numbers, e.g. 04412; an "
        "LCD's contractors). Empty: any.",
    )
    frequency_limit = models.JSONField(
        default=dict,
        blank=True,
        help_text='Sessions per window: {"sessions": 4, "window_days": 365, "groups": {"lumbar/sacral": [codes]}, '
        '"per_side": false}. Empty: no limit.',
    )
    code_check_notes = models.TextField(
        blank=True, editable=False, help_text="What could not be checked against the loaded code sets, and why."
    )
    history = HistoricalRecords(excluded_fields=["code_check_notes"])

    objects = PayerRuleQuerySet.as_manager()

    class Meta:
        ordering = ["payer__name", "practice_id", "key", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["payer", "key", "version"],
                condition=Q(practice__isnull=True),
                name="payer_rule_global_version_unique",
            ),
            models.UniqueConstraint(
                fields=["payer", "practice", "key", "version"],
                condition=Q(practice__isnull=False),
                name="payer_rule_practice_version_unique",
            ),
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True) | Q(effective_to__gte=models.F("effective_from")),
                name="payer_rule_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        own = f" [{self.practice}]" if self.practice_id else ""
        return f"{self.name} v{self.version}{own}"

    # -- series ------------------------------------------------------------------------------------------
    def series(self):
        """Every version of this rule (this one included once saved)."""
        return PayerRule.objects.series_of(self.payer_id, self.key, self.practice_id)

    def siblings(self):
        qs = self.series()
        return qs.exclude(pk=self.pk) if self.pk else qs

    @property
    def is_superseded(self) -> bool:
        """A later version of the same rule exists: this one is history and its rule fields are frozen."""
        if not self.pk:
            return False
        return self.siblings().filter(effective_from__gt=self.effective_from).exists()

    def covers(self, on: date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    @property
    def in_force_today(self) -> bool:
        return self.covers(timezone.localdate())

    # -- validation --------------------------------------------------------------------------------------
    def normalise_fields(self) -> dict[str, list[str]]:
        """Bring the list parameters to their stored form; return shape errors by field (nothing raised)."""
        errors: dict[str, list[str]] = {}

        def code_list(field: str, fix, check) -> None:
            value = getattr(self, field)
            if value in (None, ""):
                value = []
            if isinstance(value, str):
                value = [part for part in value.replace(";", ",").split(",") if part.strip()]
            if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
                errors.setdefault(field, []).append("Give a list of codes.")
                return
            fixed = list(dict.fromkeys(fix(v) for v in value if fix(v)))
            setattr(self, field, fixed)
            errors_here = [m for m in (check(v) for v in fixed) if m]
            if errors_here:
                errors.setdefault(field, []).extend(errors_here)

        code_list("codes", normalise, procedure_code_error)
        code_list("required_modifiers", normalise, modifier_error)
        code_list("approved_trials", normalise_nct, nct_error)
        code_list("allowed_places_of_service", normalise, place_of_service_error)
        code_list("states", normalise, _state_error)
        code_list("macs", lambda v: v.strip(), _mac_error)
        frequency_errors = self._normalise_frequency()
        if frequency_errors:
            errors.setdefault("frequency_limit", []).extend(frequency_errors)

        requirements = self.required_diagnoses or []
        fixed_requirements = []
        if not isinstance(requirements, list):
            errors.setdefault("required_diagnoses", []).append("Give a list of requirements.")
            requirements = []
        for i, item in enumerate(requirements, 1):
            if not isinstance(item, dict) or not isinstance(item.get("codes"), list) or not item["codes"]:
                errors.setdefault("required_diagnoses", []).append(
                    f"Requirement {i}: give the codes (any one of them will do) and a position."
                )
                continue
            codes = list(dict.fromkeys(normalise(c) for c in item["codes"] if isinstance(c, str) and normalise(c)))
            position = item.get("position") or policy.POSITION_ANY
            certainty = item.get("certainty") or "sure"
            unknown_keys = set(item) - {"codes", "position", "certainty"}
            if unknown_keys:
                errors.setdefault("required_diagnoses", []).append(
                    f"Requirement {i}: unknown entries {', '.join(sorted(unknown_keys))}."
                )
            if position not in policy.POSITIONS:
                errors.setdefault("required_diagnoses", []).append(
                    f"Requirement {i}: position must be one of {', '.join(policy.POSITIONS)}."
                )
            if certainty not in policy.CERTAINTY:
                errors.setdefault("required_diagnoses", []).append(
                    f"Requirement {i}: certainty must be one of {', '.join(policy.CERTAINTY)}."
                )
            errors_here = [m for m in (diagnosis_error(c) for c in codes) if m]
            if errors_here:
                errors.setdefault("required_diagnoses", []).extend(errors_here)
            fixed_requirements.append({"codes": codes, "position": position, "certainty": certainty})
        if "required_diagnoses" not in errors:
            self.required_diagnoses = fixed_requirements
        return errors

    def _normalise_frequency(self) -> list[str]:
        from config.unstorable import NUL_OR_SURROGATE, bad_text

        value = self.frequency_limit or {}
        if not value:
            self.frequency_limit = {}
            return []
        if bad_text(value) is not None:
            return [NUL_OR_SURROGATE]
        if not isinstance(value, dict):
            return ["Give an object with sessions, window_days and groups."]
        problems = []
        unknown = set(value) - {"sessions", "window_days", "groups", "per_side"}
        if unknown:
            problems.append(f"Unknown entries {', '.join(sorted(unknown))}.")
        sessions, window = value.get("sessions"), value.get("window_days")
        if isinstance(sessions, bool) or not isinstance(sessions, int) or not 1 <= sessions <= 365:
            problems.append("sessions: a whole number from 1 to 365.")
        if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 3660:
            problems.append("window_days: a whole number of days from 1 to 3660.")
        groups = value.get("groups")
        fixed_groups = {}
        if not isinstance(groups, dict) or not groups:
            problems.append('groups: name each group of codes counted together, e.g. {"lumbar/sacral": [...]}.')
        else:
            for name, codes in groups.items():
                if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes) or not codes:
                    problems.append(f"groups[{name}]: a list of procedure codes.")
                    continue
                fixed = [normalise(c) for c in codes]
                outside = [c for c in fixed if c not in (self.codes or [])]
                if outside:
                    problems.append(f"groups[{name}]: {', '.join(outside)} not among the rule's codes.")
                fixed_groups[str(name)] = fixed
        if not isinstance(value.get("per_side", False), bool):
            problems.append("per_side: true or false.")
        if not problems:
            self.frequency_limit = {
                "sessions": sessions,
                "window_days": window,
                "groups": fixed_groups,
                "per_side": bool(value.get("per_side", False)),
            }
        return problems

    def overlapping(self):
        """Other versions of this rule whose dates overlap this one's."""
        if not (self.payer_id and self.key and self.effective_from):
            return PayerRule.objects.none()
        qs = self.siblings().filter(Q(effective_to__isnull=True) | Q(effective_to__gte=self.effective_from))
        if self.effective_to:
            qs = qs.filter(effective_from__lte=self.effective_to)
        return qs

    def clean(self):
        errors = self.normalise_fields()
        if not self.codes and "codes" not in errors:
            errors["codes"] = ["Name at least one procedure code the rule applies to."]
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            errors.setdefault("effective_to", []).append("The last day in force is before the first.")
        elif self.effective_from:
            clash = self.overlapping().order_by("effective_from").first()
            if clash:
                span = f"{clash.effective_from} to {clash.effective_to or 'open'}"
                errors.setdefault("effective_from", []).append(
                    f"Overlaps version {clash.version} of this rule ({span}). Versions of a rule may not overlap: "
                    "use “New version from date” to start a new version."
                )
        if self.effective_from and not errors.get("codes") and "required_diagnoses" not in errors:
            result = check_rule_codes(self)
            for field, messages in result.errors.items():
                errors.setdefault(field, []).extend(messages)
            self.code_check_notes = "\n".join(result.notes)
        if errors:
            raise ValidationError(errors)

    # -- plain data --------------------------------------------------------------------------------------
    def as_version(self, payer_key: str | None = None) -> policy.PayerRuleVersion:
        return policy.PayerRuleVersion(
            id=self.pk,
            name=self.name,
            payer_key=payer_key or self.payer.key,
            codes=tuple(self.codes),
            effective_from=self.effective_from,
            effective_to=self.effective_to,
            version=self.version,
            coverage=self.coverage,
            required_modifiers=tuple(self.required_modifiers),
            required_diagnoses=tuple(
                policy.DiagnosisRequirement(
                    codes=tuple(r["codes"]),
                    position=r.get("position", policy.POSITION_ANY),
                    certainty=r.get("certainty", "sure"),
                )
                for r in self.required_diagnoses
            ),
            trial_number_required=self.trial_number_required,
            approved_trials=tuple(self.approved_trials),
            prior_auth_required=self.prior_auth_required,
            allowed_places_of_service=tuple(self.allowed_places_of_service),
            place_of_service_severity=self.place_of_service_severity,
            not_covered_advice=self.not_covered_advice,
            notes=self.notes,
            reference=self.reference,
            reference_url=self.reference_url,
            certainty=self.certainty,
            practice_override=self.practice_id is not None,
            key=self.key,
            practice_id=self.practice_id,
            states=tuple(self.states or ()),
            macs=tuple(self.macs or ()),
            frequency=policy.FrequencyLimit.from_json(self.frequency_limit),
        )
