"""REST: check a claim in one call; draft claims and their stored checks, scoped to the user's practice."""

from __future__ import annotations

import django_filters
from drf_spectacular.authentication import TokenScheme
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from billing.checking.claim import CLAIM_FIELDS, ClaimInputError
from billing.claims import checker, checks, services
from billing.claims.schema import CLAIM_FIELD_ERRORS, CheckResultField, CheckResultOutput, ClaimInput, CodingField
from billing.models import ClaimCheck, ClaimLine, DraftClaim
from config.permissions import ModelPermissions, require_perms
from config.throttling import UserRateThrottle
from practice import access
from practice.models import Payer, Practice
from practice.selectors import practices_for

CanCheckClaims = require_perms("billing.check_claim")


class ClaimCheckThrottle(UserRateThrottle):
    """Claim checks per user (``claims-check`` in DEFAULT_THROTTLE_RATES), on top of the general rates. The rate
    is read when used, not at import, so that a settings override (a test's low rate) applies."""

    scope = "claims-check"

    @property
    def THROTTLE_RATES(self):  # noqa: N802 (DRF's attribute name)
        return api_settings.DEFAULT_THROTTLE_RATES


class CachedTokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication for the claim-check endpoint, in one query with what the check needs.

    The query (``checker.stamp_for_token``) reads the token's user id, the access generation and the Checker's
    stamp; the user, its permissions and its practices come from ``practice.access`` (read again when the
    generation changed). ``request.auth`` carries the practices and the stamp to the view."""

    def authenticate_credentials(self, key):
        found = checker.stamp_for_token(key)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        user_id, generation, stamp = found
        if generation is None:  # no access stamp row (a flushed test database): the uncached path
            user, _token = super().authenticate_credentials(key)
            return user, CheckAuth(key, None, stamp)
        known = access.access_for(user_id, generation)
        if known is None:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return known.user, CheckAuth(key, known.practices, stamp)


class CachedTokenScheme(TokenScheme):
    """The schema's name for it: the same header as DRF's token scheme, under its own component name."""

    target_class = CachedTokenAuthentication
    name = "tokenAuthCached"
    priority = 1  # before drf-spectacular's own, which matches subclasses of TokenAuthentication


class CheckAuth(str):
    """``request.auth`` of a CachedTokenAuthentication: the token key (a str, as DRF's token auth gives a token),
    the user's practices (None: not cached) and the Checker's stamp read with it."""

    def __new__(cls, key: str, practices: tuple | None, stamp: tuple):
        value = super().__new__(cls, key)
        value.practices, value.stamp = practices, stamp
        return value


def practice_for_request(request) -> Practice:
    """The practice a request acts for: `?practice=KEY` when the user has several, else their only one."""
    practices = getattr(request.auth, "practices", None)
    if practices is not None:
        return _pick_practice(list(practices), request.query_params.get("practice"))
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


def _pick_practice(practices: list[Practice], key: str | None) -> Practice:
    """``practice_for_request`` over the user's practices in memory: the same answers and errors."""
    if key:
        practice = next((p for p in practices if p.key == key), None)
        if practice is None:
            raise PermissionDenied(f"you do not work for practice {key!r}")
        return practice
    if not practices:
        raise PermissionDenied("your account is not a member of any practice")
    if len(practices) > 1:
        raise ValidationError({"practice": "you work for several practices: give ?practice=KEY"})
    return practices[0]


ClaimCheckRequest = ClaimInput  # the contract's claim; parse_claim validates it (errors by JSON path)


class ClaimCheckView(APIView):
    """Check a claim against the coding of its date of service and the payer's rules; the check is kept.

    The check is made for the user's own practice (its rule overrides, its stored checks): ``?practice=KEY`` only
    chooses among the practices the user works for."""

    authentication_classes = [CachedTokenAuthentication, authentication.SessionAuthentication]
    permission_classes = [CanCheckClaims]
    throttle_classes = [*APIView.throttle_classes, ClaimCheckThrottle]

    @extend_schema(
        operation_id="claims_check",
        request=ClaimCheckRequest,
        responses={
            200: CheckResultOutput,
            400: OpenApiResponse(CLAIM_FIELD_ERRORS, description="field errors by JSON path, e.g. lines[0].code"),
            429: OpenApiResponse(description="throttled"),
        },
        parameters=[
            OpenApiParameter("practice", OpenApiTypes.STR, description="practice key, when you work for several")
        ],
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise ValidationError({"non_field_errors": ["the body must be one claim object"]})
        practice = practice_for_request(request)
        try:
            result, _check = checks.check_payload(
                dict(request.data),
                practice.id,
                user=request.user,
                source="api",
                stamp=getattr(request.auth, "stamp", None),
                text_checked=getattr(request, "text_checked", False),  # StrictJSONParser searched the body
            )
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
    """A draft claim of the user's practice. ``payer`` must be a payer the practice bills. ``version`` is the
    version you read: required to change a claim, and a change over a newer version is refused (409)."""

    lines = ClaimLineSerializer(many=True, max_length=50)
    payer = serializers.SlugRelatedField(slug_field="key", queryset=Payer.objects.all())
    diagnoses = serializers.ListField(child=serializers.CharField(max_length=8), max_length=12, required=False)
    condition_codes = serializers.ListField(child=serializers.CharField(max_length=2), max_length=24, required=False)
    version = serializers.IntegerField(
        min_value=1, required=False, help_text="The version you read; required on PUT and PATCH."
    )

    class Meta:
        model = DraftClaim
        fields = [
            "id",
            *CLAIM_FIELDS,
            "status",
            "last_checked_at",
            "version",
            "lines",
        ]
        read_only_fields = ["status", "last_checked_at"]

    def _practice(self) -> Practice:
        if self.instance is not None:
            return self.instance.practice
        return self.context["practice"]()

    def validate_payer(self, payer):
        problem = services.payer_not_billed(self._practice(), payer)
        if problem:
            raise ValidationError(problem)
        return payer

    def validate_lines(self, lines):
        numbers = [line["number"] for line in lines]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise ValidationError(f"line numbers must be unique (repeated: {', '.join(map(str, duplicates))})")
        return lines

    def validate(self, attrs):
        if self.instance is not None:
            sent = attrs.get("version")
            if sent is None:
                raise ValidationError({"version": "send the version you read (GET the claim first)"})
            if sent != self.instance.version:
                raise services.StaleClaimVersion(self.instance.version)
        return attrs

    def create(self, validated):
        lines = validated.pop("lines")
        validated.pop("version", None)
        user = validated.pop("created_by")
        return services.draft_claim_create(claim=DraftClaim(**validated), lines=lines, user=user)

    def update(self, instance, validated):
        lines = validated.pop("lines", None)
        read_version = validated.pop("version")
        return services.draft_claim_update(claim=instance, data=validated, lines=lines, expected_version=read_version)


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

    def handle_exception(self, exc):
        if isinstance(exc, services.StaleClaimVersion):  # 409, with the current version as a number
            return Response(
                {"version": [exc.message], "current_version": exc.current_version}, status=status.HTTP_409_CONFLICT
            )
        return super().handle_exception(exc)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        cached = {}

        def practice():
            if "practice" not in cached:
                cached["practice"] = practice_for_request(self.request)
            return cached["practice"]

        context["practice"] = practice
        return context

    def perform_create(self, serializer):
        serializer.save(practice=serializer.context["practice"](), created_by=self.request.user)

    @extend_schema(operation_id="claims_draft_check", request=None, responses=CheckResultOutput)
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[CanCheckClaims],
        throttle_classes=[*APIView.throttle_classes, ClaimCheckThrottle],
    )
    def check(self, request, pk=None):
        claim = self.get_object()  # the user's practices only; a malformed id is a 404 (was a 500)
        check = checks.check_drafts([claim], user=request.user)[0]
        return Response(check.result)


class ClaimCheckSerializer(serializers.ModelSerializer):
    result = CheckResultField(read_only=True)
    coding = CodingField(read_only=True)

    class Meta:
        model = ClaimCheck
        fields = ["id", "claim", "payer_key", "date_of_service", "status", "result", "coding", "source", "checked_at"]


def _own_claims(request):
    return DraftClaim.objects.filter(practice__in=practices_for(getattr(request, "user", None)))


class StoredCheckFilter(django_filters.FilterSet):
    # Only the user's own claims are valid choices: another practice's claim id is "not a valid choice", exactly
    # like an id that does not exist (no way to learn which ids exist elsewhere).
    claim = django_filters.ModelChoiceFilter(queryset=_own_claims)

    class Meta:
        model = ClaimCheck
        fields = ["status", "payer_key", "claim", "source"]


class StoredCheckViewSet(viewsets.ReadOnlyModelViewSet):
    """Checks kept for your practice, with the findings and the releases that answered."""

    serializer_class = ClaimCheckSerializer
    permission_classes = [ModelPermissions]
    filterset_class = StoredCheckFilter

    def get_queryset(self):
        return ClaimCheck.objects.filter(practice__in=practices_for(self.request.user))
