"""Code-set releases and the rows that belong to them.

Every row belongs to a ``Release``: one loaded file set of one kind, in force from ``effective_from``
to ``effective_to`` (inclusive; open ended when empty). Rows that carry their own dates in the
source (HCPCS add/termination dates, NCCI effective/deletion dates) keep them. Rows are written only
by ``codes.loading`` with bulk paths (PostgreSQL COPY, SQLite executemany) and never edited.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.utils import timezone

from codes.kinds import KIND_LABELS
from codes.snapshot import ReleaseRef

KIND_CHOICES = [(k, label) for k, label in KIND_LABELS.items()]


class ReleaseQuerySet(models.QuerySet):
    def covering(self, on: date):
        """The releases whose in-force dates include ``on`` (``effective_to`` is the last day; empty: open)."""
        return self.filter(effective_from__lte=on).exclude(effective_to__lt=on)

    def in_force(self, kind: str, on: date | None = None, *, or_latest: bool = True):
        """The loaded release of ``kind`` in force on ``on`` (default today): of those covering the day, the one that
        took effect last (contract, "Dates"). None covering it: the latest loaded one (``or_latest``), else None."""
        on = on or timezone.localdate()
        loaded = self.filter(kind=kind, status=Release.Status.LOADED)
        order = ("-effective_from", "-id")
        found = loaded.covering(on).order_by(*order).first()
        if found is None and or_latest:
            found = loaded.order_by(*order).first()
        return found


class Release(models.Model):
    class Status(models.TextChoices):
        LOADING = "loading", "Loading"
        LOADED = "loaded", "Loaded (answers for its dates)"
        HELD = "held", "Held for review (not used)"
        SUPERSEDED = "superseded", "Superseded (not used)"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=32, choices=KIND_CHOICES, db_index=True)
    label = models.CharField(max_length=200)
    effective_from = models.DateField()
    effective_to = models.DateField(null=True, blank=True, help_text="Last day in force; empty: open ended.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LOADING, db_index=True)
    sources = models.JSONField(default=list, blank=True, help_text="Files: name, size, sha256.")
    sha256 = models.CharField(max_length=64, db_index=True, help_text="Checksum of the file set.")
    row_count = models.PositiveIntegerField(default=0)
    loaded_at = models.DateTimeField(auto_now_add=True)
    loaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    held_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-effective_from", "-id"]
        indexes = [models.Index(fields=["kind", "status", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.label} ({self.in_force_text})"

    @property
    def in_force_text(self) -> str:
        end = self.effective_to.isoformat() if self.effective_to else "open"
        return f"{self.effective_from.isoformat()} to {end}"

    def ref(self) -> ReleaseRef:
        return ReleaseRef(self.id, self.kind, self.label, self.effective_from, self.effective_to, self.sha256)


# What the admin and the API show of a release (besides its id, user and links).
RELEASE_FACTS = ("kind", "label", "effective_from", "effective_to", "status", "sources", "sha256", "row_count",
                 "loaded_at")  # fmt: skip


class _ReleaseRow(models.Model):
    # Rows are written only by the bulk loader, in the same transaction as their release, so the database
    # keeps no foreign-key trigger (on two million NCCI rows its per-row deferred checks cost more than the
    # COPY itself) and no index of its own on release_id (each table's unique key or index starts with it).
    release = models.ForeignKey(
        Release, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )

    class Meta:
        abstract = True


class IcdCode(_ReleaseRow):
    code = models.CharField(max_length=7)
    billable = models.BooleanField()
    description = models.TextField()
    short_description = models.CharField(max_length=60, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="icd_release_code")]
        verbose_name = "ICD-10-CM code"


class HcpcsCode(_ReleaseRow):
    code = models.CharField(max_length=5)
    is_modifier = models.BooleanField(default=False)
    long_description = models.TextField()
    short_description = models.CharField(max_length=40, blank=True)
    pricing_indicators = models.CharField(max_length=16, blank=True)  # space separated
    multiple_pricing = models.CharField(max_length=1, blank=True)
    coverage = models.CharField(max_length=1, blank=True)
    asc_group = models.CharField(max_length=2, blank=True)
    asc_date = models.DateField(null=True, blank=True)
    proc_note = models.CharField(max_length=4, blank=True)
    betos = models.CharField(max_length=3, blank=True)
    type_of_service = models.CharField(max_length=10, blank=True)  # space separated
    xrefs = models.CharField(max_length=30, blank=True)  # space separated
    added = models.DateField(null=True, blank=True)
    action_effective = models.DateField(null=True, blank=True)
    terminated = models.DateField(null=True, blank=True)
    action_code = models.CharField(max_length=1, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="hcpcs_release_code")]
        verbose_name = "HCPCS Level II code"


class CptDescriptor(_ReleaseRow):
    """A licensed AMA descriptor, imported by a practice that holds the licence. Never shipped."""

    code = models.CharField(max_length=5)
    description = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="cpt_release_code")]
        verbose_name = "CPT descriptor (licensed)"


class ProcedureSummary(_ReleaseRow):
    """A procedure code from the project's fixtures with our own plain-language summary (not AMA text)."""

    code = models.CharField(max_length=5)
    code_system = models.CharField(max_length=5)
    summary = models.TextField()
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    replacement = models.CharField(max_length=5, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="procsum_release_code")]
        verbose_name_plural = "procedure summaries"


