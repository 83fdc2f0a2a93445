"""Practices, their locations (each with the jurisdiction its ZIP gives), providers and who works for which."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from practice import policy
from practice.codecheck import check_codes
from practice.validators import (
    place_of_service_error,
    validate_locality,
    validate_mac,
    validate_npi,
    validate_place_of_service,
    validate_state,
    validate_tax_id,
    validate_taxonomy,
)

CERTAINTY_CHOICES = list(policy.CERTAINTY.items())
SEVERITY_ERROR = "error"
SEVERITY_WARNING = "warning"
SEVERITY_CHOICES = [(SEVERITY_ERROR, "Error (reject)"), (SEVERITY_WARNING, "Warning (check by hand)")]


def default_time_zone() -> str:
    return settings.TIME_ZONE


def validate_time_zone(value: str) -> None:
    import zoneinfo

    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as America/New_York.")


class Practice(models.Model):
    key = models.SlugField(max_length=50, unique=True, help_text="Short name used in commands and the API: demo")
    name = models.CharField(max_length=200)
    npi = models.CharField(
        "NPI", max_length=10, validators=[validate_npi], help_text="The practice's (group, type 2) NPI."
    )
    tax_id = models.CharField("tax id (EIN)", max_length=10, blank=True, validators=[validate_tax_id])
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text="Every time in the admin is shown in this zone (IANA name, e.g. America/Chicago).",
    )
    patient_key = models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="The practice's own secret for hashing patient account numbers (HMAC); made on first use.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def patient_hmac_key(self) -> bytes:
        """The practice's key for hashing patient account numbers, made (randomly, once) on first use. Two
        processes racing to make it both read back the one that was stored first."""
        if not self.patient_key:
            import secrets

            Practice.objects.filter(pk=self.pk, patient_key="").update(patient_key=secrets.token_hex(32))
            self.patient_key = Practice.objects.values_list("patient_key", flat=True).get(pk=self.pk)
        return self.patient_key.encode()


class PracticeMembership(models.Model):
    """A user works for a practice and sees only its data (``practice.selectors.practices_for``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_memberships")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "practice"], name="practice_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} at {self.practice}"


class Location(models.Model):
    """Where the practice performs services. Its ZIP code gives its Medicare contractor (MAC), locality and state
    from the CMS ZIP crosswalk loaded (kind ``zip5``); the claim's ``location`` names it by ``key``, and the
    state and contractor decide which scoped payer rules (LCDs, WISeR) apply."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="locations")
    key = models.SlugField(
        max_length=50,
        blank=True,
        help_text='What claims call it (the claim\'s "location"): tx-asc. Unique per practice.',
    )
    name = models.CharField(max_length=200)
    is_main = models.BooleanField(
        "main location", default=False, help_text="Claims that name no location were done here."
    )
    zip_code = models.CharField(
        "ZIP code",
        max_length=10,
        blank=True,
        help_text="Five digits (ZIP+4 accepted): gives contractor, locality, state.",
    )
    place_of_service = models.CharField(
        max_length=2, validators=[validate_place_of_service], help_text="CMS place-of-service code: 24 for an ASC."
    )
    mac = models.CharField(
        "Medicare contractor",
        max_length=5,
        blank=True,
        validators=[validate_mac],
        help_text="As in the GPCI file: 10112. Filled from the ZIP code when the crosswalk knows it.",
    )
    locality = models.CharField(
        "Medicare locality",
        max_length=2,
        blank=True,
        validators=[validate_locality],
        help_text="Within the contractor: 00. Filled from the ZIP code when the crosswalk knows it.",
    )
    state = models.CharField(max_length=2, blank=True, validators=[validate_state])
    updated_at = models.DateTimeField(auto_now=True, null=True)

    class Meta:
        ordering = ["practice", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "key"], condition=~Q(key=""), name="location_practice_key_unique"
            ),
            models.UniqueConstraint(fields=["practice"], condition=Q(is_main=True), name="location_one_main"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (POS {self.place_of_service}, {self.locality_code})"

    @property
    def locality_code(self) -> str:
        """The contract's form, as ``export_billing_guide --locality`` takes it: 10112-00."""
        return f"{self.mac}-{self.locality}"

    def as_info(self) -> policy.LocationInfo:
        return policy.LocationInfo(
            key=self.key,
            name=self.name,
            state=self.state,
            mac=self.mac,
            locality=self.locality,
            place_of_service=self.place_of_service,
            zip_code=self.zip_code,
        )

    def clean(self):
        self.state = (self.state or "").upper()
        self.key = (self.key or "").lower()
        self.zip_code = (self.zip_code or "").strip()
        if self.zip_code:
            self._apply_zip()
        missing = [f for f in ("mac", "locality", "state") if not getattr(self, f)]
        if missing:
            raise ValidationError(dict.fromkeys(missing, "Give it, or a ZIP code the loaded CMS ZIP crosswalk knows."))
        if self.place_of_service and not place_of_service_error(self.place_of_service):
            result = check_codes([("place_of_service", "pos", self.place_of_service)], timezone.localdate())
            result.raise_errors()

    def _apply_zip(self) -> None:
        """Contractor, locality and state from the ZIP crosswalk in force today; a clash with values typed in is
        an error naming the fields (the ZIP decides: clear them or correct the ZIP)."""
        import re

        from codes.selectors import zip_locality

        if not re.fullmatch(r"\d{5}(-?\d{4})?", self.zip_code):
            raise ValidationError({"zip_code": "A ZIP code is five digits (ZIP+4 as 12345-6789)."})
        found = zip_locality(self.zip_code[:5], timezone.localdate())
        if found is None:
            return  # no crosswalk loaded, or the ZIP is not in it: the values typed in stand (checked below)
        row, release = found
        wanted = {"mac": row.carrier, "locality": row.locality, "state": row.state}
        clashes = {f: v for f, v in wanted.items() if getattr(self, f) and getattr(self, f) != v}
        if clashes:
            where = f"ZIP {row.zip_code} is in {row.state}, contractor {row.carrier}, locality {row.locality}"
            raise ValidationError(
                dict.fromkeys(clashes, f"{where} ({release.label}): clear this field or correct the ZIP code.")
            )
        for f, v in wanted.items():
            setattr(self, f, v)


class Provider(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="providers")
    name = models.CharField(max_length=200)
    npi = models.CharField("NPI", max_length=10, validators=[validate_npi], help_text="Individual (type 1) NPI.")
    taxonomy_code = models.CharField(max_length=10, blank=True, validators=[validate_taxonomy])

    class Meta:
        ordering = ["practice", "name"]
        constraints = [models.UniqueConstraint(fields=["practice", "npi"], name="practice_provider_npi_unique")]

    def __str__(self) -> str:
        return f"{self.name} (NPI {self.npi})"
