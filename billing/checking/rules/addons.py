"""Add-on codes without a primary code on the same date (CMS NCCI add-on code edits).

An add-on code describes work done in addition to a primary procedure and is paid only with one. The add-on code
edit file says, per add-on code, its type and its primary codes: type 1 lists every acceptable primary (none
other is paid: an error), type 3 lists some (the contractor may accept others: a warning), type 2 lists none
(the contractor decides: a warning only when nothing else was done that day).
"""

from __future__ import annotations

from collections.abc import Iterable

from billing.checking.context import CheckContext
from billing.checking.findings import ERROR, WARNING, Finding
from billing.checking.rules.base import Rule, or_list, release_reference


class AddonWithoutPrimary(Rule):
    """An add-on code is on the claim without one of its primary codes on the same date of service: Medicare
    pays an add-on code only with its primary procedure."""

    id = "ADDON_WITHOUT_PRIMARY"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        for on, lines in sorted(ctx.lines_by_date.items()):
            snapshot = ctx.snapshot(on)
            codes_that_day = {line.code for line in lines}
            for line in lines:
                edits = snapshot.addon_edits(line.code)
                if not edits:
                    continue
                primaries = sorted({e.primary for e in edits if e.primary})
                others = codes_that_day - {line.code}
                if primaries and others.intersection(primaries):
                    continue
                kinds = {e.edit_type for e in edits}
                ref = release_reference(edits[0].release)
                if primaries:
                    severity = ERROR if kinds == {1} else WARNING
                    kind = "type 1" if severity == ERROR else "type 3"
                    detail = (
                        f"{line.code} (line {line.number}) on {on.isoformat()} needs {or_list(primaries)} on the same "
                        f"date; the claim has none of them."
                    )
                    if severity == WARNING:
                        detail += " The edit lists some primaries only: the contractor may accept another."
                    suggestion = (
                        f"Bill {or_list(primaries)} with {line.code} on the same date (same practitioner), or remove "
                        f"{line.code} if the primary procedure was not done."
                    )
                else:
                    if others:
                        continue  # type 2: the contractor decides which primaries it accepts
                    severity, kind = WARNING, "type 2"
                    detail = (
                        f"{line.code} (line {line.number}) is the only code on {on.isoformat()}; the contractor "
                        f"decides which primary procedures it accepts for it."
                    )
                    suggestion = f"Bill the primary procedure {line.code} was added to, on the same date."
                yield self.finding(
                    detail,
                    line=line.number,
                    codes=(line.code, *primaries),
                    severity=severity,
                    reference=f"{ref}: add-on code {line.code}, {kind}",
                    suggestion=suggestion,
                )
