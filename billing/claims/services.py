"""Draft claims as services: create and update them (admin form and API alike), ready to send, notes and overrides
(billing.claims.readiness has the ready rule).

Checking a claim and keeping the check: billing.claims.checks; the shared Checker: billing.claims.checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from billing.claims import readiness
from billing.models import ClaimCheck, ClaimLine, ClaimNote, ClaimStatus, DraftClaim
from practice.models import PracticePayer

# ---- writing a draft claim (optimistic locking: every save bumps ``version``) -------------------------------------


class StaleClaimVersion(Exception):
    """A save over a version of the claim older than its current one: nothing of that save was kept."""

    message = "the claim was changed by someone else since you read it: reload it and make your change again"

    def __init__(self, current_version: int | None):
        super().__init__(self.message)
        self.current_version = current_version


def payer_not_billed(practice, payer) -> str | None:
    """Why a claim of ``practice`` may not name ``payer`` (the practice does not bill it); None when it may."""
    if PracticePayer.objects.filter(practice=practice, payer=payer).exists():
        return None
    return f"{practice.key} does not bill {payer.key}: use one of the practice's payers"


def ensure_version(claim_id: int, expected_version: int | None) -> None:
    """Raise StaleClaimVersion unless the claim is still at ``expected_version``. Inside a transaction this locks
    the row until it ends (PostgreSQL): a concurrent save waits, then sees the new version and is refused."""
    rows = DraftClaim.objects.filter(pk=claim_id)
    if transaction.get_connection(rows.db).in_atomic_block:
        rows = rows.select_for_update()
    current = rows.values_list("version", flat=True).first()
    if expected_version is None or current != expected_version:
        raise StaleClaimVersion(current)


def _replace_lines(claim: DraftClaim, lines: Iterable[dict]) -> None:
    claim.lines.all().delete()  # only this claim's lines: a line is always created on the claim being saved
    ClaimLine.objects.bulk_create([ClaimLine(claim=claim, **line) for line in lines])


@transaction.atomic
def draft_claim_create(*, claim: DraftClaim, lines: Iterable[dict] | None, user) -> DraftClaim:
    """Save a new draft claim (``claim``: unsaved, its fields set) at version 1, not checked, made by ``user``.
    ``lines``: its lines as field values; None when the caller saves them itself in the same transaction (the
    admin's inline)."""
    now = timezone.now()
    claim.created_by = user
    claim.status, claim.edited_at, claim.ready_at, claim.ready_by = ClaimStatus.DRAFT, now, None, None
    claim.save()
    if lines is not None:
        _replace_lines(claim, lines)
    return claim


@transaction.atomic
def draft_claim_update(
    *, claim: DraftClaim, data: dict, lines: Iterable[dict] | None, expected_version: int | None, edited: bool = True
) -> DraftClaim:
    """Save changes to a draft claim read at ``expected_version``: a compare-and-set, so of two saves over the same
    version exactly one wins (the row lock orders them) and the other raises StaleClaimVersion, leaving nothing.

    ``data``: the claim's field values to write; ``lines``: all its lines as field values (replacing the old ones),
    None to keep them (or when the caller saves them in the same transaction: the admin's inline). ``edited``: the
    claim itself changed (its fields or lines), so the verdict of its last check and any ready mark no longer hold;
    False for a change of who works it alone. ``claim`` is read again from the database."""
    now = timezone.now()
    changes = {**data, "version": F("version") + 1, "updated_at": now}
    if edited:
        changes.update(status=ClaimStatus.DRAFT, edited_at=now, ready_at=None, ready_by=None)
    if expected_version is None or not DraftClaim.objects.filter(pk=claim.pk, version=expected_version).update(
        **changes
    ):
        raise StaleClaimVersion(DraftClaim.objects.filter(pk=claim.pk).values_list("version", flat=True).first())
    if lines is not None:
        _replace_lines(claim, lines)
    claim.refresh_from_db()
    if hasattr(claim, "_prefetched_objects_cache"):
        claim._prefetched_objects_cache.clear()
    return claim


# ---- ready to send, notes and overrides ---------------------------------------------------------------------------


def latest_checks(claim_ids: Iterable[int]) -> dict[int, ClaimCheck]:
    """Each claim's latest check, in one query."""
    from django.db.models import Max

    claim_ids = list(claim_ids)
    last = (
        ClaimCheck.objects.filter(claim_id__in=claim_ids)
        .values("claim_id")
        .annotate(last=Max("id"))
        .values_list("last", flat=True)
    )
    return {c.claim_id: c for c in ClaimCheck.objects.filter(id__in=list(last))}


def overridden_rules(claims: Sequence[DraftClaim]) -> dict[int, set[str]]:
    """The findings overridden on each claim since its last edit (an edit asks for a new look)."""
    out: dict[int, set[str]] = {c.pk: set() for c in claims}
    edited = {c.pk: c.edited_at for c in claims}
    notes = ClaimNote.objects.filter(claim_id__in=list(out), kind=ClaimNote.Kind.OVERRIDE)
    for claim_id, rule, created_at in notes.values_list("claim_id", "rule", "created_at"):
        if edited[claim_id] is None or created_at >= edited[claim_id]:
            out[claim_id].add(rule)
    return out


def not_ready(claims: Sequence[DraftClaim]) -> dict[int, list[str]]:
    """claim id -> why it is not validated (empty list: it may be marked ready)."""
    checks = latest_checks(c.pk for c in claims)
    overrides = overridden_rules(claims)
    out = {}
    for claim in claims:
        check = checks.get(claim.pk)
        latest = readiness.LatestCheck(check.checked_at, tuple(check.result.get("findings", []))) if check else None
        out[claim.pk] = readiness.not_ready_reasons(latest, claim.edited_at, overrides[claim.pk])
    return out


@dataclass
class ReadyOutcome:
    marked: int = 0
    already: int = 0  # were ready before
    overridden: int = 0  # marked ready with the user's override reason
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> claims left as they were

    def message(self) -> str:
        text = f"{self.marked} claim(s) marked ready"
        if self.overridden:
            text += f" ({self.overridden} with your override reason, kept as a claim note)"
        if self.already:
            text += f"; {self.already} already ready"
        skipped = sum(self.skipped.values())
        if skipped:
            why = ", ".join(f"{n} {reason}" for reason, n in self.skipped.items())
            text += f"; {skipped} not marked ({why}): give an override reason to mark them anyway"
        return text + "."


def mark_ready(claims: Sequence[DraftClaim], *, user, reason: str = "") -> ReadyOutcome:
    """Mark validated claims ready; with a ``reason``, the others too, each keeping the reason as a claim note.
    Counts come from the claims as read, before any update (never a negative "skipped")."""
    reason = reason.strip()
    outcome = ReadyOutcome(skipped={})
    todo = [c for c in claims if c.status != ClaimStatus.READY]
    outcome.already = len(claims) - len(todo)
    problems = not_ready(todo)
    ok, forced = [], []
    for claim in todo:
        why = problems[claim.pk]
        if not why:
            ok.append(claim)
        elif reason:
            forced.append((claim, why))
        else:
            for r in why[:1]:
                outcome.skipped[r] = outcome.skipped.get(r, 0) + 1
    now = timezone.now()
    with transaction.atomic():
        ids = [c.pk for c in ok] + [c.pk for c, _ in forced]
        DraftClaim.objects.filter(pk__in=ids).update(status=ClaimStatus.READY, ready_at=now, ready_by=user)
        ClaimNote.objects.bulk_create(
            ClaimNote(
                claim=claim,
                kind=ClaimNote.Kind.READY_OVERRIDE,
                text=f"{reason} (not validated: {', '.join(why)})",
                author=user,
            )
            for claim, why in forced
        )
    outcome.marked, outcome.overridden = len(ids), len(forced)
    return outcome


def override_finding(claim: DraftClaim, rule: str, reason: str, *, user) -> ClaimNote:
    """Override one finding of the claim's latest check, with the reason kept as a claim note."""
    check = latest_checks([claim.pk]).get(claim.pk)
    return ClaimNote.objects.create(
        claim=claim, kind=ClaimNote.Kind.OVERRIDE, rule=rule, check_run=check, text=reason.strip(), author=user
    )


def overrides_of(claim: DraftClaim) -> dict[str, ClaimNote]:
    """rule -> the latest override note of that finding on the claim since its last edit."""
    notes = claim.notes.filter(kind=ClaimNote.Kind.OVERRIDE).select_related("author").order_by("created_at", "id")
    if claim.edited_at is not None:
        notes = notes.filter(created_at__gte=claim.edited_at)
    return {note.rule: note for note in notes}


def latest_notes(claim_ids: Sequence[int]) -> dict[int, ClaimNote]:
    """Each claim's latest note (two queries, whatever the number of claims)."""
    from django.db.models import Max

    last = ClaimNote.objects.filter(claim_id__in=list(claim_ids)).values("claim_id").annotate(last=Max("id"))
    ids = [row["last"] for row in last]
    return {n.claim_id: n for n in ClaimNote.objects.filter(id__in=ids).select_related("author")}
