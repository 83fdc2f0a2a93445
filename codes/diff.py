"""What changed between two releases of one kind: codes added, removed, terminated, changed.

``diff_rows`` is pure (two dicts of row objects by key); ``diff_releases`` reads the two releases. For the
NCCI PTP tables (millions of rows) the comparison runs in the database on the pair keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, is_dataclass

from django.db.models import Exists, OuterRef, Q

from codes import kinds, models

# Fields that matter to billing staff, per kind (others are compared too but reported only if these change).
IGNORED_FIELDS = {"short_description"}


@dataclass
class Change:
    key: object
    kind: str  # "added" | "removed" | "terminated" | "changed"
    fields: dict[str, tuple] = field(default_factory=dict)  # name -> (old, new)

    @property
    def code(self) -> str:
        return self.key[0] if isinstance(self.key, tuple) else str(self.key)

    def describe(self) -> str:
        if self.kind in ("added", "removed"):
            return f"{self.key_text()} {self.kind}"
        parts = [f"{name}: {_fmt(old)} -> {_fmt(new)}" for name, (old, new) in self.fields.items()]
        return f"{self.key_text()} {self.kind} ({'; '.join(parts)})"

    def key_text(self) -> str:
        if isinstance(self.key, tuple):
            return " ".join(str(x) for x in self.key if x)
        return str(self.key)


def _fmt(value) -> str:
    return "-" if value in (None, "") else str(value)


@dataclass
class ReleaseDiff:
    kind: str
    old_label: str
    new_label: str
    changes: list[Change]

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "removed": 0, "terminated": 0, "changed": 0}
        for c in self.changes:
            out[c.kind] += 1
        return out

    def codes(self) -> set[str]:
        return {c.code for c in self.changes}

    def as_json(self, limit: int = 500) -> dict:
        return {
            "kind": self.kind,
            "old": self.old_label,
            "new": self.new_label,
            "counts": self.counts(),
            "changes": [
                {
                    "key": c.key_text(),
                    "change": c.kind,
                    "fields": {n: [_fmt(o), _fmt(v)] for n, (o, v) in c.fields.items()},
                }
                for c in self.changes[:limit]
            ],
            "truncated": len(self.changes) > limit,
        }


def _as_dict(row) -> dict:
    if is_dataclass(row):
        return {f.name: getattr(row, f.name) for f in fields(row)}
    return dict(row)


def diff_rows(kind: str, old: dict, new: dict, old_label: str = "", new_label: str = "") -> ReleaseDiff:
    """Compare two releases' rows by key. A row that gains a termination date is 'terminated'."""
    changes: list[Change] = []
    for key in sorted(new.keys() - old.keys(), key=str):
        changes.append(Change(key, "added"))
    for key in sorted(old.keys() - new.keys(), key=str):
        changes.append(Change(key, "removed"))
    for key in sorted(old.keys() & new.keys(), key=str):
        a, b = _as_dict(old[key]), _as_dict(new[key])
        if a == b:
            continue
        diffs = {n: (a.get(n), b.get(n)) for n in b if n not in IGNORED_FIELDS and a.get(n) != b.get(n)}
        if not diffs:
            continue
        ended = ("terminated" in diffs and diffs["terminated"][1]) or (
            "effective_to" in diffs and diffs["effective_to"][1]
        )
        changes.append(Change(key, "terminated" if ended else "changed", diffs))
    return ReleaseDiff(kind, old_label, new_label, changes)


def diff_releases(old: models.Release, new: models.Release, limit: int = 5000, codes=None) -> ReleaseDiff:
    """``codes``: only the NCCI PTP pairs with one of these codes (its lists are cut at ``limit`` otherwise)."""
    if old.kind != new.kind:
        raise ValueError(f"cannot compare a {old.kind} release with a {new.kind} release")
    if kinds.get(new.kind).in_database:
        return _diff_ptp(old, new, limit, codes)
    from codes.selectors import _rows_of

    return diff_rows(new.kind, _rows_of(old), _rows_of(new), old.label, new.label)


def _diff_ptp(old: models.Release, new: models.Release, limit: int, codes=None) -> ReleaseDiff:
    """PTP pairs added (new key), removed, or given a deletion date, compared in the database."""
    cols = ("column1", "column2", "effective")

    def rows_of(release):
        rows = models.PtpEdit.objects.filter(release_id=release.id)
        if codes is not None:
            rows = rows.filter(Q(column1__in=codes) | Q(column2__in=codes))
        return rows

    def missing_in(base, other):
        same = models.PtpEdit.objects.filter(release_id=other.id, **{c: OuterRef(c) for c in cols})
        return rows_of(base).exclude(Exists(same))

    changes: list[Change] = []
    for row in missing_in(new, old).values_list("column1", "column2", "modifier_indicator")[:limit]:
        changes.append(Change((row[0], row[1]), "added", {"modifier_indicator": (None, row[2])}))
    for row in missing_in(old, new).values_list("column1", "column2")[:limit]:
        changes.append(Change((row[0], row[1]), "removed"))
    newly_deleted = (
        rows_of(new)
        .filter(
            deleted__isnull=False,
        )
        .filter(
            Exists(
                models.PtpEdit.objects.filter(release_id=old.id, deleted__isnull=True, **{c: OuterRef(c) for c in cols})
            )
        )
    )
    for c1, c2, d in newly_deleted.values_list("column1", "column2", "deleted")[:limit]:
        changes.append(Change((c1, c2), "terminated", {"deleted": (None, d)}))
    return ReleaseDiff(new.kind, old.label, new.label, changes)


def previous_release(release: models.Release) -> models.Release | None:
    """The release of the same kind in force just before this one (by start date), loaded or superseded."""
    return (
        models.Release.objects.filter(
            kind=release.kind,
            status__in=[models.Release.Status.LOADED, models.Release.Status.SUPERSEDED],
            effective_from__lte=release.effective_from,
        )
        .exclude(pk=release.pk)
        .order_by("-effective_from", "-id")
        .first()
    )
