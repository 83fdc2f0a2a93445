"""The default practice data: payers, their rules and the mild® procedure profile; with ``demo``, a demo practice.

Read from the project's own JSON files in ``fixtures/practice/`` (written from ../shared/domain/mild.md, each
rule citing its source and certainty). ``load_defaults`` is idempotent: objects are matched by natural key
(payer key; payer + rule key + version; profile key + system + code; practice key; ...), created when missing,
saved only when a field differs -- so a second run writes nothing and adds no history rows.

Local edits win over the shipped defaults: a payer or rule whose latest history entry was not written by this
loader (an administrator changed it, or closed it with a new version) is left alone and reported as kept.
Rules are checked against the code sets covering their start dates (``practice.codecheck``); at the end every
rule's ``code_check_notes`` is brought up to date with the code sets loaded now.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import models, transaction

from practice import services
from practice.models import (
    Location,
    Payer,
    PayerRule,
    Practice,
    PracticePayer,
    ProcedureProfile,
    ProfileCode,
    Provider,
)

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "practice"
PAYERS_FILE = "payers.json"
RULES_FILE = "payer_rules.json"
PROFILES_FILE = "procedure_profiles.json"
DEMO_FILE = "demo_practice.json"
DEMO_KEY = "demo"
REASON = "Default data (load_defaults)"


@dataclass
class LoadReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: list[str] = field(default_factory=list)  # local edits left in place

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged, "kept": self.kept}


def _read(name: str) -> dict:
    with open(FIXTURES / name, encoding="utf-8") as fh:
        return json.load(fh)


def _data(item: dict) -> dict:
    """A fixture item without its comments (keys starting with '_')."""
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _edited_locally(obj: models.Model) -> bool:
    latest = obj.history.order_by("-history_date", "-history_id").first()
    return latest is not None and not (latest.history_change_reason or "").startswith(REASON)


class _Loader:
    def __init__(self):
        self.report = LoadReport()

    def sync(self, model, lookup: dict, values: dict, *, tracked: bool = False):
        """Create or update one object by natural key; touch nothing when every field already matches."""
        candidate = model(**lookup, **values)
        if isinstance(candidate, PayerRule):
            candidate.normalise_fields()
        obj = model.objects.filter(**lookup).first()
        if obj is None:
            self._save(candidate, tracked)
            self.report.created += 1
            return candidate
        changed = [name for name in values if getattr(obj, name) != getattr(candidate, name)]
        if not changed:
            self.report.unchanged += 1
            return obj
        if tracked and _edited_locally(obj):
            self.report.kept.append(f"{model._meta.verbose_name} “{obj}”: edited locally, defaults not applied")
            return obj
        for name in changed:
            setattr(obj, name, getattr(candidate, name))
        self._save(obj, tracked)
        self.report.updated += 1
        return obj

    @staticmethod
    def _save(obj: models.Model, tracked: bool) -> None:
        if isinstance(obj, PayerRule):
            services.save_rule(obj, reason=REASON)
            return
        obj.full_clean()
        if tracked:
            obj._change_reason = REASON
        obj.save()

    def payers(self) -> dict[str, Payer]:
        out = {}
        for item in _read(PAYERS_FILE)["payers"]:
            values = _data(item)
            key = values.pop("key")
            out[key] = self.sync(Payer, {"key": key}, values, tracked=True)
        return out

    def rules(self, payers: dict[str, Payer]) -> None:
        for item in _read(RULES_FILE)["rules"]:
            values = _data(item)
            payer = payers.get(values.pop("payer")) or Payer.objects.get(key=item["payer"])
            lookup = {"payer_id": payer.pk, "practice": None, "key": values.pop("key")}
            lookup["version"] = values.pop("version")
            for name in ("effective_from", "effective_to"):
                values[name] = date.fromisoformat(values[name]) if values.get(name) else None
            self.sync(PayerRule, lookup, values, tracked=True)

    def profiles(self) -> None:
        for item in _read(PROFILES_FILE)["profiles"]:
            values = _data(item)
            codes = values.pop("codes")
            profile = self.sync(ProcedureProfile, {"key": values.pop("key")}, values)
            for position, code_item in enumerate(codes, 1):
                code_values = _data(code_item)
                lookup = {
                    "profile_id": profile.pk,
                    "system": code_values.pop("system"),
                    "code": code_values.pop("code").replace(".", "").upper(),
                }
                self.sync(ProfileCode, lookup, {**code_values, "position": position})

    def demo(self, payers: dict[str, Payer]) -> Practice:
        data = _read(DEMO_FILE)
        values = _data(data["practice"])
        practice = self.sync(Practice, {"key": values.pop("key")}, values)
        for item in data["locations"]:
            values = _data(item)
            self.sync(Location, {"practice_id": practice.pk, "name": values.pop("name")}, values)
        for item in data["providers"]:
            values = _data(item)
            self.sync(Provider, {"practice_id": practice.pk, "npi": values.pop("npi")}, values)
        for key in data["payers"]:
            payer = payers.get(key) or Payer.objects.get(key=key)
            self.sync(PracticePayer, {"practice_id": practice.pk, "payer_id": payer.pk}, {})
        return practice


@transaction.atomic
def load_defaults(demo: bool = False) -> LoadReport:
    """Load (or confirm) the default payers, payer rules and procedure profiles; with ``demo``, the demo practice
    "Demo Spine & Pain Center" (key ``demo``). Idempotent; returns what it created, updated, left unchanged and
    kept (local edits)."""
    loader = _Loader()
    payers = loader.payers()
    loader.profiles()
    loader.rules(payers)
    if demo:
        loader.demo(payers)
    services.recheck_rule_codes()  # code sets may have been loaded since a rule was last saved
    return loader.report


def demo_practice() -> Practice:
    """The demo practice, loaded (with the defaults it needs) when it is not there yet."""
    practice = Practice.objects.filter(key=DEMO_KEY).first()
    if practice is None:
        load_defaults(demo=True)
        practice = Practice.objects.get(key=DEMO_KEY)
    return practice
