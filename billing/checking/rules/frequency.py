"""How often a patient may have a service: sessions of a family in the payer's window, from their history.

A payer rule version may carry a ``FrequencyLimit`` (the ESI LCDs: four sessions per spinal region in a rolling
12 months; the facet LCDs: two RFA sessions per region and side). A session is a date of service. The earlier
sessions come from ``ctx.history`` (the patient's stored checks and earlier claims of the same batch) and from
earlier dates on the claim itself; a session on the claim's own date is this one, whatever other check holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from billing.checking.context import CheckContext
from billing.checking.findings import ERROR, INFO, WARNING, Finding
from billing.checking.rules.base import Rule, and_list
from billing.checking.rules.payer import caveat, payer_name, rule_key, source


def _frequency_lines(ctx: CheckContext):
    """(rule version, line) for every line under a rule with a frequency limit that covers the service."""
    for line in ctx.claim.lines:
        for rule in ctx.rules_for_line(line):
            if rule.frequency is not None and rule.coverage not in ("not_covered", "investigational"):
                yield rule, line


class FrequencyLimit(Rule):
    """The patient has had as many sessions of this service in the payer's window as its rule allows: this
    session is over the limit."""

    id = "FREQUENCY_LIMIT"

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.history is None:
            return
        # (rule, group, side) -> the claim's dates and lines in it
        wanted: dict[tuple, tuple] = {}
        for rule, line in _frequency_lines(ctx):
            limit = rule.frequency
            group = limit.group_of(line.code)
            if group is None:
                continue
            sides = limit.sides(line.modifiers) if limit.per_side else ("",)
            for side in sides:
                key = (rule_key(rule), group, side)
                entry = wanted.setdefault(key, (rule, group, side, []))
                entry[3].append(line)
        for rule, group, side, lines in wanted.values():
            yield from self._judge(ctx, rule, group, side, lines)

    def _judge(self, ctx: CheckContext, rule, group: str, side: str, lines) -> Iterable[Finding]:
        limit = rule.frequency
        codes = dict(limit.groups)[group]
        past = [s for s in ctx.history if s.code in codes and self._same_side(limit, side, s.modifiers)]
        own = {ctx.line_date(line): line for line in lines}
        for on in sorted(own):
            start = on - timedelta(days=limit.window_days)
            earlier = sorted({s.on for s in past if start < s.on < on} | {d for d in own if start < d < on})
            if len(earlier) < limit.sessions:
                continue
            line = own[on]
            where = f"{group}" + (f", {side} side" if side else "")
            shown = and_list([d.isoformat() for d in earlier])
            yield self.finding(
                f"{payer_name(ctx)} allows {limit.sessions} sessions per {limit.window_days} days ({where}) under "
                f"{source(rule)}; this patient already had {len(earlier)} before {on.isoformat()}: {shown}."
                f"{caveat(rule)}",
                line=line.number,
                codes=(line.code,),
                severity=WARNING if rule.certainty == "unverified" else ERROR,
                reference=rule.describe(),
                suggestion="Check the patient's history: if the earlier sessions are right, this one exceeds the "
                "limit and is likely to be denied; for Medicare, give the patient an ABN before the service "
                "(modifier GA) or document why the payer's exception applies.",
            )

    @staticmethod
    def _same_side(limit, side: str, modifiers) -> bool:
        return not limit.per_side or side in limit.sides(modifiers)


class FrequencyNotChecked(Rule):
    """The claim names no patient account, so how often the patient has had this service could not be
    checked."""

    id = "FREQUENCY_NOT_CHECKED"
    severity = INFO

    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        if ctx.history is not None:
            return
        found = list(_frequency_lines(ctx))
        if not found:
            return
        codes = tuple(dict.fromkeys(line.code for _, line in found))
        rules = list({rule_key(rule): rule for rule, _ in found}.values())
        yield self.finding(
            f"{and_list(codes)} {'is' if len(codes) == 1 else 'are'} limited per patient under "
            f"{and_list([source(r) for r in rules])}.",
            codes=codes,
            reference="; ".join(r.describe() for r in rules),
            suggestion='Add the practice\'s patient account number ("patient": {"account": "..."}) so earlier '
            "sessions are counted; it is stored only as a keyed hash.",
        )
