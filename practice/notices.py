"""Change notices: when a refresh puts a release in force (``codes.signals.release_activated``) that changes codes the
practice uses (its procedure profiles, its payer rules in force now or later, the setting WATCHED_CODES), a
``codes.models.ChangeNotice`` is written and the billing staff are emailed. Connected in ``PracticeConfig.ready``.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from codes import kinds
from codes.diff import Change, ReleaseDiff, diff_releases, previous_release
from codes.formats.base import normalise_code
from codes.models import ChangeNotice, RefreshRun, Release
from codes.signals import release_activated
from config.roles import BILLING_STAFF

log = logging.getLogger(__name__)


def watched_by_system() -> dict[str, set[str]]:
    """The practice's codes by system (as ``codes.selectors.lookup`` names them): every procedure profile's codes,
    and the codes, modifiers, diagnoses and places of service of the payer rules in force now or later. Upper case
    without dots; a trailing * is a prefix. The setting WATCHED_CODES adds codes of any system."""
    from practice.models import PayerRule, ProfileCode

    out: dict[str, set[str]] = {system: set() for system in kinds.SYSTEMS}
    for system, code in ProfileCode.objects.values_list("system", "code"):
        out.setdefault(system, set()).add(normalise_code(code))
    today = timezone.localdate()
    rules = PayerRule.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gte=today))
    fields = {"codes": "procedure", "required_modifiers": "modifier", "required_diagnoses": "icd10cm",
              "allowed_places_of_service": "pos"}  # fmt: skip
    for values in rules.values_list(*fields):
        for system, value in zip(fields.values(), values):
            out[system] |= _codes_in(value)
    extra = {normalise_code(c) for c in getattr(settings, "WATCHED_CODES", [])}
    for codes in out.values():
        codes |= extra
        codes.discard("")
    return out


def watched_codes(system: str | None = None) -> set[str]:
    """The codes whose changes the billing staff are told about (of one system, or of all)."""
    by_system = watched_by_system()
    if system is not None:
        return by_system.get(system, set())
    return set().union(*by_system.values())


def _codes_in(value) -> set[str]:
    """Codes in a payer-rule field: a list of codes, or of {"codes": [...]} entries."""
    out: set[str] = set()
    if isinstance(value, str):
        out.add(normalise_code(value))
    elif isinstance(value, dict):
        out |= _codes_in(value.get("codes") or value.get("code") or [])
    elif isinstance(value, list | tuple):
        for item in value:
            out |= _codes_in(item)
    return out


def _watched(code: str, watched: set[str]) -> bool:
    code = normalise_code(code)
    return code in watched or any(w.endswith("*") and code.startswith(w[:-1]) for w in watched)


def codes_touched(change: Change, watched: set[str], kind: str = "") -> list[str]:
    """The watched codes a change is about: every part of a PTP pair, the code (not the modifier) of a PFS row."""
    parts = change.key if isinstance(change.key, tuple) else (change.key,)
    if kind == kinds.PFS_RVU:
        parts = parts[:1]
    return [str(p) for p in parts if p and _watched(str(p), watched)]


def notify_changes(run: RefreshRun | None, release: Release, diff: ReleaseDiff | None) -> ChangeNotice | None:
    """A ChangeNotice and an email to the Billing staff group when the release changes a watched code.
    Once per run (a run taken over after a crash does not send it twice)."""
    if diff is None or not diff.changes:
        return None
    by_system = watched_by_system()
    kind = kinds.get(release.kind)
    watched = set().union(*(by_system[s] for s in kind.systems))
    if kind.in_database and watched:  # the shown diff may be cut short
        diff = diff_releases(previous_release(release), release, codes=sorted(watched))
    relevant = [(c, codes_touched(c, watched, release.kind)) for c in diff.changes]
    relevant = [(c, hit) for c, hit in relevant if hit]
    if not relevant:
        return None
    if run is not None and ChangeNotice.objects.filter(run=run).exists():
        return run.notice
    codes = sorted({code for _, hit in relevant for code in hit})
    lines = [f"- {c.describe()}" for c, _ in relevant]
    summary = (
        f"{release.label} ({kinds.label(release.kind)}), in force from {release.in_force_text}, changes codes the "
        f"practice uses: {', '.join(codes)}.\n" + "\n".join(lines)
    )
    notice = ChangeNotice.objects.create(
        run=run,
        release=release,
        kind=release.kind,
        codes=codes,
        changes=ReleaseDiff(diff.kind, diff.old_label, diff.new_label, [c for c, _ in relevant]).as_json(
            limit=len(relevant)
        )["changes"],
        summary=summary,
    )
    recipients = sorted(
        set(
            get_user_model()
            .objects.filter(groups__name=BILLING_STAFF, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if recipients:
        subject = f"Code change: {', '.join(codes[:6])}{'...' if len(codes) > 6 else ''} in {release.label}"
        body = summary + (f"\n\nRefresh run #{run.pk}." if run else "") + "\nThe admin has the full list of changes."
        try:
            send_mail(subject, body, None, recipients)
        except Exception:  # the notice row stands; the mail is a courtesy
            log.exception("change notice %s: the email could not be sent", notice.pk)
        else:
            ChangeNotice.objects.filter(pk=notice.pk).update(emailed_to=recipients)
            notice.emailed_to = recipients
    return notice


def on_release_activated(sender, *, release: Release, diff: ReleaseDiff | None, run=None, **kwargs) -> None:
    notify_changes(run, release, diff)


def connect() -> None:
    release_activated.connect(on_release_activated, dispatch_uid="practice.notices")
