"""X12 files in: 837P claims become the practice's draft claims, checked; 835 remittances are posted.

The thin shell around the pure mapping in ``billing/x12/``: it reads the file once, streaming, checks the
envelope as segments go by, and stores in batches of ``BATCH`` claims (bulk inserts, one Checker for the
file, the NCCI pairs of a batch read with one query). The whole file is one transaction: a file that proves
not to be whole (no IEA, a count that does not match) stores nothing and raises ``X12FileError``; inside a
whole file each claim is stored or refused on its own. Results are plain dicts in the contract's shape.
Nothing here logs a patient's name or member id (they only go to ``ClaimX12.data``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date
from decimal import Decimal
from typing import TextIO

from django.db import connections, router, transaction
from django.utils import timezone

from billing.checking.claim import ClaimInputError
from billing.claims.checker import Checker
from billing.claims.checks import store_checks
from billing.denials.rule_proposals import refresh_proposals
from billing.models import ClaimLine, ClaimPayment, ClaimX12, DraftClaim, X12PayerId
from billing.models import Remittance as RemittanceRow
from billing.x12.claims837 import ClaimRecord, Place, claim_location, read_837
from billing.x12.envelope import Envelope, EnvelopeError
from billing.x12.remit835 import Payment, read_835
from billing.x12.remit835 import Remittance as Remittance835
from billing.x12.segments import NotX12Error, X12SyntaxError, iter_segments

BATCH = 500
log = logging.getLogger(__name__)


class X12FileError(ValueError):
    """The file is X12 but not a whole interchange: nothing was stored. The message names the segment."""


def transaction_type(stream: TextIO) -> str:
    """ST01 of the first transaction set (837, 835...); raises NotX12Error. Reads only up to that ST."""
    for _, seg in iter_segments(stream):
        if seg.id == "ST":
            return seg.get(1)
        if seg.number > 10:
            break
    raise X12FileError("no ST segment among the first segments: no transaction set")


def checked_segments(stream: TextIO) -> Iterator:
    """The stream's segments, the envelope checked on the way; raises X12FileError when it is not whole."""
    envelope = Envelope()
    last = 0
    try:
        for delimiters, seg in iter_segments(stream):
            envelope.see(seg)
            last = seg.number
            yield delimiters, seg
        envelope.finish(last)
    except (EnvelopeError, X12SyntaxError) as exc:
        raise X12FileError(str(exc)) from None


def payer_keys(practice) -> dict[str, str]:
    return {
        row.identifier: row.payer.key for row in X12PayerId.objects.filter(practice=practice).select_related("payer")
    }


def practice_places(practice) -> list[Place]:
    """The practice's locations as the 837P import matches them (ZIP+4 read as its first 5 digits)."""
    return [
        Place(location.key, location.name, (location.zip_code or "").strip()[:5], location.is_main)
        for location in practice.locations.order_by("id")
    ]


def import_837(stream: TextIO, practice, *, source_name: str = "", user=None) -> list[dict]:
    """Every claim of the 837P file as the contract's result object, in file order.

    Stored: one DraftClaim (with lines and its ClaimX12) and one check per claim that could be read.
    Raises NotX12Error (not X12 at all) or X12FileError (not whole: nothing stored).
    """
    checker = Checker.create()
    payers = {pp.payer.key: pp.payer for pp in practice.practice_payers.select_related("payer")}
    places = practice_places(practice)
    out: list[dict] = []
    with transaction.atomic():
        batch: list[ClaimRecord] = []
        for record in read_837(checked_segments(stream), payer_keys(practice)):
            claim_location(record, places)
            batch.append(record)
            if len(batch) >= BATCH:
                out.extend(_store_batch(batch, practice, payers, checker, source_name, user))
                batch = []
        out.extend(_store_batch(batch, practice, payers, checker, source_name, user))
    refused = sum(1 for r in out if "error" in r)
    log.info("837P imported for practice %s: %d claims stored, %d refused", practice.key, len(out) - refused, refused)
    return out


