"""CARC and RARC lists loaded as versioned data (fixtures/x12/), and their summaries for reports.

A list version is loaded once: the same file again is ``unchanged``; a file whose contents changed under the
same version is refused (a new list is a new version). The latest loaded version answers.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import transaction

from billing.models import AdjustmentCode, AdjustmentCodeList
from billing.x12.codelists import KINDS, CodeListError, read_code_list

FIXTURES = Path(settings.BASE_DIR) / "fixtures" / "x12"


def load_code_lists(folder: Path = FIXTURES) -> list[dict]:
    out = []
    for kind in KINDS:
        parsed = read_code_list(kind, folder / f"{kind}.csv")
        with transaction.atomic():
            existing = AdjustmentCodeList.objects.filter(kind=kind, version=parsed.version).first()
            if existing is not None:
                if existing.sha256 != parsed.sha256:
                    raise CodeListError(
                        f"{kind}.csv changed but still says version {parsed.version}: give it a new version"
                    )
                out.append({"kind": kind, "release": parsed.version, "rows": len(parsed.rows), "status": "unchanged"})
                continue
            code_list = AdjustmentCodeList.objects.create(kind=kind, version=parsed.version, sha256=parsed.sha256)
            AdjustmentCode.objects.bulk_create(
                AdjustmentCode(
                    code_list=code_list,
                    code=r.code,
                    summary=r.summary,
                    start=r.start,
                    stop=r.stop,
                    certainty=r.certainty,
                )
                for r in parsed.rows
            )
        out.append({"kind": kind, "release": parsed.version, "rows": len(parsed.rows), "status": "loaded"})
    return out


def summaries(kind: str) -> dict[str, str]:
    """Code -> our summary, from the latest loaded version of the list (empty when none is loaded)."""
    latest = AdjustmentCodeList.objects.filter(kind=kind).order_by("-loaded_at", "-id").first()
    if latest is None:
        return {}
    return dict(latest.codes.values_list("code", "summary"))
