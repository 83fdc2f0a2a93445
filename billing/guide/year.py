"""What a guide reads of one calendar year: the coding (``YearCoding``) and the payer rules (``YearRules``).

``YearCoding`` answers, for each kind, as of the latest day of the year that a loaded release of the kind covers
(the PFS October file rather than the January one; an ICD-10-CM release ending on 30 September); a kind with no
release covering any day of the year is "not loaded". ``YearRules`` is the ``practice.selectors.RuleBook`` (every
payer and rule version, two queries) and the payers the guide covers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from codes import models as code_models
from codes import snapshot as k
from codes.selectors import SnapshotFactory
from codes.snapshot import CodingSnapshot, ReleaseData
from practice import policy
from practice.models import PracticePayer
from practice.selectors import RuleBook

_PAYER_ORDER = {policy.MEDICARE_FFS: 0, policy.MEDICARE_ADVANTAGE: 1, policy.MEDICAID: 2, policy.COMMERCIAL: 3}


class YearCoding:
    """For each kind, the release in force on the latest day of ``year`` that a loaded release of the kind covers."""

    def __init__(self, year: int, releases: list[code_models.Release], factory: SnapshotFactory):
        self.year = year
        self.first, self.last = date(year, 1, 1), date(year, 12, 31)
        self._factory = factory
        self._on: dict[str, date | None] = {}
        by_kind: dict[str, list[code_models.Release]] = {}
        for release in releases:
            by_kind.setdefault(release.kind, []).append(release)
        for kind, rels in by_kind.items():
            best = None
            for release in rels:
                start = max(release.effective_from, self.first)
                end = min(release.effective_to or self.last, self.last)
                if start <= end and (best is None or end > best):
                    best = end
            self._on[kind] = best

    def on(self, kind: str) -> date | None:
        """The day the kind is read as of, or None when no loaded release of the kind covers the year."""
        return self._on.get(kind)

    def snapshot(self, kind: str) -> CodingSnapshot | None:
        on = self.on(kind)
        return self._factory(on) if on else None

    def data(self, kind: str) -> ReleaseData | None:
        snap = self.snapshot(kind)
        return snap.data(kind) if snap else None

    def loaded(self, kind: str) -> bool:
        return self.data(kind) is not None

    def get(self, kind: str, key):
        data = self.data(kind)
        return data.get(key) if data is not None else None

    def used(self, kinds: Iterable[str] = k.ALL_KINDS) -> list[k.ReleaseRef]:
        """The releases of ``kinds`` the year is read from, in the order of ``kinds``."""
        return [d.ref for kind in kinds if (d := self.data(kind)) is not None]

    def code_dates(self, code: str) -> tuple[date | None, date | None]:
        """The code's own first and last valid days, from the sources that carry them (HCPCS, our summaries)."""
        hcpcs = self.get(k.HCPCS, code)
        if hcpcs is not None and not hcpcs.is_modifier:
            return hcpcs.added, hcpcs.terminated
        summary = self.get(k.PROCEDURE_SUMMARIES, code)
        if summary is not None:
            return summary.effective_from, summary.effective_to
        return None, None


@dataclass(frozen=True)
class YearRules:
    book: RuleBook
    payers: tuple[policy.PayerInfo, ...]  # the payers the guide covers, in display order

    @classmethod
    def load(cls, practice_id: int | None) -> YearRules:
        """Every payer and rule version (``RuleBook.load``: two queries); with a practice, its payers when it lists
        any (one more)."""
        book = RuleBook.load()
        shown = book.payers
        if practice_id is not None:
            keys = set(PracticePayer.objects.filter(practice_id=practice_id).values_list("payer__key", flat=True))
            if keys:
                shown = [p for p in shown if p.key in keys]
        shown.sort(key=lambda p: (_PAYER_ORDER.get(p.payer_type, 9), p.name))
        return cls(book, tuple(shown))

    def in_year(self, payer_key: str, year: int, practice_id: int | None) -> list[policy.PayerRuleVersion]:
        """The versions in force on any day of ``year`` (each once, by series then date)."""
        return self.book.rules_during(payer_key, date(year, 1, 1), date(year, 12, 31), practice_id)

    def on(self, payer_key: str, day: date, practice_id: int | None) -> dict[str, policy.PayerRuleVersion]:
        return {v.key or v.name: v for v in self.book.rules_for(payer_key, day, practice_id)}
