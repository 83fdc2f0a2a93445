"""Read-side functions over practices, payers, procedure profiles and payer rules.

The claim checker and the billing guide get plain objects (``practice.policy``), never model instances.
``RuleBook`` is the bulk path: every payer and every rule version read once (two queries), then answered from
memory for any number of claims; ``rules_in_force`` and ``payer_info`` are the one-off forms of the same answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import QuerySet

from practice import policy
from practice.models import Payer, PayerRule, Practice, ProcedureProfile


def practices_for(user) -> QuerySet[Practice]:
    """The practices whose data ``user`` may see: superusers all, staff of a practice only their own."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Practice.objects.none()
    if user.is_superuser:
        return Practice.objects.all()
    return Practice.objects.filter(memberships__user=user).distinct()


def payer_info(key: str) -> policy.PayerInfo | None:
    payer = Payer.objects.filter(key=key).first()
    return payer.as_info() if payer else None


def rules_in_force(payer_key: str, on: date, practice_id: int | None = None) -> list[policy.PayerRuleVersion]:
    """The versions of ``payer_key``'s rules in force on ``on`` for the practice: its own override of a rule in
    preference to the global version of the same rule; without ``practice_id``, the global rules only."""
    return RuleBook.load(payer_keys=[payer_key]).rules_for(payer_key, on, practice_id)


class RuleBook:
    """Every payer and payer-rule version in memory, for checking many claims without a query per claim.

    ``RuleBook.load()`` reads them (two queries); ``rules_for(payer_key, on, practice_id)`` and ``payer(key)``
    then answer from memory. Rules are grouped by series (payer, key): for each series the practice's own
    version in force on the date wins, else the global version in force on the date, else nothing.
    """

    def __init__(self, payers: Iterable[policy.PayerInfo], versions: Iterable[policy.PayerRuleVersion]):
        self._payers = {p.key.lower(): p for p in payers}  # claims name payers case-insensitively
        # payer key -> series key -> practice id (None: global) -> versions by start date
        series: dict[str, dict[str, dict[int | None, list[policy.PayerRuleVersion]]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(list))
        )
        for v in versions:
            series[v.payer_key.lower()][v.key or v.name][v.practice_id].append(v)
        for by_key in series.values():
            for by_practice in by_key.values():
                for versions_ in by_practice.values():
                    versions_.sort(key=lambda v: v.effective_from)
        self._series = series
        # payer key -> its series in key order; (payer key, date, practice id) -> the versions in force (a batch
        # asks the same few dates and payers claim after claim)
        self._ordered = {payer: sorted(by_key.items()) for payer, by_key in series.items()}
        self._in_force: dict[tuple, tuple[policy.PayerRuleVersion, ...]] = {}

    @classmethod
    def load(cls, payer_keys: Iterable[str] | None = None) -> RuleBook:
        payers = Payer.objects.all()
        rules = PayerRule.objects.select_related("payer").order_by("payer__key", "key", "effective_from")
        if payer_keys is not None:
            payer_keys = list(payer_keys)
            payers = payers.filter(key__in=payer_keys)
            rules = rules.filter(payer__key__in=payer_keys)
        return cls([p.as_info() for p in payers], [r.as_version(r.payer.key) for r in rules])

    def payer(self, key: str) -> policy.PayerInfo | None:
        return self._payers.get(key.lower())

    @property
    def payers(self) -> list[policy.PayerInfo]:
        return list(self._payers.values())

    def rules_for(self, payer_key: str, on: date, practice_id: int | None = None) -> list[policy.PayerRuleVersion]:
        """The rule versions in force on ``on`` for the payer, the practice's overrides in preference."""
        asked = (payer_key, on, practice_id)
        known = self._in_force.get(asked)
        if known is None:
            if len(self._in_force) >= 20000:  # a long-lived book (the API's) keeps a bounded memory
                self._in_force.clear()
            known = self._in_force[asked] = tuple(self._rules_for(payer_key, on, practice_id))
        return list(known)

    def _rules_for(self, payer_key: str, on: date, practice_id: int | None) -> list[policy.PayerRuleVersion]:
        out = []
        for _key, by_practice in self._ordered.get(payer_key.lower(), ()):
            chosen = None
            if practice_id is not None:
                chosen = _in_force(by_practice.get(practice_id, ()), on)
            if chosen is None:
                chosen = _in_force(by_practice.get(None, ()), on)
            if chosen is not None:
                out.append(chosen)
        return out

    def rules_during(
        self, payer_key: str, start: date, end: date, practice_id: int | None = None
    ) -> list[policy.PayerRuleVersion]:
        """The versions in force on any day from ``start`` to ``end`` (inclusive) for the practice, the practice's
        overrides in preference on each day; each version once, by series then start date."""
        days = {start}
        for by_practice in self._series.get(payer_key.lower(), {}).values():
            for versions in by_practice.values():
                for v in versions:
                    if start <= v.effective_from <= end:
                        days.add(v.effective_from)
                    if v.effective_to and start <= v.effective_to < end:
                        days.add(v.effective_to + timedelta(days=1))
        seen: dict[object, policy.PayerRuleVersion] = {}
        for day in sorted(days):
            for v in self.rules_for(payer_key, day, practice_id):
                seen.setdefault((v.id, v.key, v.version, v.practice_id), v)
        return sorted(seen.values(), key=lambda v: (v.key or v.name, v.effective_from))

    def rules_for_code(
        self, payer_key: str, code: str, on: date, practice_id: int | None = None
    ) -> list[policy.PayerRuleVersion]:
        return [v for v in self.rules_for(payer_key, on, practice_id) if v.applies_to(code)]


def _in_force(versions: Iterable[policy.PayerRuleVersion], on: date) -> policy.PayerRuleVersion | None:
    for v in versions:
        if v.covers(on):
            return v
    return None


def procedure_profile(key: str) -> policy.ProcedureProfileInfo | None:
    """A procedure profile (``mild``) with its codes, as plain data for the billing guide and change notices."""
    profile = ProcedureProfile.objects.filter(key=key).prefetch_related("codes").first()
    if profile is None:
        return None
    return policy.ProcedureProfileInfo(
        key=profile.key,
        name=profile.name,
        description=profile.description,
        notes=profile.notes,
        claim_fields=tuple(profile.claim_fields or ()),
        codes=tuple(
            policy.ProfileCodeInfo(
                system=c.system,
                code=c.code,
                role=c.role,
                summary=c.summary,
                notes=c.notes,
                certainty=c.certainty,
                source=c.source,
            )
            for c in profile.codes.all()
        ),
    )