def _store_batch(records, practice, payers, checker: Checker, source_name: str, user) -> list[dict]:
    if not records:
        return []
    _refuse_known_claims(records, practice)
    checker.prefetch(r.payload for r in records if not r.errors)
    now = timezone.now()
    outcomes: list[dict] = []
    to_store: list[tuple[ClaimRecord, dict, DraftClaim]] = []
    for record in records:
        if record.errors:
            outcomes.append({"claim_ref": record.claim_ref, "error": "; ".join(record.errors)})
            continue
        try:
            result = checker.check(record.payload, practice.id)
        except ClaimInputError as exc:
            fields = "; ".join(f"{path}: {message}" for path, message in exc.errors.items())
            outcomes.append(
                {"claim_ref": record.claim_ref, "error": f"segment {record.segment} (CLM), loop 2300: {fields}"}
            )
            continue
        claim = _draft(record, practice, payers[record.payload["payer"]], result["status"], now, user)
        outcome = {"claim_ref": record.claim_ref, "status": result["status"], "findings": result["findings"]}
        outcomes.append(outcome)
        to_store.append((record, result, claim))
    if to_store:
        claims = [claim for _, _, claim in to_store]
        _insert_claims(claims)
        _insert_rows(
            ClaimLine,
            ("claim", "number", "code", "modifiers", "units", "diagnosis_pointers", "charge", "date_of_service"),
            (row for (record, _, _), claim in zip(to_store, claims) for row in _line_rows(record, claim)),
        )
        _insert_rows(
            ClaimX12,
            ("claim", "frequency", "payer_claim_number", "data", "source_name", "exported_control_number"),
            (
                (claim.pk, record.x12["frequency"], record.x12.get("payer_claim_number", "")[:50], record.x12,
                 source_name[:255], None)
                for (record, _, _), claim in zip(to_store, claims)
            ),
        )  # fmt: skip
        store_checks(
            practice.id,
            [result for _, result, _ in to_store],
            claims=claims,
            user=user,
            source="x12",
            payloads=[record.payload for record, _, _ in to_store],  # the patient's hash and services, if named
        )
        by_ref = iter(claims)
        for outcome in outcomes:
            if "status" in outcome and "draft_claim" not in outcome:
                outcome["draft_claim"] = next(by_ref).pk
    return outcomes


def _refuse_known_claims(records: list[ClaimRecord], practice) -> None:
    """An original claim (frequency 1) whose CLM01 is already a draft claim of the practice is refused: the
    same file imported twice stores nothing twice. A replacement or void (7, 8) is a new draft of its own."""
    refs = {r.claim_ref for r in records if not r.errors and r.x12["frequency"] == "1"}
    known = dict(DraftClaim.objects.filter(practice=practice, reference__in=refs).values_list("reference", "id"))
    seen: set[str] = set()
    for record in records:
        if record.errors or record.x12["frequency"] != "1":
            continue
        if record.claim_ref in known or record.claim_ref in seen:
            where = (
                f"draft claim {known[record.claim_ref]}"
                if record.claim_ref in known
                else "an earlier claim of the file"
            )
            record.errors.append(
                f"segment {record.segment} (CLM), loop 2300, element CLM01: {record.claim_ref} is already {where}; "
                "send a correction with frequency 7 (replacement) or 8 (void)"
            )
        seen.add(record.claim_ref)


def _draft(record: ClaimRecord, practice, payer, status: str, now, user) -> DraftClaim:
    p = record.payload
    return DraftClaim(
        practice=practice,
        reference=record.claim_ref,
        payer=payer,
        claim_type="professional",
        place_of_service=p["place_of_service"],
        date_of_service=p["date_of_service"],
        submitted_on=p["submitted_on"],
        rendering_npi=p["rendering_npi"] or "",
        diagnoses=p["diagnoses"],
        clinical_trial_number=p["clinical_trial_number"] or "",
        prior_authorization_number=p["prior_authorization_number"] or "",
        condition_codes=p["condition_codes"],
        location=p.get("location") or "",
        status=status,
        last_checked_at=now,
        created_by=user if getattr(user, "pk", None) else None,
    )


def _line_rows(record: ClaimRecord, claim: DraftClaim) -> Iterator[tuple]:
    for n, line in enumerate(record.payload["lines"], start=1):
        on = line.get("date_of_service")
        yield (
            claim.pk,
            n,
            line["code"].upper(),
            line["modifiers"],
            line["units"],
            line["diagnosis_pointers"],
            Decimal(line["charge"]) if line["charge"] is not None else None,
            date.fromisoformat(on) if on else None,
        )


