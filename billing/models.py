"""Draft claims, their lines, the checks kept for them, batch uploads and report files.

A claim belongs to a practice; staff see only their practice's claims (``practice.selectors.practices_for``).
No patient name or identifier is stored: ``reference`` is the practice's own claim or account number.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
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
    location = models.SlugField(
        max_length=50, blank=True, help_text="Key of the practice location where it was done; empty: the main one."
    )
    status = models.CharField(max_length=8, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT, db_index=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(
        null=True, blank=True, help_text="The last change to the claim or its lines (a check older than this is stale)."
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_claims",
        help_text="Who works the claim (the work queue groups by this).",
    )
    ready_at = models.DateTimeField(null=True, blank=True)
    ready_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
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


class ClaimNote(models.Model):
    """A note on a claim, with who wrote it and when. An override of a finding or of "ready means validated" is a
    note too (athenaOne keeps claim overrides as claim notes): its reason is the text, ``rule`` the finding's."""

    class Kind(models.TextChoices):
        NOTE = "note", "Note"
        OVERRIDE = "override", "Finding overridden"
        READY_OVERRIDE = "ready", "Marked ready without a clean check"

    claim = models.ForeignKey(DraftClaim, on_delete=models.CASCADE, related_name="notes")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NOTE, db_index=True)
    rule = models.CharField(max_length=40, blank=True, help_text="The finding overridden (kind override).")
    check_run = models.ForeignKey(
        "ClaimCheck", null=True, blank=True, on_delete=models.SET_NULL, related_name="notes"
    )  # the check whose finding was overridden
    text = models.TextField()
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["claim", "kind"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.claim_id} by {self.author}"


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
    """One check of a claim, kept with its findings and the releases it used, to be explained later.

    Indexes: every one is kept up on each of the thousands of checks an upload stores (bench/bench_check.py prints
    PostgreSQL's CPU for it). The practice is the first column of two composite indexes, so it has none of its own;
    ``payer_key`` and ``status`` are indexed plainly (``Meta.indexes``), without the ``LIKE`` index that
    ``db_index`` adds on PostgreSQL (nothing searches them by pattern)."""

    practice = models.ForeignKey(
        "practice.Practice", on_delete=models.CASCADE, related_name="checks", db_index=False
    )  # indexed by (practice, checked_at) and check_patient_history
    claim = models.ForeignKey(DraftClaim, null=True, blank=True, on_delete=models.CASCADE, related_name="checks")
    reference = models.CharField(
        max_length=40, blank=True, help_text="The claim's name: its draft's reference or the file's claim_ref."
    )
    payer_key = models.CharField(max_length=50)
    date_of_service = models.DateField(null=True, blank=True, help_text="Empty when the claim's date was unreadable.")
    status = models.CharField(max_length=8)
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
    # The patient, as an HMAC of the practice's account number under the practice's key (never the number), and
    # the claim's services (date, code, modifiers): what frequency limits count (billing.checking.history).
    patient_hash = models.CharField(max_length=64, blank=True, default="")
    services = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]
        indexes = [
            models.Index(fields=["practice", "checked_at"]),
            models.Index(fields=["practice", "patient_hash", "date_of_service"], name="check_patient_history"),
            models.Index(fields=["payer_key"], name="check_payer_key"),
            models.Index(fields=["status"], name="check_status"),
        ]

    def __str__(self) -> str:
        from django.utils import timezone

        name = self.reference or (f"claim #{self.claim_id}" if self.claim_id else f"check #{self.pk}")
        when = timezone.localtime(self.checked_at).strftime("%Y-%m-%d %H:%M %Z") if self.checked_at else ""
        return f"{name}: {self.status} ({when})"


class Finding(models.Model):
    check_run = models.ForeignKey(ClaimCheck, on_delete=models.CASCADE, related_name="findings")
    rule = models.CharField(max_length=40)
    severity = models.CharField(max_length=8)
    line = models.PositiveSmallIntegerField(null=True, blank=True)
    codes = models.JSONField(default=list, blank=True)
    message = models.TextField()
    reference = models.TextField(blank=True)
    suggestion = models.TextField(blank=True)

    class Meta:
        ordering = ["check_run", "id"]
        indexes = [models.Index(fields=["rule"], name="finding_rule")]  # no LIKE index (see ClaimCheck)

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
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the job building it.")
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process building it.")

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("download_guide", "Can download billing guides"),
            ("download_report", "Can download check reports"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.parameters} ({self.status})"


# ---- X12: 837P in and out, 835 remittances (billing/x12/ is the pure mapping; docs/x12.md) ----------------


