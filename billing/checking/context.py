"""What every rule sees: the claim, the coding as of each of its dates, the payer and the payer's rules.

Built once per claim by the engine; everything here is plain data and dict look-ups, so rules stay cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from billing.checking.claim import Claim, ClaimLine
from codes.snapshot import CodingSnapshot
from practice.policy import LocationInfo, PayerInfo, PayerRuleVersion


@dataclass
class CheckContext:
    """One claim being checked. ``snapshots`` and ``payer_rules`` hold one entry per date on the claim."""

    claim: Claim
    payer: PayerInfo | None
    today: date
    snapshots: Mapping[date, CodingSnapshot]
    payer_rules: Mapping[date, tuple[PayerRuleVersion, ...]]
    lines_by_date: dict[date, list[ClaimLine]] = field(init=False)
    diagnosis_dates: tuple[tuple[date, ...], ...] = field(init=False)
    # Where the service was done (None: unknown): scoped payer rules (states, MACs) apply only where it says.
    location: LocationInfo | None = None
    # The patient's earlier services (stored checks and earlier claims of the batch); None: no patient key.
    history: tuple | None = None
    _line_rules: dict[int, tuple] = field(init=False, default_factory=dict, repr=False)  # id(line) -> (line, rules)
    # What several rules work out from the claim alone, kept under the working-out's own key (payer.covered_rules):
    # read-only once made
    memo: dict = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.lines_by_date = {}
        pointed: dict[int, set[date]] = {}
        count = len(self.claim.diagnoses)
        for line in self.claim.lines:
            on = self.claim.line_date(line)
            self.lines_by_date.setdefault(on, []).append(line)
            for pointer in line.diagnosis_pointers:
                if 1 <= pointer <= count:
                    pointed.setdefault(pointer - 1, set()).add(on)
        # A diagnosis is checked as of the dates of the lines that point to it; one no line points to, as of
        # the claim's date of service.
        self.diagnosis_dates = tuple(
            tuple(sorted(pointed.get(i, ()))) or (self.claim.date_of_service,) for i in range(count)
        )

    @property
    def submitted_on(self) -> date:
        """The day the claim goes out: the claim's ``submitted_on``, else the day of the check."""
        return self.claim.submitted_on or self.today

    def line_date(self, line: ClaimLine) -> date:
        return self.claim.line_date(line)

    def snapshot(self, on: date) -> CodingSnapshot:
        return self.snapshots[on]

    def line_snapshot(self, line: ClaimLine) -> CodingSnapshot:
        return self.snapshots[self.claim.line_date(line)]

    def claim_snapshot(self) -> CodingSnapshot:
        """The coding as of the claim's own date of service (place of service, diagnoses no line points to)."""
        return self.snapshots[self.claim.date_of_service]

    def rules_for_line(self, line: ClaimLine) -> tuple[PayerRuleVersion, ...]:
        """The payer's rule versions for the line's code in force on its date.

        ``rules_for`` has already chosen one version per rule (a practice's override in preference to the
        payer's own version): every version it gave that covers the code applies.
        """
        known = self._line_rules.get(id(line))  # several rules ask for each line: worked out once a claim
        if known is not None and known[0] is line:
            return known[1]
        on = self.claim.line_date(line)
        found = tuple(
            rule
            for rule in self.payer_rules.get(on, ())
            if rule.applies_to(line.code) and rule.covers(on) and rule.applies_at(self.location)
        )
        self._line_rules[id(line)] = (line, found)
        return found

    def pointed_diagnoses(self, line: ClaimLine) -> tuple[str, ...]:
        """The (normalised) diagnoses a line points to; pointers outside the list are left out."""
        count = len(self.claim.diagnoses)
        return tuple(self.claim.diagnoses[p - 1] for p in line.diagnosis_pointers if 1 <= p <= count)
