"""Procedure profiles: a procedure's codes, claim items and notes (the mild® profile ships as a fixture)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from practice import policy
from practice.models.practices import CERTAINTY_CHOICES
from practice.validators import (
    diagnosis_error,
    dotted,
    modifier_error,
    normalise,
    place_of_service_error,
    procedure_code_error,
)


class ProcedureProfile(models.Model):
    """A named procedure (mild®) with the codes that go with it: the billing guide and change notices use it."""

    key = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    claim_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Where the items its claims need go: item, x12_837p, cms_1500, example, applies_to, certainty, "
        "source, notes (the billing guide's Claim fields sheet).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def codes_of(self, system: str):
        return self.codes.filter(system=system)

    CLAIM_FIELD_KEYS = ("item", "x12_837p", "cms_1500", "example", "applies_to", "certainty", "source", "notes")

    def clean(self):
        """``claim_fields``: a list of objects with text values under the guide's keys, ``item`` required; text
        that cannot be stored (NUL, lone surrogates) is refused on the field."""
        from config.unstorable import NUL_OR_SURROGATE, bad_text

        items = self.claim_fields if self.claim_fields is not None else []
        problems = []
        if bad_text(items) is not None:
            problems.append(NUL_OR_SURROGATE)
        elif not isinstance(items, list):
            problems.append("Give a list of claim items (objects).")
        else:
            for n, item in enumerate(items, 1):
                if not isinstance(item, dict) or not isinstance(item.get("item"), str) or not item["item"].strip():
                    problems.append(f'Item {n}: an object with at least "item" (what goes on the claim).')
                    continue
                unknown = sorted(set(item) - set(self.CLAIM_FIELD_KEYS))
                if unknown or not all(isinstance(v, str) for v in item.values()):
                    problems.append(f"Item {n}: text values under {', '.join(self.CLAIM_FIELD_KEYS)} only.")
                elif item.get("certainty", "sure") not in policy.CERTAINTY:
                    problems.append(f"Item {n}: certainty is one of {', '.join(policy.CERTAINTY)}.")
        if problems:
            raise ValidationError({"claim_fields": problems})
        self.claim_fields = items


class ProfileCode(models.Model):
    """One code of a procedure profile: a procedure code with its role, a usual diagnosis, modifier or site of
    service, or one to avoid. ``system`` uses the names of ``codes.selectors.lookup``."""

    PROCEDURE, DIAGNOSIS, MODIFIER, POS = "procedure", "icd10cm", "modifier", "pos"
    SYSTEMS = [
        (PROCEDURE, "Procedure code"),
        (DIAGNOSIS, "Diagnosis"),
        (MODIFIER, "Modifier"),
        (POS, "Place of service"),
    ]
    PRIMARY, ALTERNATIVE, RELATED, USUAL, AVOID = "primary", "alternative", "related", "usual", "avoid"
    ROLES = [
        (PRIMARY, "Primary: the procedure's own code"),
        (ALTERNATIVE, "Alternative: used instead in a particular setting"),
        (RELATED, "Related: seen beside it (often not to be billed with it)"),
        (USUAL, "Usual on these claims"),
        (AVOID, "Avoid: does not belong on these claims"),
    ]
    PROCEDURE_ROLES = {PRIMARY, ALTERNATIVE, RELATED}
    OTHER_ROLES = {USUAL, AVOID}

    profile = models.ForeignKey(ProcedureProfile, on_delete=models.CASCADE, related_name="codes")
    system = models.CharField(max_length=10, choices=SYSTEMS)
    code = models.CharField(max_length=10)
    role = models.CharField(max_length=12, choices=ROLES)
    summary = models.CharField(max_length=300, blank=True, help_text="Our own words (CPT descriptors are the AMA's).")
    notes = models.TextField(blank=True)
    certainty = models.CharField(max_length=10, choices=CERTAINTY_CHOICES, default="sure")
    source = models.CharField(max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order within the profile.")

    class Meta:
        ordering = ["profile", "system", "position", "code"]
        constraints = [models.UniqueConstraint(fields=["profile", "system", "code"], name="profile_code_unique")]

    def __str__(self) -> str:
        return f"{self.get_system_display()} {self.display_code} ({self.role})"

    @property
    def display_code(self) -> str:
        return dotted(self.code) if self.system == self.DIAGNOSIS else self.code

    def clean(self):
        self.code = normalise(self.code)
        check = {
            self.PROCEDURE: procedure_code_error,
            self.DIAGNOSIS: diagnosis_error,
            self.MODIFIER: modifier_error,
            self.POS: place_of_service_error,
        }.get(self.system)
        message = check(self.code) if check else None
        if message:
            raise ValidationError({"code": message})
        allowed = self.PROCEDURE_ROLES if self.system == self.PROCEDURE else self.OTHER_ROLES
        if self.role and self.role not in allowed:
            kind = self.get_system_display().lower()
            raise ValidationError({"role": f"Role for a {kind}: {', '.join(sorted(allowed))}."})