class ModifierCode(_ReleaseRow):
    code = models.CharField(max_length=2)
    code_system = models.CharField(max_length=5)
    description = models.TextField()
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)
    ncci_associated = models.BooleanField(default=False)
    anatomic = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="modifier_release_code")]


class PlaceOfService(_ReleaseRow):
    code = models.CharField(max_length=2)
    name = models.CharField(max_length=200)
    facility = models.BooleanField()
    effective_from = models.DateField(null=True, blank=True)
    effective_to = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="pos_release_code")]
        verbose_name_plural = "places of service"


_RVU = {"max_digits": 9, "decimal_places": 2, "null": True, "blank": True}


class RvuValue(_ReleaseRow):
    code = models.CharField(max_length=5)
    modifier = models.CharField(max_length=2, blank=True)
    description = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=1)
    work_rvu = models.DecimalField(**_RVU)
    pe_nonfacility_rvu = models.DecimalField(**_RVU)
    pe_nonfacility_na = models.BooleanField(default=False)
    pe_facility_rvu = models.DecimalField(**_RVU)
    pe_facility_na = models.BooleanField(default=False)
    mp_rvu = models.DecimalField(**_RVU)
    total_nonfacility = models.DecimalField(**_RVU)
    total_facility = models.DecimalField(**_RVU)
    pctc_indicator = models.CharField(max_length=1, blank=True)
    global_days = models.CharField(max_length=3, blank=True)
    mult_proc = models.CharField(max_length=1, blank=True)
    bilat_surg = models.CharField(max_length=1, blank=True)
    asst_surg = models.CharField(max_length=1, blank=True)
    co_surg = models.CharField(max_length=1, blank=True)
    team_surg = models.CharField(max_length=1, blank=True)
    conversion_factor = models.DecimalField(max_digits=9, decimal_places=4, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code", "modifier"], name="rvu_release_code_mod")]
        verbose_name = "PFS RVU row"


_GPCI = {"max_digits": 6, "decimal_places": 3}


class Gpci(_ReleaseRow):
    mac = models.CharField(max_length=5)
    state = models.CharField(max_length=40)
    locality = models.CharField(max_length=2)
    name = models.CharField(max_length=200)
    work = models.DecimalField(**_GPCI)
    pe = models.DecimalField(**_GPCI)
    mp = models.DecimalField(**_GPCI)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "mac", "locality"], name="gpci_release_loc")]
        verbose_name = "GPCI"


class Locality(_ReleaseRow):
    mac = models.CharField(max_length=5)
    locality = models.CharField(max_length=2)
    state = models.CharField(max_length=40)
    area = models.CharField(max_length=200)
    counties = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "localities"
        indexes = [models.Index(fields=["release", "mac", "locality"])]


class ZipLocality(_ReleaseRow):
    """A ZIP code's Medicare carrier (MAC contractor number), pricing locality and state (CMS ZIP5 file)."""

    zip_code = models.CharField(max_length=5)
    state = models.CharField(max_length=2)
    carrier = models.CharField(max_length=5)
    locality = models.CharField(max_length=2)
    rural = models.CharField(max_length=1, blank=True)
    plus_four = models.BooleanField(default=False)
    year_quarter = models.CharField(max_length=5)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "zip_code"], name="zip_release_zip")]
        verbose_name = "ZIP code locality"
        verbose_name_plural = "ZIP code localities"


