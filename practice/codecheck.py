"""Do the codes a payer rule (or a location) names exist in the loaded code sets?

A rule version is checked on its ``effective_from`` date: every procedure code, modifier, diagnosis and place
of service it names must be known and in effect that day, in the release of that kind that covers the date.

When no release of a kind covers the date (the code sets are loaded later than the rules, or only recent
releases are kept, and the shipped Medicare rule starts in 2014) the rule is accepted: refusing it would make the
default data impossible to load on a fresh machine. What could not be checked is written, per kind, to the
rule's ``code_check_notes`` so the administrator sees it; the claim checker still checks every code on every
claim against the release in force on the date of service, so nothing is waved through at claim time.

The look-up is ``codes.selectors.lookup(system, code, on)`` (the contract's ``lookup_code`` object), asked over
one ``CodingSnapshot`` per date; the snapshot also says whether a release of a kind covers the date (``lookup``
alone cannot: it reports a code found in another release as "not in effect"). Tests may replace ``code_sets``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError

from practice.validators import dotted

SYSTEM_LABELS = {
    "procedure": "procedure code",
    "modifier": "modifier",
    "icd10cm": "diagnosis",
    "pos": "place of service",
}
SYSTEM_SETS = {
    "procedure": "procedure code",
    "modifier": "modifier",
    "icd10cm": "ICD-10-CM",
    "pos": "place-of-service",
}


class CodeSets:
    """The loaded code sets as of one date: which systems a release covers, and the look-up."""

    def __init__(self, on: date):
        from codes import snapshot as k
        from codes.selectors import snapshot_on

        self.on = on
        self.snapshot = snapshot_on(on)
        snap = self.snapshot
        self._covered = {
            "icd10cm": snap.data(k.ICD10CM) is not None,
            "procedure": snap.procedures_loaded(),
            "modifier": snap.data(k.MODIFIERS) is not None or snap.data(k.HCPCS) is not None,
            "pos": snap.data(k.POS) is not None,
        }

    def covers(self, system: str) -> bool:
        return self._covered[system]

    def lookup(self, system: str, code: str) -> dict:
        from codes.selectors import lookup

        return lookup(system, code, self.on, snapshot=self.snapshot)


def code_sets(on: date) -> CodeSets:
    return CodeSets(on)


@dataclass
class CodeCheck:
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def raise_errors(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def check_codes(items: Iterable[tuple[str, str, str]], on: date) -> CodeCheck:
    """Check ``(form field, system, code)`` triples as of ``on``. A diagnosis ending in ``*`` is a prefix: its stem
    must exist (as a billable code or a header)."""
    result = CodeCheck()
    items = list(dict.fromkeys(items))
    if not items:
        return result
    sets = code_sets(on)
    unchecked: dict[str, list[str]] = {}
    for form_field, system, code in items:
        prefix = system == "icd10cm" and code.endswith("*")
        shown = dotted(code) if system == "icd10cm" else code
        if not sets.covers(system):
            unchecked.setdefault(system, []).append(shown)
            continue
        answer = sets.lookup(system, code.rstrip("*"))
        if answer.get("in_effect") is None and "note" in answer:
            unchecked.setdefault(system, []).append(shown)  # only a release for other dates lists it
            continue
        label = SYSTEM_LABELS[system].capitalize()
        release = answer.get("release")
        if not answer.get("found"):
            message = f"{label} {shown} is not in the loaded code sets in force on {on}."
        elif prefix:
            continue  # a prefix only has to name an existing category or code
        elif not answer.get("in_effect"):
            message = f"{label} {shown} is not in effect on {on} ({release})."
        elif system == "icd10cm" and answer.get("billable") is False:
            message = f"Diagnosis {shown} is a header, not a billable code ({release}): name billable codes."
        else:
            continue
        result.errors.setdefault(form_field, []).append(message)
    for system, codes in unchecked.items():
        result.notes.append(
            f"No {SYSTEM_SETS[system]} release covering {on} is loaded: {', '.join(codes)} not checked "
            "(save the rule again once one is loaded)."
        )
    return result


def check_rule_codes(rule) -> CodeCheck:
    """Check every code a ``PayerRule`` names, as of its ``effective_from``."""
    items = [("codes", "procedure", c) for c in rule.codes]
    items += [("required_modifiers", "modifier", c) for c in rule.required_modifiers]
    items += [("required_diagnoses", "icd10cm", c) for r in rule.required_diagnoses for c in r["codes"]]
    items += [("allowed_places_of_service", "pos", c) for c in rule.allowed_places_of_service]
    return check_codes(items, rule.effective_from)
