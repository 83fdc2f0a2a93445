"""The claim checker: every rule over a claim, with the coding as of each of its dates.

``check_claim`` is pure: it asks ``snapshot_for`` for the coding in force on each date on the claim (once per
date) and ``rules_for`` for the payer's rule versions in force on each date, runs every rule in ``CATALOGUE``
and returns a ``CheckResult``. It does not catch the rules' exceptions: a rule that fails is a bug to fix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

from billing.checking.claim import Claim
from billing.checking.context import CheckContext
from billing.checking.findings import SEVERITY_RANK, CheckResult, Finding
from billing.checking.history import PastService
from billing.checking.rules import ALL_RULES, Rule
from codes.snapshot import ALL_KINDS, CodingSnapshot
from practice.policy import LocationInfo, PayerInfo, PayerRuleVersion

# Rule id -> rule class: every rule id a result may carry.
CATALOGUE: dict[str, type[Rule]] = {rule.id: rule for rule in ALL_RULES}
_RULES: tuple[Rule, ...] = tuple(rule() for rule in ALL_RULES)
_KIND_ORDER = {kind: i for i, kind in enumerate(ALL_KINDS)}


def check_claim(
    claim: Claim,
    snapshot_for: Callable[[date], CodingSnapshot],
    payer: PayerInfo | None,
    rules_for: Callable[[date], Sequence[PayerRuleVersion]],
    today: date,
    *,
    location: LocationInfo | None = None,
    history: Sequence[PastService] | None = None,
) -> CheckResult:
    """Check one claim.

    ``snapshot_for(d)``: the coding as of ``d``; ``payer``: the claim's payer, None when its key is unknown
    (PAYER_UNKNOWN, and no payer rules are asked for); ``rules_for(d)``: the payer's rule versions in force on
    ``d``; ``today``: the day of the check (the filing limit is counted to it when the claim has no
    ``submitted_on``); ``location``: where the service was done (scoped rules apply only there; None: unknown,
    so scoped rules do not apply); ``history``: the patient's earlier services (None: the claim names no
    patient, so frequency limits cannot be counted). Findings come worst first, claim-level before line-level,
    in catalogue order.
    """
    dates = claim.service_dates()
    snapshots = {on: snapshot_for(on) for on in dates}
    payer_rules = {on: tuple(rules_for(on)) if payer is not None else () for on in dates}
    ctx = CheckContext(
        claim=claim,
        payer=payer,
        today=today,
        snapshots=snapshots,
        payer_rules=payer_rules,
        location=location,
        history=tuple(history) if history is not None else None,
    )

    findings: list[Finding] = []
    for rule in _RULES:
        findings.extend(rule.check(ctx))
    findings.sort(key=lambda f: (-SEVERITY_RANK.get(f.severity, 0), f.line or 0))
    coding = _coding(snapshots.values())
    return CheckResult(date_of_service=claim.date_of_service, coding=coding, findings=tuple(findings))


def _coding(snapshots) -> tuple[dict, ...]:
    """The releases used on any date of the claim, each once, in the order of the kinds. For a claim of one date
    it is worked out once a snapshot, and its dicts are shared by the results of that date: read, never changed
    (``CheckResult.to_dict`` copies them)."""
    snapshots = list(snapshots)
    if len(snapshots) != 1:
        return _coding_of(snapshots)
    memo = snapshots[0].memo
    found = memo.get(_coding)
    if found is None:
        found = memo[_coding] = _coding_of(snapshots)
    return found


def _coding_of(snapshots) -> tuple[dict, ...]:
    seen: dict[tuple, dict] = {}
    for snapshot in snapshots:
        for entry in snapshot.coding():
            seen.setdefault((entry["kind"], entry["release"], entry["effective_from"]), entry)
    order = len(_KIND_ORDER)
    return tuple(sorted(seen.values(), key=lambda e: (_KIND_ORDER.get(e["kind"], order), e["effective_from"])))
