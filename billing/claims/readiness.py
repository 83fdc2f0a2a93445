"""Ready means validated: why a draft claim may not be marked ready to send (pure: data in, reasons out).

A claim is validated when its latest check is newer than its last edit, has no error, and could check its codes
(no "coding not loaded" warning: the coding held did not cover the date, so the codes were never looked at).
A finding overridden with a reason (a claim note) no longer blocks it. Anything else needs an override reason
from the person marking it ready, kept as a claim note (who, when, why).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

# Findings that say a check could not be made: the claim was not validated, whatever its status says.
UNVALIDATED_RULES = frozenset({"CODING_NOT_LOADED"})

NOT_CHECKED = "not checked"
EDITED_SINCE_CHECK = "changed since its last check"
HAS_ERRORS = "errors in its last check"
NOT_VALIDATED = "codes not validated (coding not loaded)"
REASONS = (NOT_CHECKED, EDITED_SINCE_CHECK, HAS_ERRORS, NOT_VALIDATED)


@dataclass(frozen=True)
class LatestCheck:
    checked_at: datetime
    findings: tuple[Mapping, ...]  # the contract's findings (rule, severity, ...)


def blocking_findings(findings: Iterable[Mapping], overridden: Iterable[str] = ()) -> list[Mapping]:
    """The findings that stop a claim being ready: errors and could-not-check warnings, less those overridden."""
    overridden = set(overridden)
    return [
        f
        for f in findings
        if f.get("rule") not in overridden
        and (f.get("severity") == "error" or (f.get("rule") in UNVALIDATED_RULES and f.get("severity") != "info"))
    ]


def not_ready_reasons(
    latest: LatestCheck | None, edited_at: datetime | None, overridden: Iterable[str] = ()
) -> list[str]:
    """Why the claim is not validated ([] when it is), in REASONS' words."""
    if latest is None:
        return [NOT_CHECKED]
    reasons = []
    if edited_at is not None and edited_at > latest.checked_at:
        reasons.append(EDITED_SINCE_CHECK)
    blocking = blocking_findings(latest.findings, overridden)
    if any(f.get("severity") == "error" for f in blocking):
        reasons.append(HAS_ERRORS)
    if any(f.get("rule") in UNVALIDATED_RULES for f in blocking):
        reasons.append(NOT_VALIDATED)
    return reasons
