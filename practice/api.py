"""REST (read-only): payers, payer rules and procedure profiles. Writes go through the admin, with a reason.

``GET payers/``, ``payers/{key}/``; ``GET payer-rules/?payer=medicare&code=0275T&on=2026-03-02`` (rows: every
version matching; ``practice=KEY`` adds that practice's overrides, ``practice=global`` gives only shipped rules);
``GET procedure-profiles/``, ``procedure-profiles/{key}/``. Staff see the shipped rules and their own practices'
overrides only.
"""

from __future__ import annotations

import django_filters
from django.db.models import Q
from rest_framework import serializers, viewsets

from config.permissions import ModelPermissions
from practice.models import Payer, PayerRule, ProcedureProfile, ProfileCode
from practice.selectors import practices_for
from practice.validators import dotted


class PayerSerializer(serializers.ModelSerializer):
    payer_type_display = serializers.CharField(source="get_payer_type_display", read_only=True)

    class Meta:
        model = Payer
        fields = [
            "key",
            "name",
            "payer_type",
            "payer_type_display",
            "filing_limit_days",
            "filing_limit_note",
            "medicare_contractor",
            "notes",
        ]


class PayerRuleSerializer(serializers.ModelSerializer):
    payer = serializers.SlugRelatedField(slug_field="key", read_only=True)
    practice = serializers.SlugRelatedField(slug_field="key", read_only=True)
    required_diagnoses = serializers.SerializerMethodField()
    in_force_today = serializers.BooleanField(read_only=True)

    class Meta:
        model = PayerRule
        fields = ["id", *PayerRule.RULE_FIELDS, "in_force_today", "code_check_notes"]

    def get_required_diagnoses(self, obj) -> list[dict]:
        """Codes as people write them (M48.062)."""
        return [{**r, "codes": [dotted(c) for c in r["codes"]]} for r in obj.required_diagnoses]


class PayerRuleFilter(django_filters.FilterSet):
    payer = django_filters.CharFilter(field_name="payer__key", help_text="payer key: medicare")
    code = django_filters.CharFilter(method="filter_code", help_text="a procedure code the rule applies to: 0275T")
    on = django_filters.DateFilter(method="filter_on", help_text="versions in force on this date (YYYY-MM-DD)")
    practice = django_filters.CharFilter(
        method="filter_practice", help_text="practice key: the shipped rules and its overrides; 'global': shipped only"
    )
    coverage = django_filters.CharFilter()
    certainty = django_filters.CharFilter()

    class Meta:
        model = PayerRule
        fields = ["payer", "code", "on", "practice", "coverage", "certainty", "key"]

    def filter_code(self, queryset, name, value):
        return queryset.for_code(value)

    def filter_on(self, queryset, name, value):
        return queryset.in_force(value)

    def filter_practice(self, queryset, name, value):
        if value == "global":
            return queryset.filter(practice__isnull=True)
        return queryset.filter(Q(practice__isnull=True) | Q(practice__key=value))


class PayerViewSet(viewsets.ReadOnlyModelViewSet):
    """Payers with their type and filing limit."""

    queryset = Payer.objects.all()
    permission_classes = [ModelPermissions]  # the role's view permission, not just a login
    serializer_class = PayerSerializer
    lookup_field = "key"
    filterset_fields = ["payer_type"]


class PayerRuleViewSet(viewsets.ReadOnlyModelViewSet):
    """Payer rule versions (effective-dated); filter by payer, code and date of service."""

    permission_classes = [ModelPermissions]  # the role's view permission, not just a login
    serializer_class = PayerRuleSerializer
    filterset_class = PayerRuleFilter

    def get_queryset(self):
        qs = PayerRule.objects.select_related("payer", "practice").order_by("payer__key", "key", "effective_from")
        user = self.request.user
        if user.is_superuser:
            return qs
        return qs.filter(Q(practice__isnull=True) | Q(practice__in=practices_for(user)))


class ProfileCodeSerializer(serializers.ModelSerializer):
    code = serializers.CharField(source="display_code")

    class Meta:
        model = ProfileCode
        fields = ["system", "code", "role", "summary", "notes", "certainty", "source"]


class ProcedureProfileSerializer(serializers.ModelSerializer):
    codes = ProfileCodeSerializer(many=True, read_only=True)

    class Meta:
        model = ProcedureProfile
        fields = ["key", "name", "description", "notes", "codes"]


class ProcedureProfileViewSet(viewsets.ReadOnlyModelViewSet):
    """Procedure profiles (mild®) with their codes, usual diagnoses, modifiers and sites of service."""

    queryset = ProcedureProfile.objects.prefetch_related("codes")
    permission_classes = [ModelPermissions]  # the role's view permission, not just a login
    serializer_class = ProcedureProfileSerializer
    lookup_field = "key"
