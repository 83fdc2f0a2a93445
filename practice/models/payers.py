"""Payers and the payers each practice bills."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from practice import policy
from practice.models.practices import Practice


class Payer(models.Model):
    key = models.SlugField(max_length=50, unique=True, help_text="The claim's payer key: medicare, commercial-bcbs")
    name = models.CharField(max_length=200)
    payer_type = models.CharField(max_length=30, choices=list(policy.PAYER_TYPES.items()))
    filing_limit_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days after the date of service a claim may be filed; empty when unknown."
    )
    filing_limit_note = models.CharField(
        max_length=300, blank=True, help_text="Where the filing limit comes from, or why it is unknown."
    )
    medicare_contractor = models.CharField(
        max_length=100, blank=True, help_text="The MAC, when the payer is one contractor (else see the location)."
    )
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def as_info(self) -> policy.PayerInfo:
        return policy.PayerInfo(
            key=self.key,
            name=self.name,
            payer_type=self.payer_type,
            filing_limit_days=self.filing_limit_days,
            medicare_contractor=self.medicare_contractor,
            filing_limit_note=self.filing_limit_note,
        )


class PracticePayer(models.Model):
    """A payer the practice bills."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="practice_payers")
    payer = models.ForeignKey(Payer, on_delete=models.PROTECT, related_name="practice_payers")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["practice", "payer"], name="practice_payer_unique")]

    def __str__(self) -> str:
        return f"{self.practice} bills {self.payer}"
