"""Claims out as an 837P: the practice's ready claims (or the named ones) through the pure writer.

The control number is taken under a row lock on the practice's ``X12Partner`` in the same transaction that
records the ``X12Export``: two exports at once get two different, increasing numbers, and a failed export
uses none. The file is written beside its target and renamed into place, so a reader never sees half of it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from billing.claims.checks import draft_payload
from billing.models import ClaimPayment, ClaimStatus, ClaimX12, DraftClaim, X12Export, X12Partner, X12PayerId
from billing.x12.writer837 import BillingProvider, ExportClaim, ExportError, Partner, write_837

SEGMENT_END = "~\n"
log = logging.getLogger(__name__)


def export_claims(practice, refs: list[str] | None = None) -> list[DraftClaim]:
    claims = DraftClaim.objects.filter(practice=practice).select_related("payer", "x12").prefetch_related("lines")
    if refs:
        claims = list(claims.filter(reference__in=refs).order_by("id"))
        latest = {claim.reference: claim for claim in claims}  # a reference used twice: the latest claim
        unknown = sorted(set(refs) - set(latest))
        if unknown:
            raise ExportError(f"no claim of the practice with reference {', '.join(unknown)}")
        return [latest[ref] for ref in refs]
    return list(claims.filter(status=ClaimStatus.READY).order_by("id"))


def export_837(practice, output: str | Path, refs: list[str] | None = None) -> dict:
    """Write the claims as one 837P interchange to ``output``; returns ``{"control_number", "claims"}``."""
    try:
        partner_row = practice.x12_partner
    except X12Partner.DoesNotExist:
        raise ExportError(f"practice {practice.key}: no X12 partner settings (submitter and receiver ids)") from None
    claims = export_claims(practice, refs)
    if not claims:
        raise ExportError(f"practice {practice.key}: no claim ready to send")
    payer_ids = {row.payer_id: row for row in X12PayerId.objects.filter(practice=practice)}
    providers = {p.npi: p for p in practice.providers.all()}
    items = [_export_claim(claim, payer_ids, providers) for claim in claims]
    provider = BillingProvider(
        name=practice.name,
        npi=practice.npi,
        tax_id=practice.tax_id,
        address=partner_row.billing_address,
        city=partner_row.billing_city,
        state=partner_row.billing_state,
        zip=partner_row.billing_zip,
        taxonomy=partner_row.taxonomy_code,
    )
    if not practice.tax_id:
        raise ExportError(f"practice {practice.key}: no tax id (2010AA REF*EI)")
    output = Path(output)
    with transaction.atomic():
        locked = X12Partner.objects.select_for_update().get(pk=partner_row.pk)
        control = locked.last_control_number + 1
        partner = Partner(
            submitter_id=locked.submitter_id,
            submitter_name=locked.submitter_name,
            contact_name=locked.contact_name,
            contact_phone=locked.contact_phone,
            receiver_id=locked.receiver_id,
            receiver_name=locked.receiver_name,
            sender_qualifier=locked.sender_qualifier,
            receiver_qualifier=locked.receiver_qualifier,
            usage=locked.usage,
        )
        segments = write_837(partner, provider, items, control, timezone.localtime())
        fd, temp = tempfile.mkstemp(prefix=".837-", dir=output.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="latin-1", newline="") as fh:
                for segment in segments:
                    fh.write(segment + SEGMENT_END)
            locked.last_control_number = control
            locked.save(update_fields=["last_control_number"])
            X12Export.objects.create(
                practice=practice, control_number=control, claim_refs=[c.reference for c in claims]
            )
            ClaimX12.objects.filter(claim__in=claims).update(exported_control_number=control)
            os.replace(temp, output)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    log.info("837P %09d written for practice %s: %d claims", control, practice.key, len(claims))
    return {"control_number": control, "claims": [c.reference for c in claims]}


def _export_claim(claim: DraftClaim, payer_ids: dict, providers: dict) -> ExportClaim:
    try:
        extra = claim.x12
    except ClaimX12.DoesNotExist:
        extra = ClaimX12(claim=claim)
    data = extra.data or {}
    payer = payer_ids.get(claim.payer_id)
    rendering = None
    if claim.rendering_npi:
        provider = providers.get(claim.rendering_npi)
        if provider is not None:
            last, _, first = provider.name.partition(",")
            rendering = {"last": last, "first": first.split()[0] if first.split() else "", "npi": provider.npi,
                         "taxonomy": provider.taxonomy_code}  # fmt: skip
        else:
            sent = next((p for p in data.get("claim_providers", []) if p.get("entity") == "82"), None)
            if sent:
                rendering = {"last": sent.get("last"), "first": sent.get("first"), "npi": claim.rendering_npi}
    return ExportClaim(
        reference=claim.reference or str(claim.pk),
        payload=draft_payload(claim),
        payer_name=claim.payer.name,
        payer_id=payer.identifier if payer else "",
        filing_indicator=payer.claim_filing_indicator if payer else "CI",
        frequency=extra.frequency,
        payer_claim_number=extra.payer_claim_number,
        subscriber=data.get("subscriber") or {},
        patient=data.get("patient"),
        line_controls=list(data.get("line_controls") or []),
        rendering=rendering,
    )


def mark_corrected(extra: ClaimX12, frequency: str) -> ClaimX12:
    """Make the claim a replacement (7) or void (8) of what the payer processed: REF*F8 is the payer's claim
    control number (CLP07) from the claim's latest posted payment. Raises ValueError when none was posted."""
    if frequency not in ("7", "8"):
        raise ValueError("frequency 7 (replacement) or 8 (void)")
    latest = ClaimPayment.objects.filter(claim_id=extra.claim_id).exclude(payer_claim_number="").order_by("-id").first()
    if latest is None:
        raise ValueError(f"{extra.claim}: no posted 835 gives the payer's claim number (REF*F8) yet")
    extra.frequency, extra.payer_claim_number = frequency, latest.payer_claim_number
    extra.save(update_fields=["frequency", "payer_claim_number"])
    return extra
