"""REST: code look-ups as of a date, and the loaded releases (read-only)."""

from datetime import date

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from codes import models, selectors
from config.permissions import ModelPermissions, require_perms

LookupSerializer = inline_serializer(
    "CodeLookup",
    {
        "system": serializers.CharField(),
        "code": serializers.CharField(),
        "found": serializers.BooleanField(),
        "in_effect": serializers.BooleanField(allow_null=True),
        "billable": serializers.BooleanField(allow_null=True),
        "description": serializers.CharField(allow_null=True),
        "release": serializers.CharField(allow_null=True),
        "note": serializers.CharField(required=False),
    },
)


class CodeLookupView(APIView):
    """One code as of a date of service: the same object as `manage.py lookup_code`."""

    permission_classes = [require_perms("codes.view_release")]  # every role that reads the code sets

    @extend_schema(
        parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="date of service (default today)")],
        responses=LookupSerializer,
    )
    def get(self, request, system: str, code: str):
        if system.lower() not in selectors.LOOKUP_SYSTEMS:
            raise ValidationError({"system": f"one of {', '.join(selectors.LOOKUP_SYSTEMS)}"})
        raw = request.query_params.get("on")
        try:
            on = date.fromisoformat(raw) if raw else timezone.localdate()
        except ValueError:
            raise ValidationError({"on": "a date, YYYY-MM-DD"}) from None
        return Response(selectors.lookup(system, code, on))


class ReleaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = models.Release
        fields = ["id", *models.RELEASE_FACTS, "held_reason"]


class ReleaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Loaded code-set releases with their sources, counts and in-force dates."""

    queryset = models.Release.objects.all()
    serializer_class = ReleaseSerializer
    permission_classes = [ModelPermissions]
    filterset_fields = ["kind", "status"]
