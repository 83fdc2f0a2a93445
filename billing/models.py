"""Draft claims, their lines, the checks kept for them, batch uploads and report files.

A claim belongs to a practice; staff see only their practice's claims (``practice.selectors.practices_for``).
No patient name or identifier is stored: ``reference`` is the practice's own claim or account number.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from billing.checking.claim import date_out_of_range


def validate_claim_date(value) -> None:
    """A claim's dates lie in billing's range (billing.checking.claim.date_out_of_range), on every form and API."""
    message = date_out_of_range(value)
    if message is not None:
        raise ValidationError(message, code="date_out_of_range")


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", "Not checked"
    ERROR = "error", "Errors"
    WARNING = "warning", "Warnings"
    CLEAN = "clean", "Clean"
    READY = "ready", "Ready to send"


# The claim's own fields, in the order of the contract's claim format (admin form and API share them).
CLAIM_FIELDS = (
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
)


class DraftClaim(models.Model):
    CLAIM_TYPES = [
        ("professional", "Professional (837P / CMS-1500)"),
        ("institutional", "Institutional (837I / UB-04)"),
    ]

    practice = models.ForeignKey("practice.Practice", on_delete=models.PROTECT, related_name="claims")
    reference = models.CharField(
        max_length=40, blank=True, help_text="The practice's own claim or account number (no patient names)."
    )
    payer = models.ForeignKey("practice.Payer", on_delete=models.PROTECT, related_name="claims")
    claim_type = models.CharField(max_length=16, choices=CLAIM_TYPES, default="professional")
    place_of_service = models.CharField(max_length=2)
    date_of_service = models.DateField(validators=[validate_claim_date])
    submitted_on = models.DateField(
        null=True, blank=True, validators=[validate_claim_date], help_text="The day the claim goes out (default today)."
    )
    rendering_npi = models.CharField("rendering NPI", max_length=10, blank=True)
    diagnoses = models.JSONField(default=list, blank=True, help_text="Up to 12 ICD-10-CM codes, first = primary.")
    clinical_trial_number = models.CharField(max_length=20, blank=True, help_text="NCT + 8 digits")
    prior_authorization_number = models.CharField(max_length=50, blank=True)
    condition_codes = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Bumped on every save: concurrent edits are refused.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_of_service", "-id"]
        indexes = [models.Index(fields=["practice", "status", "date_of_service"])]
        permissions = [("check_claim", "Can check draft claims")]

    def __str__(self) -> str:
        ref = self.reference or f"#{self.pk}"
        return f"Claim {ref} ({self.date_of_service}, {self.payer_id and self.payer.key})"


class ClaimLine(models.Model):
    claim = models.ForeignKey(DraftClaim, on_delete=models.CASCADE, related_name="lines")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(50)])
    code = models.CharField(max_length=5)
    modifiers = models.JSONField(default=list, blank=True)
    units = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    diagnosis_pointers = models.JSONField(default=list, blank=True)
    charge = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    date_of_service = models.DateField(
        null=True, blank=True, validators=[validate_claim_date], help_text="Only when it differs from the claim's."
    )

    class Meta:
        ordering = ["claim", "number"]
        constraints = [models.UniqueConstraint(fields=["claim", "number"], name="claimline_claim_number")]

    def __str__(self) -> str:
        mods = ":".join(self.modifiers or [])
        return f"{self.number}. {self.code}{(' ' + mods) if mods else ''} x{self.units}"


class ClaimCheck(models.Model):
    """One check of a claim, kept with its findings and the releases it used, to be explained later."""

    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="checks")
    claim = models.ForeignKey(DraftClaim, null=True, blank=True, on_delete=models.CASCADE, related_name="checks")
    payer_key = models.CharField(max_length=50, db_index=True)
    date_of_service = models.DateField()
    status = models.CharField(max_length=8, db_index=True)
    result = models.JSONField(help_text="The contract's result object.")
    coding = models.JSONField(default=list, help_text="The releases in force that answered.")
    source = models.CharField(max_length=16, default="admin")  # admin, api, cli, upload
    upload = models.ForeignKey(
        "BatchUpload", null=True, blank=True, on_delete=models.SET_NULL, related_name="checks"
    )  # the batch upload the check came from (source "upload")
    checked_at = models.DateTimeField(auto_now_add=True, db_index=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [models.Index(fields=["practice", "checked_at"])]

    def __str__(self) -> str:
        return f"Check {self.pk}: {self.status} ({self.checked_at:%Y-%m-%d %H:%M})"


class Finding(models.Model):
    check_run = models.ForeignKey(ClaimCheck, on_delete=models.CASCADE, related_name="findings")
    rule = models.CharField(max_length=40, db_index=True)
    severity = models.CharField(max_length=8)
    line = models.PositiveSmallIntegerField(null=True, blank=True)
    codes = models.JSONField(default=list, blank=True)
    message = models.TextField()
    reference = models.TextField(blank=True)
    suggestion = models.TextField(blank=True)

    class Meta:
        ordering = ["check_run", "id"]

    def __str__(self) -> str:
        return f"{self.severity}: {self.rule}"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BatchUpload(models.Model):
    """A CSV or xlsx of claims (one row per line) checked as a Celery job in chunks; gives a results workbook."""

    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="uploads")
    file = models.FileField(upload_to="uploads/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total_claims = models.PositiveIntegerField(default=0)
    done_claims = models.PositiveIntegerField(default=0)
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to="results/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    chunk_plan = models.JSONField(
        default=dict, blank=True, help_text="The work file and, per chunk, its first claim, claims and byte range."
    )
    chunk_runs = models.JSONField(
        default=dict, blank=True, help_text="Chunk index -> when, where and how fast it was checked (done marker)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Upload {self.original_name or self.pk} ({self.status})"

    @property
    def percent(self) -> int:
        return int(100 * self.done_claims / self.total_claims) if self.total_claims else 0


class ReportFile(models.Model):
    """A billing guide or check report generated for download (large ones as Celery jobs)."""

    KINDS = [("guide", "Billing guide"), ("report", "Check report")]
    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=8, choices=KINDS)
    parameters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("download_guide", "Can download billing guides"),
            ("download_report", "Can download check reports"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.parameters} ({self.status})"
