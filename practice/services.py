"""Writing payer rules: every save goes through here (the admin, the default-data loader, scripts).

Each write locks the rule's series, validates the version against its siblings (no overlapping dates) and the
loaded code sets, and records who did it and why in the rule's history. A new version never edits an old one
away: ``new_version_from`` closes the version in force the day before the new start and copies it.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from practice.codecheck import check_rule_codes
from practice.models import PayerRule


def _lock_series(rule: PayerRule) -> list[PayerRule]:
    """Lock every version of the rule's series (PostgreSQL: row locks; SQLite serialises writers anyway)."""
    return list(PayerRule.objects.series_of(rule.payer_id, rule.key, rule.practice_id).select_for_update())


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"change_reason": "Say why (the policy change, the correction): it goes in the history."})
    return reason


def _save(rule: PayerRule, user, reason: str) -> PayerRule:
    rule.full_clean()
    rule._change_reason = reason
    if user is not None and getattr(user, "is_authenticated", False):
        rule._history_user = user
    rule.save()
    return rule


@transaction.atomic
def save_rule(rule: PayerRule, *, reason: str, user=None) -> PayerRule:
    """Validate and save one version (new or changed), with the reason in its history."""
    reason = _require_reason(reason)
    _lock_series(rule)
    if rule.pk is None and not rule.version:
        rule.version = _next_version(rule)
    return _save(rule, user, reason)


def _next_version(rule: PayerRule) -> int:
    top = PayerRule.objects.series_of(rule.payer_id, rule.key, rule.practice_id).aggregate(top=Max("version"))["top"]
    return (top or 0) + 1


@transaction.atomic
def new_version_from(rule: PayerRule, start: date, *, reason: str, user=None) -> PayerRule:
    """Close ``rule`` on the day before ``start`` and create a copy in force from ``start`` (to the old version's
    last day, if it had one) for editing. The old version's rule fields stay as they were; both writes are in
    its history with ``reason``. Refused (ValidationError on ``start``) unless ``start`` falls after the version's
    first day and within its span."""
    reason = _require_reason(reason)
    _lock_series(rule)
    current = PayerRule.objects.get(pk=rule.pk)
    if start <= current.effective_from:
        raise ValidationError(
            {"start": f"A new version must start after this version's first day ({current.effective_from})."}
        )
    if current.effective_to is not None and start > current.effective_to:
        raise ValidationError(
            {"start": f"This version ends on {current.effective_to}: start the new version from a later version."}
        )
    copy = PayerRule.objects.get(pk=rule.pk)
    copy.pk = None
    copy.id = None
    copy._state.adding = True
    copy.version = _next_version(current)
    copy.effective_from = start
    copy.effective_to = current.effective_to

    current.effective_to = start - timedelta(days=1)
    _save(current, user, f"Closed on {current.effective_to}: replaced by version {copy.version} from {start}. {reason}")
    return _save(copy, user, f"Version {copy.version} from {start}, copied from version {current.version}. {reason}")


def recheck_rule_codes() -> int:
    """Check every rule version's codes again against the code sets loaded now (after a load or a refresh) and
    rewrite its ``code_check_notes``: what still cannot be checked, and what would now be refused. Nothing else
    changes and no history is written (the notes are not part of a version). Returns how many notes changed."""
    changed = 0
    for rule in PayerRule.objects.all():
        result = check_rule_codes(rule)
        notes = [f"Would now be refused: {m}" for messages in result.errors.values() for m in messages]
        text = "\n".join(notes + result.notes)
        if text != rule.code_check_notes:
            PayerRule.objects.filter(pk=rule.pk).update(code_check_notes=text)
            changed += 1
    return changed
