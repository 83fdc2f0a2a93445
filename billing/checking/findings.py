"""What a check finds: plain, frozen data shaped like the contract's result JSON.

A ``Finding`` is one thing billing staff should know about a claim: which rule, how bad, where (``line`` is
1-based; None for the claim as a whole), the codes involved, the message they read, the source it rests on
(``reference``) and what to do (``suggestion``). A ``CheckResult`` holds every finding for one claim; its
``status`` is the worst severity found, with ``info`` leaving a claim ``clean``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)
SEVERITY_RANK = {ERROR: 3, WARNING: 2, INFO: 1}

CLEAN = "clean"
STATUSES = (ERROR, WARNING, CLEAN)


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding on a claim. ``line`` is the 1-based claim line, None for a claim-level finding."""

    rule: str
    severity: str
    message: str
    line: int | None = None
    codes: tuple[str, ...] = ()
    reference: str = ""
    suggestion: str = ""

    def to_dict(self) -> dict:
        """The contract's finding object: ``line`` is left out for claim-level findings."""
        out: dict = {"rule": self.rule, "severity": self.severity}
        if self.line is not None:
            out["line"] = self.line
        out["codes"] = list(self.codes)
        out["message"] = self.message
        out["reference"] = self.reference
        out["suggestion"] = self.suggestion
        return out


def worst_status(findings: Iterable[Finding]) -> str:
    """``error`` or ``warning`` when any finding has that severity (error first), otherwise ``clean``."""
    worst = 0
    for finding in findings:
        rank = SEVERITY_RANK.get(finding.severity, 0)
        if rank > worst:
            worst = rank
            if worst == SEVERITY_RANK[ERROR]:
                break
    if worst == SEVERITY_RANK[ERROR]:
        return ERROR
    if worst == SEVERITY_RANK[WARNING]:
        return WARNING
    return CLEAN


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of checking one claim: the releases used (``coding``; its dicts may be shared by other results
    of the same date: read them, copy to change) and every finding, worst first."""

    date_of_service: date
    coding: tuple[dict, ...]
    findings: tuple[Finding, ...]

    @property
    def status(self) -> str:
        """The worst severity found: ``error``, ``warning`` or ``clean`` (``info`` findings leave it clean)."""
        return worst_status(self.findings)

    def to_dict(self) -> dict:
        """The contract's result JSON: status, date_of_service, coding and findings."""
        return {
            "status": self.status,
            "date_of_service": self.date_of_service.isoformat(),
            "coding": [dict(entry) for entry in self.coding],
            "findings": [finding.to_dict() for finding in self.findings],
        }
