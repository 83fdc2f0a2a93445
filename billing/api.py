"""REST: check a claim in one call; draft claims and their stored checks, scoped to the user's practice."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from billing import services
from billing.checking.claim import ClaimInputError
from billing.models import ClaimCheck, ClaimLine, DraftClaim
from practice.models import Practice
from practice.selectors import practices_for


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with 'view' required for reads too."""

    perms_map = {**permissions.DjangoModelPermissions.perms_map, "GET": ["%(app_label)s.view_%(model_name)s"]}


class CanCheckClaims(permissions.BasePermission):
    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("billing.check_claim"))


def practice_for_request(request) -> Practice:
    """The practice a request acts for: `?practice=KEY` when the user has several, else their only one."""
    allowed = practices_for(request.user)
    key = request.query_params.get("practice")
    if key:
        practice = allowed.filter(key=key).first()
        if practice is None:
            raise PermissionDenied(f"you do not work for practice {key!r}")
        return practice
    choices = list(allowed[:2])
    if not choices:
        raise PermissionDenied("your account is not a member of any practice")
    if len(choices) > 1:
        raise ValidationError({"practice": "you work for several practices: give ?practice=KEY"})
    return choices[0]


class ClaimCheckRequest(serializers.Serializer):
    """The contract's claim (validated by billing.checking.claim.parse_claim; documented here for the schema)."""

    payer = serializers.CharField()
    claim_type = serializers.ChoiceField(["professional", "institutional"], required=False)
    place_of_service = serializers.CharField()
    date_of_service = serializers.DateField()
    submitted_on = serializers.DateField(required=False, allow_null=True)
    rendering_npi = serializers.CharField(required=False, allow_null=True)
    diagnoses = serializers.ListField(child=serializers.CharField(), max_length=12)
    clinical_trial_number = serializers.CharField(required=False, allow_null=True)
    prior_authorization_number = serializers.CharField(required=False, allow_null=True)
    condition_codes = serializers.ListField(child=serializers.CharField(), required=False)
    lines = serializers.ListField(child=serializers.DictField())


class ClaimCheckView(APIView):
    """Check a claim against the coding of its date of service and the payer's rules; the check is kept."""

    permission_classes = [CanCheckClaims]

    @extend_schema(
        operation_id="claims_check",
        request=ClaimCheckRequest,
        responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("practice", str, description="practice key, when you work for several")],
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["the body must be one claim object"]})
        practice = practice_for_request(request)
        try:
            result, _check = services.check_payload(dict(request.data), practice.id, user=request.user, source="api")
        except ClaimInputError as exc:
            return Response({k: [v] for k, v in exc.errors.items()}, status=status.HTTP_400_BAD_REQUEST)
        return Response(result)


class ClaimLineSerializer(serializers.ModelSerializer):
    modifiers = serializers.ListField(child=serializers.CharField(max_length=2), max_length=4, required=False)
    diagnosis_pointers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=12), max_length=4, required=False
    )

    class Meta:
        model = ClaimLine
        fields = ["number", "code", "modifiers", "units", "diagnosis_pointers", "charge", "date_of_service"]


class DraftClaimSerializer(serializers.ModelSerializer):
    lines = ClaimLineSerializer(many=True)
    payer = serializers.SlugRelatedField(
        slug_field="key", queryset=DraftClaim._meta.get_field("payer").related_model.objects.all()
    )
    diagnoses = serializers.ListField(child=serializers.CharField(max_length=8), max_length=12, required=False)
    condition_codes = serializers.ListField(child=serializers.CharField(max_length=2), required=False)

    class Meta:
        model = DraftClaim
        fields = [
            "id",
            "reference",
            "payer",
            "claim_type",
            "place_of_service",
            "date_of_service",
            "submitted_on",
            "rendering_npi",
            "diagnoses",
            "clinical_trial_number",
            "prior_authorization_number",
            "condition_codes",
            "status",
            "last_checked_at",
            "version",
            "lines",
        ]
        read_only_fields = ["status", "last_checked_at"]

    def validate(self, attrs):
        sent = self.initial_data.get("version") if self.instance is not None else None
        if sent is not None and int(sent) != self.instance.version:
            raise ValidationError({"version": "the claim was changed by someone else: reload it and edit again"})
        return attrs

    def _save_lines(self, claim, lines):
        claim.lines.all().delete()
        ClaimLine.objects.bulk_create([ClaimLine(claim=claim, **line) for line in lines])

    def create(self, validated):
        lines = validated.pop("lines")
        claim = DraftClaim.objects.create(**validated)
        self._save_lines(claim, lines)
        return claim

    def update(self, instance, validated):
        from django.db.models import F

        lines = validated.pop("lines", None)
        validated.pop("version", None)
        updated = DraftClaim.objects.filter(pk=instance.pk, version=instance.version).update(
            **validated, version=F("version") + 1, status="draft"
        )
        if not updated:
            raise ValidationError({"version": "the claim was changed by someone else: reload it and edit again"})
        if lines is not None:
            self._save_lines(instance, lines)
        instance.refresh_from_db()
        return instance


class DraftClaimViewSet(viewsets.ModelViewSet):
    """Draft claims of your practice. `POST .../{id}/check/` checks one and keeps the check."""

    serializer_class = DraftClaimSerializer
    permission_classes = [ModelPermissions]
    filterset_fields = ["status", "payer__key", "date_of_service"]

    def get_queryset(self):
        return (
            DraftClaim.objects.filter(practice__in=practices_for(self.request.user))
            .select_related("payer")
            .prefetch_related("lines")
        )

    def perform_create(self, serializer):
        serializer.save(practice=practice_for_request(self.request), created_by=self.request.user)

    @extend_schema(operation_id="claims_draft_check", request=None, responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["post"], permission_classes=[CanCheckClaims])
    def check(self, request, pk=None):
        claim = get_object_or_404(self.get_queryset(), pk=pk)
        check = services.check_drafts([claim], user=request.user)[0]
        return Response(check.result)


class ClaimCheckSerializer(serializers.ModelSerializer):
    class Meta:
        model = ClaimCheck
        fields = ["id", "claim", "payer_key", "date_of_service", "status", "result", "coding", "source", "checked_at"]


class StoredCheckViewSet(viewsets.ReadOnlyModelViewSet):
    """Checks kept for your practice, with the findings and the releases that answered."""

    serializer_class = ClaimCheckSerializer
    permission_classes = [ModelPermissions]
    filterset_fields = ["status", "payer_key", "claim", "source"]

    def get_queryset(self):
        return ClaimCheck.objects.filter(practice__in=practices_for(self.request.user))