class AddonEdit(_ReleaseRow):
    """An NCCI add-on code edit: the add-on code, one of its primary codes (empty for type 2), the type and
    the rows' own dates."""

    addon = models.CharField(max_length=5)
    primary = models.CharField(max_length=5, blank=True)
    edit_type = models.PositiveSmallIntegerField()
    addon_effective = models.DateField()
    addon_deleted = models.DateField(null=True, blank=True)
    primary_effective = models.DateField(null=True, blank=True)
    primary_deleted = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["release", "addon"], name="aoc_release_addon")]
        verbose_name = "NCCI add-on code edit"


class PtpEdit(_ReleaseRow):
    """An NCCI procedure-to-procedure edit (practitioner or hospital by the release's kind).

    Its primary key is the edit's key within a release, ``(release, column1, column2, effective)`` (a pair can
    come back with a new effective date; the parser refuses a repeated key), and the table has no other index:
    the key serves the pair look-ups, and a bulk load of millions of rows maintains one index, not two (issue 18).
    """

    pk = models.CompositePrimaryKey("release", "column1", "column2", "effective")
    column1 = models.CharField(max_length=5)
    column2 = models.CharField(max_length=5)
    prior_1996 = models.BooleanField(default=False)
    effective = models.DateField()
    deleted = models.DateField(null=True, blank=True)
    modifier_indicator = models.CharField(max_length=1)
    rationale = models.CharField(max_length=120, blank=True)

    class Meta:
        verbose_name = "NCCI PTP edit"


class MueValue(_ReleaseRow):
    code = models.CharField(max_length=5)
    value = models.PositiveIntegerField()
    adjudication_indicator = models.PositiveSmallIntegerField()
    rationale = models.CharField(max_length=120, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="mue_release_code")]
        verbose_name = "MUE value"


_MONEY = {"max_digits": 12, "decimal_places": 3, "null": True, "blank": True}


class OppsRate(_ReleaseRow):
    code = models.CharField(max_length=5)
    short_description = models.CharField(max_length=60, blank=True)
    status_indicator = models.CharField(max_length=2, blank=True)
    apc = models.CharField(max_length=5, blank=True)
    relative_weight = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    payment_rate = models.DecimalField(**_MONEY)
    national_copayment = models.DecimalField(**_MONEY)
    minimum_copayment = models.DecimalField(**_MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="opps_release_code")]
        verbose_name = "OPPS Addendum B row"


class AscRate(_ReleaseRow):
    code = models.CharField(max_length=5)
    short_description = models.CharField(max_length=60, blank=True)
    multiple_procedure_discount = models.BooleanField(default=False)
    comment_indicator = models.CharField(max_length=3, blank=True)
    payment_indicator = models.CharField(max_length=2, blank=True)
    payment_weight = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    payment_rate = models.DecimalField(**_MONEY)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "code"], name="asc_release_code")]
        verbose_name = "ASC Addendum AA row"


# --- Scheduled refreshes of the code sets (codes.refresh, codes.tasks) ------------------------------------------


