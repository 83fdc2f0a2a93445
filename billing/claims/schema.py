"""The contract's claim and result (../contract/README.md) as serializers, for the API schema only.

The claim is validated by ``billing.checking.claim.parse_claim`` (errors by JSON path); these classes describe every
field of it and of the result so that /api/schema/ and /api/docs/ show them, with no free-form object anywhere.
``CheckResultField`` and ``CodingField`` keep the stored JSON as it is (every key the checker wrote) while the
schema names the fields.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from billing.checking.findings import SEVERITIES, STATUSES


class ClaimLineInput(serializers.Serializer):
    """One service line of a claim."""

    code = serializers.CharField(max_length=5, help_text="CPT or HCPCS Level II code, e.g. 0275T")
    modifiers = serializers.ListField(
        child=serializers.CharField(max_length=2), max_length=4, required=False, help_text='Up to 4, e.g. ["Q0"]'
    )
    units = serializers.IntegerField(min_value=1, required=False, default=1)
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=12),
        max_length=4,
        required=False,
        help_text="1-based positions in the claim's diagnoses, up to 4",
    )
    charge = serializers.DecimalField(max_digits=10, decimal_places=2, required=False, allow_null=True)
    date_of_service = serializers.DateField(
        required=False, allow_null=True, help_text="Only when it differs from the claim's"
    )


class PatientInput(serializers.Serializer):
    account = serializers.CharField(
        max_length=64, help_text="The practice's own patient account number (stored hashed; never a name)"
    )


class ClaimInput(serializers.Serializer):
    """A claim as the contract defines it."""

    payer = serializers.CharField(help_text="A payer key of the practice, e.g. medicare")
    claim_type = serializers.ChoiceField(["professional", "institutional"], required=False, default="professional")
    place_of_service = serializers.CharField(max_length=2, help_text="CMS place-of-service code, e.g. 24")
    date_of_service = serializers.DateField()
    submitted_on = serializers.DateField(
        required=False, allow_null=True, help_text="The day the claim goes out (default today)"
    )
    rendering_npi = serializers.CharField(max_length=10, required=False, allow_null=True)
    diagnoses = serializers.ListField(
        child=serializers.CharField(max_length=8), max_length=12, help_text="ICD-10-CM, first = primary; dot optional"
    )
    clinical_trial_number = serializers.CharField(required=False, allow_null=True, help_text="NCT + 8 digits")
    prior_authorization_number = serializers.CharField(required=False, allow_null=True)
    condition_codes = serializers.ListField(child=serializers.CharField(max_length=2), required=False)
    location = serializers.CharField(
        required=False, help_text="Key of one of the practice's locations (default: its main location)"
    )
    patient = PatientInput(required=False)
    lines = ClaimLineInput(many=True, max_length=50)


class CodingEntry(serializers.Serializer):
    """A release in force that answered."""

    kind = serializers.CharField(help_text="Code-set kind, e.g. icd10cm, ncci-ptp-practitioner")
    release = serializers.CharField(help_text="The release's label")
    effective_from = serializers.DateField()
    effective_to = serializers.DateField(allow_null=True, help_text="Last day in force; null: open")


class FindingOutput(serializers.Serializer):
    rule = serializers.CharField(help_text="Rule id, e.g. NCCI_PTP_CONFLICT")
    severity = serializers.ChoiceField(list(SEVERITIES))
    line = serializers.IntegerField(min_value=1, required=False, help_text="1-based; absent for the whole claim")
    codes = serializers.ListField(child=serializers.CharField())
    message = serializers.CharField()
    reference = serializers.CharField(help_text="The source the finding rests on, with its version")
    suggestion = serializers.CharField(allow_blank=True, help_text="What to do, where one exists")


class CheckResultOutput(serializers.Serializer):
    """The result of checking one claim."""

    status = serializers.ChoiceField(list(STATUSES), help_text="The worst severity found (info leaves it clean)")
    date_of_service = serializers.DateField()
    coding = CodingEntry(many=True)
    findings = FindingOutput(many=True)


# 400 from the claim check: {"lines[0].code": ["..."], ...}, each malformed field by its JSON path
CLAIM_FIELD_ERRORS = {
    "type": "object",
    "description": "Each malformed field by its JSON path (e.g. lines[0].code) with the reasons",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}


@extend_schema_field(CheckResultOutput)
class CheckResultField(serializers.JSONField):
    """A stored result, as stored."""


@extend_schema_field(CodingEntry(many=True))
class CodingField(serializers.JSONField):
    """The releases that answered, as stored."""