class X12Partner(models.Model):
    """How the practice's 837P files are addressed: who submits, which clearinghouse receives, the billing
    provider's address, and the last control number used (ISA13 = GS06 = ST02, increasing per practice)."""

    USAGE = [("T", "Test"), ("P", "Production")]
    practice = models.OneToOneField("practice.Practice", on_delete=models.CASCADE, related_name="x12_partner")
    submitter_id = models.CharField(max_length=15, help_text="ISA06 / GS02 / 1000A NM109, as agreed with the receiver.")
    submitter_name = models.CharField(max_length=60)
    contact_name = models.CharField(max_length=60, blank=True)
    contact_phone = models.CharField(
        max_length=10, validators=[RegexValidator(r"^\d{10}$", "10 digits.")], help_text="10 digits (1000A PER04)."
    )
    sender_qualifier = models.CharField(max_length=2, default="ZZ")
    receiver_id = models.CharField(max_length=15, help_text="ISA08 / GS03 / 1000B NM109: the clearinghouse's id.")
    receiver_name = models.CharField(max_length=60)
    receiver_qualifier = models.CharField(max_length=2, default="ZZ")
    usage = models.CharField(max_length=1, choices=USAGE, default="T", help_text="ISA15")
    billing_address = models.CharField(max_length=55, help_text="2010AA N301: a street address, not a PO box.")
    billing_city = models.CharField(max_length=30)
    billing_state = models.CharField(max_length=2, validators=[RegexValidator(r"^[A-Z]{2}$", "Two capital letters.")])
    billing_zip = models.CharField(
        max_length=9, validators=[RegexValidator(r"^\d{9}$", "9 digits.")], help_text="9 digits (2010AA N403)."
    )
    taxonomy_code = models.CharField(max_length=10, blank=True, help_text="2000A PRV03 (empty: no PRV).")
    last_control_number = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = "X12 partner settings"
        verbose_name_plural = "X12 partner settings"

    def __str__(self) -> str:
        return f"X12 {self.submitter_id} -> {self.receiver_id}"


class X12PayerId(models.Model):
    """The payer id a practice's clearinghouse uses for one of its payers (2010BB NM109, 835 N1*PR/REF*2U)."""

    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="x12_payer_ids")
    payer = models.ForeignKey("practice.Payer", on_delete=models.CASCADE, related_name="+")
    identifier = models.CharField("payer id", max_length=80)
    claim_filing_indicator = models.CharField(
        max_length=2,
        default="CI",
        help_text="SBR09 when the claim brings none: MB Medicare Part B, 16 MA, CI commercial.",
    )

    class Meta:
        verbose_name = "X12 payer id"
        constraints = [
            models.UniqueConstraint(fields=["practice", "identifier"], name="x12_payer_id_unique"),
            models.UniqueConstraint(fields=["practice", "payer"], name="x12_payer_once"),
        ]

    def __str__(self) -> str:
        return f"{self.identifier} = {self.payer_id and self.payer.key}"


class ClaimX12(models.Model):
    """What a claim needs to go out as an 837P beyond the claim format: frequency, the payer's claim number
    for a replacement or void, and the subscriber/patient loops as received (patient data: never logged)."""

    FREQUENCIES = [("1", "Original"), ("7", "Replacement"), ("8", "Void")]
    claim = models.OneToOneField(DraftClaim, on_delete=models.CASCADE, related_name="x12")
    frequency = models.CharField(max_length=1, choices=FREQUENCIES, default="1")
    payer_claim_number = models.CharField(
        max_length=50, blank=True, help_text="REF*F8: the payer's claim control number (CLP07) of the original."
    )
    data = models.JSONField(default=dict, blank=True)
    source_name = models.CharField(max_length=255, blank=True)
    exported_control_number = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"X12 data of claim {self.claim_id}"


class X12Export(models.Model):
    """One 837P interchange written: its control number (unique, increasing per practice) and claims."""

    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="x12_exports")
    control_number = models.PositiveIntegerField()
    claim_refs = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-control_number"]
        constraints = [models.UniqueConstraint(fields=["practice", "control_number"], name="x12_export_control_unique")]

    def __str__(self) -> str:
        return f"837P {self.control_number:09d}"


