"""Do the codes a payer rule (or a location) names exist in the loaded code sets?

A rule version is checked on its ``effective_from`` date: every procedure code, modifier, diagnosis and place
of service it names must be known and in effect that day, in the release of that kind that covers the date.

When no release of a kind covers the date (the code sets are loaded later than the rules, or only recent
releases are kept, and the shipped Medicare rule starts in 2014) the rule is accepted: refusing it would make the
default data impossible to load on a fresh machine. What could not be checked is written, per kind, to the
rule's ``code_check_notes`` so the administrator sees it; the claim checker still checks every code on every
claim against the release in force on the date of service, so nothing is waved through at claim time.

The look-up is ``codes.selectors.lookup(system, code, on)`` (the contract's ``lookup_code`` object). This module
asks it through ``get_lookup()`` so tests can put a fake in its place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError

from practice.models import dotted

Lookup = Callable[[str, str, date], dict]

SYSTEM_LABELS = {"procedure": "procedure code", "modifier": "modifier", "icd10cm": "diagnosis", "pos": "place of service"}
SYSTEM_SETS = {
    "procedure": "procedure codes (HCPCS, CPT, PFS, OPPS/ASC or the project's summaries)",
    "modifier": "modifiers",
    "icd10cm": "ICD-10-CM",
    "pos": "places of service",
}


def get_lookup() -> Lookup | None:
    """``codes.selectors.lookup``, or None while the codes app does not provide it."""
    try:
        from codes.selectors import lookup
    except ImportError:
        return None
    return lookup


@dataclass
class CodeCheck:
    errors: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def raise_errors(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def check_codes(items: Iterable[tuple[str, str, str]], on: date, lookup: Lookup | None = None) -> CodeCheck:
    """Check ``(form field, system, code)`` triples as of ``on``. A diagnosis ending in ``*`` is a prefix: its stem
    must exist (as a billable code or a header)."""
    lookup = lookup or get_lookup()
    result = CodeCheck()
    items = list(items)
    if lookup is None:
        if items:
            result.notes.append(f"Codes not checked on {on}: the code sets are not available (codes app).")
        return result
    unchecked: dict[str, list[str]] = {}
    seen: set[tuple[str, str]] = set()
    for form_field, system, code in items:
        if (system, code) in seen:
            continue
        seen.add((system, code))
        prefix = system == "icd10cm" and code.endswith("*")
        stem = code.rstrip("*")
        shown = dotted(code) if system == "icd10cm" else code
        answer = lookup(system, stem, on)
        if not answer.get("release") and not answer.get("found"):
            unchecked.setdefault(system, []).append(shown)
            continue
        label = SYSTEM_LABELS[system]
        release = answer.get("release") or "the loaded releases"
        if not answer.get("found"):
            message = f"{label.capitalize()} {shown} is not in the loaded code sets ({release})."
        elif prefix:
            continue  # a prefix only has to name an existing category or code
        elif not answer.get("in_effect"):
            message = f"{label.capitalize()} {shown} is not in effect on {on} ({release})."
        elif system == "icd10cm" and answer.get("billable") is False:
            message = f"Diagnosis {shown} is a header, not a billable code ({release}): name billable codes."
        else:
            continue
        result.errors.setdefault(form_field, []).append(message)
    for system, codes in unchecked.items():
        result.notes.append(
            f"No {SYSTEM_SETS[system]} release covering {on} is loaded: {', '.join(codes)} not checked "
            "(re-save the rule after loading one)."
        )
    return result


def check_rule_codes(rule, lookup: Lookup | None = None) -> CodeCheck:
    """Check every code a ``PayerRule`` names, as of its ``effective_from``."""
    items = [("codes", "procedure", c) for c in rule.codes]
    items += [("required_modifiers", "modifier", c) for c in rule.required_modifiers]
    items += [("required_diagnoses", "icd10cm", c) for r in rule.required_diagnoses for c in r["codes"]]
    items += [("allowed_places_of_service", "pos", c) for c in rule.allowed_places_of_service]
    return check_codes(items, rule.effective_from, lookup)