def _insert_claims(claims: list[DraftClaim]) -> None:
    """Insert draft claims with multi-row INSERT ... RETURNING id (PostgreSQL, SQLite 3.35+), each getting its
    id as with ``bulk_create`` but without compiling SQL per row and field."""
    connection = connections[router.db_for_write(DraftClaim)]
    fields = [f for f in DraftClaim._meta.concrete_fields if not f.primary_key]  # every column, whatever is added
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    row = f"({', '.join(['%s'] * len(fields))})"
    size = max(1, min(500, (connection.features.max_query_params or 999) // len(fields)))
    with connection.cursor() as cursor:
        for start in range(0, len(claims), size):
            batch = claims[start : start + size]
            values = [f.get_db_prep_save(f.pre_save(claim, True), connection) for claim in batch for f in fields]
            cursor.execute(
                f"INSERT INTO {quote(DraftClaim._meta.db_table)} ({columns}) VALUES {', '.join([row] * len(batch))} "  # noqa: S608
                f"RETURNING {quote(DraftClaim._meta.pk.column)}",
                values,
            )
            ids = [pk for (pk,) in cursor.fetchall()]
            for claim, pk in zip(batch, sorted(ids)):  # ids of one statement increase in insertion order
                claim.pk = pk
                claim._state.adding, claim._state.db = False, connection.alias


def _insert_rows(model, names: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """One ``executemany`` of one INSERT for plain rows (no ids needed back): what ``bulk_create`` does without
    a model instance and compiled SQL per row, which was most of an import's time (as for findings in
    billing.claims.checks). Values go through each field's own ``get_db_prep_save`` (JSON, decimals, dates)."""
    connection = connections[router.db_for_write(model)]
    fields = [model._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"  # noqa: S608
    prepared = [tuple(f.get_db_prep_save(v, connection) for f, v in zip(fields, row)) for row in rows]
    if prepared:
        with connection.cursor() as cursor:
            cursor.executemany(sql, prepared)


__all__ = ["NotX12Error", "X12FileError", "import_835", "import_837", "transaction_type"]


# ---- 835 -------------------------------------------------------------------------------------------------


def import_835(stream: TextIO, practice, *, source_name: str = "", user=None) -> list[dict]:
    """Post every claim payment of the 835 file; one result per CLP, in file order.

    A remittance already posted (same payer identifier and TRN02 for the practice) posts nothing again: its
    lines are printed with ``"already_posted": true``. A payment whose CLP01 matches no claim of the practice
    is kept unmatched (the exception list). Raises NotX12Error / X12FileError (nothing stored).
    """
    out: list[dict] = []
    with transaction.atomic():
        current: RemittanceRow | None = None
        duplicate = False
        batch: list[Payment] = []
        posted: list[RemittanceRow] = []
        count = 0
        payer_by_id = {
            row.identifier: row.payer for row in X12PayerId.objects.filter(practice=practice).select_related("payer")
        }
        for item in read_835(checked_segments(stream)):
            if isinstance(item, Remittance835):
                out.extend(_post_batch(batch, current, practice, duplicate))
                count += len(batch)
                _close(current, count, duplicate)
                batch, count = [], 0
                if item.errors:
                    raise X12FileError("; ".join(item.errors))
                identifier = item.payer_identifier or item.payer_id
                current = RemittanceRow.objects.filter(
                    practice=practice, payer_identifier=identifier, trace_number=item.trace_number
                ).first()
                duplicate = current is not None
                if current is None:
                    current = RemittanceRow.objects.create(
                        practice=practice,
                        payer=payer_by_id.get(item.payer_id) or payer_by_id.get(identifier),
                        payer_identifier=identifier,
                        trace_number=item.trace_number,
                        paid_total=item.paid_total,
                        paid_on=item.paid_on,
                        source_name=source_name[:255],
                    )
                    posted.append(current)
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                out.extend(_post_batch(batch, current, practice, duplicate))
                count += len(batch)
                batch = []
        out.extend(_post_batch(batch, current, practice, duplicate))
        count += len(batch)
        _close(current, count, duplicate)
        for remittance in posted:
            refresh_proposals(practice, remittance)
    log.info(
        "835 posted for practice %s: %d remittance(s) new, %d claim payments read", practice.key, len(posted), len(out)
    )
    return out


PAYMENT_FIELDS = (
    "remittance", "practice", "claim", "claim_ref", "payer_key", "status", "charge", "paid", "patient_responsibility",
    "payer_claim_number", "date_of_service", "adjustments", "remarks", "lines",
)  # fmt: skip


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _close(remittance, count: int, duplicate: bool) -> None:
    if remittance is not None and not duplicate:
        RemittanceRow.objects.filter(pk=remittance.pk).update(payments=count)


def _post_batch(batch: list[Payment], remittance, practice, duplicate: bool) -> list[dict]:
    if not batch:
        return []
    refs = {p.claim_ref for p in batch}
    claims: dict[str, DraftClaim] = {}
    for claim in (
        DraftClaim.objects.filter(practice=practice, reference__in=refs).select_related("payer").order_by("id")
    ):
        claims[claim.reference] = claim  # the latest claim with the reference wins (a replacement comes later)
    out, rows = [], []
    for payment in batch:
        if payment.errors:
            out.append({"claim_ref": payment.claim_ref, "error": "; ".join(payment.errors)})
            continue
        claim = claims.get(payment.claim_ref)
        adjustments, remarks = payment.all_adjustments(), payment.all_remarks()
        result = {
            "claim_ref": payment.claim_ref,
            "matched": claim is not None,
            "status": payment.status,
            "paid": str(payment.paid),
            "adjustments": adjustments,
            "remarks": remarks,
        }
        if duplicate:
            result["already_posted"] = True
        out.append(result)
        if duplicate:
            continue
        rows.append(
            (
                remittance.pk,
                practice.pk,
                claim.pk if claim else None,
                payment.claim_ref[:40],
                claim.payer.key if claim else (remittance.payer.key if remittance.payer else ""),
                payment.status[:2],
                payment.charge,
                payment.paid,
                payment.patient_responsibility,
                payment.payer_claim_number[:50],
                _date(payment.date_of_service)
                or _date(next((line["date_of_service"] for line in payment.lines if line["date_of_service"]), None))
                or (claim.date_of_service if claim else None),
                payment.adjustments,
                remarks,
                payment.lines,
            )
        )
    _insert_rows(ClaimPayment, PAYMENT_FIELDS, rows)
    return out