class Remittance(models.Model):
    """One 835 transaction set posted: the payer and the trace (TRN) make it unique, so it posts once."""

    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="remittances")
    payer = models.ForeignKey("practice.Payer", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    payer_identifier = models.CharField(max_length=80, help_text="TRN03 (else the 1000A payer id).")
    trace_number = models.CharField(max_length=50, help_text="TRN02: check or EFT trace number.")
    paid_total = models.DecimalField(max_digits=12, decimal_places=2)
    paid_on = models.DateField(null=True, blank=True)
    payments = models.PositiveIntegerField(default=0)
    source_name = models.CharField(max_length=255, blank=True)
    posted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-posted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "payer_identifier", "trace_number"], name="remittance_payer_trace_unique"
            )
        ]

    def __str__(self) -> str:
        return f"835 {self.trace_number} ({self.paid_total})"


class ClaimPayment(models.Model):
    """One claim payment (CLP) of a remittance; ``claim`` empty when no claim of the practice has CLP01
    (the exception list)."""

    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="claim_payments")
    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="+")
    claim = models.ForeignKey(DraftClaim, null=True, blank=True, on_delete=models.SET_NULL, related_name="payments")
    claim_ref = models.CharField(max_length=40, db_index=True)
    payer_key = models.CharField(max_length=50, blank=True)
    status = models.CharField(max_length=2, help_text="CLP02: 1 primary, 2 secondary, 4 denied, 22 reversal...")
    charge = models.DecimalField(max_digits=12, decimal_places=2)
    paid = models.DecimalField(max_digits=12, decimal_places=2)
    patient_responsibility = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    payer_claim_number = models.CharField(max_length=50, blank=True, help_text="CLP07")
    date_of_service = models.DateField(null=True, blank=True)
    adjustments = models.JSONField(default=list, blank=True)
    remarks = models.JSONField(default=list, blank=True)
    lines = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["practice", "claim_ref"])]

    def __str__(self) -> str:
        return f"Payment {self.claim_ref}: {self.paid}"

    @property
    def matched(self) -> bool:
        return self.claim_id is not None


class AdjustmentCodeList(models.Model):
    """A version of the CARC or RARC list, loaded from fixtures/x12/ (public X12 code values; summaries are
    the project's own words)."""

    KINDS = [("carc", "Claim adjustment reason codes"), ("rarc", "Remittance advice remark codes")]
    kind = models.CharField(max_length=4, choices=KINDS)
    version = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "-loaded_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "version"], name="adjustment_list_version_unique")]

    def __str__(self) -> str:
        return f"{self.kind.upper()} {self.version}"


class AdjustmentCode(models.Model):
    code_list = models.ForeignKey(AdjustmentCodeList, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=6)
    summary = models.CharField(max_length=300, help_text="Our own words.")
    start = models.DateField(null=True, blank=True)
    stop = models.DateField(null=True, blank=True, help_text="Last day in use (empty: in use).")
    certainty = models.CharField(max_length=10, default="sure")

    class Meta:
        ordering = ["code_list", "code"]
        constraints = [models.UniqueConstraint(fields=["code_list", "code"], name="adjustment_code_unique")]

    def __str__(self) -> str:
        return f"{self.code}: {self.summary}"


class ProposedPayerRule(models.Model):
    """A payer rule proposed from denials no rule foresaw, with its evidence; a person accepts (writing a normal,
    audited practice rule version) or rejects it."""

    STATUSES = [("proposed", "Proposed"), ("accepted", "Accepted"), ("rejected", "Rejected")]
    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="+")
    payer = models.ForeignKey("practice.Payer", on_delete=models.CASCADE, related_name="+")
    code = models.CharField(max_length=5)
    kind = models.CharField(max_length=20)
    changes = models.JSONField(default=dict, help_text="The rule fields it sets.")
    meaning = models.CharField(max_length=200)
    evidence = models.JSONField(default=list, help_text="The denials: claim, date of service, CARC, RARC, amount.")
    status = models.CharField(max_length=10, choices=STATUSES, default="proposed", db_index=True)
    rule = models.ForeignKey("practice.PayerRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["status", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["practice", "payer", "code", "kind"],
                condition=models.Q(status="proposed"),
                name="proposed_rule_open_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.payer_id and self.payer.key} {self.code}: {self.meaning}"


class X12Upload(models.Model):
    """An 837P or 835 file uploaded in the admin and imported as a Celery job (results: one JSON object a line,
    as ``import_x12`` prints them)."""

    practice = models.ForeignKey("practice.Practice", on_delete=models.CASCADE, related_name="x12_uploads")
    file = models.FileField(upload_to="x12/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=3, blank=True, help_text="837 or 835 (ST01)")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    counts = models.JSONField(default=dict, blank=True)
    result_file = models.FileField(upload_to="x12-results/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Last sign of life of the job importing it.")
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process importing it.")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "X12 upload"

    def __str__(self) -> str:
        return f"X12 upload {self.original_name or self.pk} ({self.status})"
