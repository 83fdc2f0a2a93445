"""The shape of a rule, and the few helpers rules share to name their sources.

A rule, the way uktrade/tamato writes business rules: a small class with an ``id``, a default ``severity``
and a docstring that is the message billing staff read, in plain words. Its one method ``check(ctx)`` yields
findings; each finding's message is the docstring followed by what is specific to the claim.
"""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from billing.checking.context import CheckContext
from billing.checking.findings import ERROR, Finding
from codes.formats.icd10 import icd10cm_display
from codes.snapshot import KIND_LABELS, ReleaseRef

_SPACES = re.compile(r"\s+")


class Rule(ABC):
    """Base class: subclasses set ``id`` and ``severity`` and write the message as their docstring."""

    id: ClassVar[str] = ""
    severity: ClassVar[str] = ERROR
    _message: ClassVar[str | None] = None

    @classmethod
    def message(cls) -> str:
        """The rule's docstring on one line: the message billing staff read."""
        if cls.__dict__.get("_message") is None:
            cls._message = _SPACES.sub(" ", (cls.__doc__ or "").strip())
        return cls._message

    @abstractmethod
    def check(self, ctx: CheckContext) -> Iterable[Finding]:
        """Yield the rule's findings for the claim in ``ctx``."""

    def finding(
        self,
        detail: str = "",
        *,
        line: int | None = None,
        codes: Iterable[str] = (),
        reference: str = "",
        suggestion: str = "",
        severity: str | None = None,
    ) -> Finding:
        """A finding of this rule: the docstring, then ``detail`` (what is specific to this claim)."""
        message = self.message()
        if detail:
            message = f"{message} {detail}"
        return Finding(
            rule=self.id,
            severity=severity or self.severity,
            message=message,
            line=line,
            codes=tuple(codes),
            reference=reference,
            suggestion=suggestion,
        )


def span(start: date | None, end: date | None) -> str:
    """``from 2026-04-01 to 2026-09-30``; open ends said in words."""
    if start and end:
        return f"from {start.isoformat()} to {end.isoformat()}"
    if start:
        return f"from {start.isoformat()}, no end date"
    if end:
        return f"until {end.isoformat()}"
    return "with no dates"


@functools.lru_cache(maxsize=1024)  # a handful of releases, named in finding after finding
def release_reference(ref: ReleaseRef) -> str:
    """How a finding names a release: its label, what it is, and when it is in force."""
    kind = KIND_LABELS.get(ref.kind, ref.kind)
    return f"{ref.label} ({kind}, in force {span(ref.effective_from, ref.effective_to)})"


def icd_display(code: str) -> str:
    """An ICD-10-CM code as billing staff write it: ``M48062`` -> ``M48.062``."""
    return icd10cm_display(code)


def units(count: int) -> str:
    """``1 unit``, ``2 units``."""
    return f"{count} unit" if count == 1 else f"{count} units"


def or_list(items: Iterable[str]) -> str:
    """``A``, ``A or B``, ``A, B or C``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} or {items[-1]}"


def and_list(items: Iterable[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
