"""The coding held, plainly: for every kind of code set, what is in force today (release, last day covered), or
that nothing loaded covers today (stale), or that nothing was ever loaded; with its source and its last refresh.
The admin's first page shows it (``codes.templatetags.codes_admin``); the code-set administrator fetches from there.
"""

from __future__ import annotations

from datetime import date

from django.db.models import OuterRef, Subquery

from codes import refresh
from codes import snapshot as k
from codes.models import RefreshRun, Source
from codes.selectors import freshness

IN_FORCE, STALE, NEVER = "in force", "stale", "never loaded"
NO_SOURCE = {k.CPT: "licensed AMA file: load it with import_codeset cpt"}


def coding_status(today: date, user=None) -> list[dict]:
    """One row per kind: state, release in force, covers to, source, last run, and whether ``user`` may fetch."""
    latest = RefreshRun.objects.filter(source=OuterRef("pk")).order_by("-queued_at", "-id")
    sources: dict[str, Source] = {}
    for source in Source.objects.annotate(
        last_status=Subquery(latest.values("status")[:1]), last_id=Subquery(latest.values("id")[:1])
    ).order_by("-enabled", "name", "id"):
        sources.setdefault(source.kind, source)  # the enabled one first
    can_fetch = bool(user is not None and user.has_perm("codes.change_source"))
    rows = []
    for fresh in freshness(today):
        kind = fresh["kind"]
        current = fresh["current"]
        state = IN_FORCE if current is not None else STALE if fresh["loaded"] else NEVER
        source = sources.get(kind)
        rows.append(
            {
                "kind": kind,
                "label": fresh["label"],
                "state": state,
                "release": current.label if current is not None else "",
                "covers_to": (current.effective_to if current is not None else fresh["last_day"]),
                "open_ended": current is not None and current.effective_to is None,
                "source": source,
                "schedule": dict(Source.Schedule.choices).get(refresh.schedule_of(source)) if source else "",
                "no_source": NO_SOURCE.get(kind, "shipped with the project (fixtures)" if source is None else ""),
                "last_status": getattr(source, "last_status", None) or "",
                "last_id": getattr(source, "last_id", None),
                "can_fetch": can_fetch and source is not None and source.enabled,
            }
        )
    return rows


def fetch_now(source: Source, user) -> RefreshRun:
    """Queue a refresh of ``source`` for a web page: never runs inside the request."""
    return refresh.enqueue(source=source, trigger="admin", user=user, background=True)