def validate_source_url(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not value.lower().startswith(("https://", "http://", "file://")):
        raise ValidationError("Give an https://, http:// or file:// address.")
    if value.lower().startswith("file://"):
        from codes.refresh.download import Refused, local_path

        try:
            local_path(value)
        except Refused as exc:
            raise ValidationError(str(exc)) from None


class Source(models.Model):
    """Where a kind of code set is fetched from, and when. The address may hold placeholders for the quarter
    being fetched ({year}, {ncci}, {month_name}...; see ``codes.refresh.sources.expand_url``)."""

    class Dates(models.TextChoices):
        FROM_FILE = "file", "From the file or its name"
        FIXED = "fixed", "The fixed dates below"

    class Schedule(models.TextChoices):
        DEFAULT = "", "The usual one for its kind"
        QUARTERLY = "quarterly", "Quarterly (January, April, July, October)"
        APRIL_OCTOBER = "april-october", "April and October (ICD-10-CM)"
        YEARLY = "yearly", "Yearly (January)"
        MANUAL = "manual", "Only when asked"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    url = models.CharField(
        "address",
        max_length=1000,
        validators=[validate_source_url],
        help_text="https://, http:// or file://. Placeholders for the quarter fetched: "
        "{year} {yy} {quarter} {q0} {ncci} {month} {month_name} {mon}.",
    )
    member = models.CharField(
        "zip member",
        max_length=200,
        blank=True,
        help_text="When the file is a zip: which member(s) to load, a pattern such as ccipra-v*-f?.TXT "
        "(case ignored; several matches load as one file set). Empty: the usual one for the kind.",
    )
    dates = models.CharField("in-force dates", max_length=8, choices=Dates.choices, default=Dates.FROM_FILE)
    effective_from = models.DateField(null=True, blank=True, help_text="With fixed dates: the first day in force.")
    effective_to = models.DateField(null=True, blank=True, help_text="With fixed dates: the last day (or empty).")
    schedule = models.CharField(max_length=16, choices=Schedule.choices, blank=True, default=Schedule.DEFAULT)
    enabled = models.BooleanField(default=True)
    max_row_drop = models.FloatField(
        "largest row drop",
        null=True,
        blank=True,
        help_text="Hold a release for review when it has this share fewer rows than the one in force "
        "(0.2 = 20%). Empty: the setting REFRESH_MAX_ROW_DROP.",
    )
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.dates == self.Dates.FIXED and not self.effective_from:
            raise ValidationError({"effective_from": "Fixed dates need at least the first day in force."})
        if self.effective_to and self.effective_from and self.effective_to < self.effective_from:
            raise ValidationError({"effective_to": "The last day is before the first day."})


class RefreshRun(models.Model):
    """One refresh of one kind from one address: download, checksum, load (held), checks, switch in force."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        LOADED = "loaded", "Loaded and in force"
        UNCHANGED = "unchanged", "Unchanged (already loaded)"
        HELD = "held", "Held for review"
        FAILED = "failed", "Failed"

    FINISHED = (Status.LOADED, Status.UNCHANGED, Status.HELD, Status.FAILED)

    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    kind = models.CharField(max_length=32, choices=KIND_CHOICES, db_index=True)
    url = models.CharField("address", max_length=1000)
    member = models.CharField("zip member", max_length=200, blank=True)
    trigger = models.CharField(max_length=20, default="command", help_text="schedule, command or admin")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    timings = models.JSONField(default=dict, blank=True, help_text="Seconds per step.")
    bytes = models.BigIntegerField(null=True, blank=True, help_text="Bytes downloaded.")
    files = models.JSONField(default=list, blank=True, help_text="Files loaded: name, size, sha256.")
    rows = models.PositiveIntegerField(null=True, blank=True)
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    error = models.TextField(blank=True)
    note = models.TextField(blank=True)
    step = models.CharField(max_length=20, blank=True)
    percent = models.PositiveSmallIntegerField(null=True, blank=True)
    progress_note = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the process running it.")
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=50, blank=True)
    diff = models.JSONField(null=True, blank=True, help_text="What changed against the previous release.")

    class Meta:
        ordering = ["-queued_at", "-id"]
        constraints = [
            # The lock: at most one running refresh per kind (a partial unique index, PostgreSQL and SQLite).
            models.UniqueConstraint(
                fields=["kind"], condition=models.Q(status="running"), name="refresh_one_running_per_kind"
            )
        ]

    def __str__(self) -> str:
        return f"Refresh #{self.pk} {self.kind} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    def as_json(self) -> dict:
        """The line ``refresh_codesets --wait`` prints (contract)."""
        return {
            "kind": self.kind,
            "status": self.status,
            "release": self.release.label if self.release_id and self.status != self.Status.FAILED else None,
            "error": self.error or None,
        }


class ChangeNotice(models.Model):
    """A release in force changed codes the practice uses (procedure profiles, payer rules)."""

    run = models.OneToOneField(RefreshRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="notice")
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="notices")
    kind = models.CharField(max_length=32, choices=KIND_CHOICES)
    codes = models.JSONField(default=list, help_text="The practice's codes that changed.")
    changes = models.JSONField(default=list, help_text="The changes to those codes, as in the release diff.")
    summary = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_to = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.release.label}: {', '.join(self.codes)}"
