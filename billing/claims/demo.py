"""Demo draft claims, so a newcomer can log in as `billing` and check a claim straight away."""

from datetime import date

from billing.models import ClaimLine, DraftClaim
from practice.models import Payer


def create_demo_claims(practice) -> list[DraftClaim]:
    """Two mild® claims for Medicare: one complete, one missing modifier Q0 and Z00.6. Idempotent by reference."""
    medicare = Payer.objects.get(key="medicare")
    claims = []
    for reference, modifiers, diagnoses in (
        ("DEMO-0001", ["Q0"], ["M48.062", "Z00.6"]),
        ("DEMO-0002", [], ["M48.062"]),
    ):
        claim, created = DraftClaim.objects.get_or_create(
            practice=practice,
            reference=reference,
            defaults={
                "payer": medicare,
                "place_of_service": "24",
                "date_of_service": date(2026, 5, 4),
                "submitted_on": date(2026, 5, 11),
                "rendering_npi": "1234567893",
                "diagnoses": diagnoses,
                "clinical_trial_number": "NCT03072927",
            },
        )
        if created:
            ClaimLine.objects.create(
                claim=claim,
                number=1,
                code="0275T",
                modifiers=modifiers,
                units=1,
                diagnosis_pointers=list(range(1, len(diagnoses) + 1)),
                charge="9500.00",
            )
        claims.append(claim)
    return claims
