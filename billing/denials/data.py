"""Posted 835 payments read for the denial report: each as ``PaymentFacts`` with the rules its claim's last
check found (a constant number of queries: payments, their claims' lines, the latest checks' findings)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from django.db.models import Max

from billing.denials.summary import PaymentFacts
from billing.models import ClaimCheck, ClaimLine, ClaimPayment, Finding

CHUNK = 2000


def payment_facts(practice, since: date | None = None, remittance=None) -> Iterator[PaymentFacts]:
    payments = ClaimPayment.objects.filter(practice=practice).order_by("id")
    if remittance is not None:
        payments = payments.filter(remittance=remittance)
    if since is not None:
        payments = payments.filter(date_of_service__gte=since)
    rows = list(
        payments.values_list(
            "id", "claim_id", "claim_ref", "payer_key", "date_of_service", "adjustments", "remarks", "lines"
        )
    )
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        claim_ids = {row[1] for row in chunk if row[1]}
        codes: dict[int, list[str]] = {}
        for claim_id, code in (
            ClaimLine.objects.filter(claim_id__in=claim_ids)
            .order_by("claim_id", "number")
            .values_list("claim_id", "code")
        ):
            codes.setdefault(claim_id, []).append(code)
        latest = dict(
            ClaimCheck.objects.filter(claim_id__in=claim_ids)
            .values("claim_id")
            .annotate(last=Max("id"))
            .values_list("claim_id", "last")
        )
        rules: dict[int, set[str]] = {}
        for check_id, rule in Finding.objects.filter(
            check_run_id__in=latest.values(), severity__in=["error", "warning"]
        ).values_list("check_run_id", "rule"):
            rules.setdefault(check_id, set()).add(rule)
        for _, claim_id, ref, payer, on, adjustments, remarks, lines in chunk:
            yield PaymentFacts(
                payer=payer,
                month=on.strftime("%Y-%m") if on else "",
                claim_ref=ref,
                claim_codes=codes.get(claim_id, []),
                adjustments=adjustments or [],
                remarks=list(remarks or []),
                lines=[
                    {
                        "code": line.get("code", ""),
                        "adjustments": line.get("adjustments", []),
                        "remarks": line.get("remarks", []),
                    }
                    for line in lines or []
                ],  # fmt: skip
                check_rules=rules.get(latest.get(claim_id), set()),
                date_of_service=on.isoformat() if on else "",
            )
