"""Helpers for the batch-upload tests: contract claims as upload rows, the contract's examples, eager Celery."""

from __future__ import annotations

import csv
import io
import json

import pytest

from billing.uploads import reading as uploads
from tests.testdata import EXAMPLES

EXAMPLES_DIR = EXAMPLES


def examples_without_requirements() -> dict[str, dict]:
    """The contract's example claims that run on the default data alone, by file stem."""
    out = {}
    for path in sorted(EXAMPLES_DIR.glob("*.json")):
        example = json.loads(path.read_text())
        if not example.get("requires"):
            out[path.stem] = example
    return out


def claim_rows(ref: str, claim: dict) -> list[dict]:
    """A contract claim as upload rows (one per line), claim-level columns repeated on every row."""
    head = {
        "claim_ref": ref,
        "payer": claim.get("payer") or "",
        "claim_type": claim.get("claim_type") or "",
        "place_of_service": claim.get("place_of_service") or "",
        "date_of_service": claim.get("date_of_service") or "",
        "submitted_on": claim.get("submitted_on") or "",
        "rendering_npi": claim.get("rendering_npi") or "",
        "diagnoses": "; ".join(claim.get("diagnoses") or []),
        "clinical_trial_number": claim.get("clinical_trial_number") or "",
        "prior_authorization_number": claim.get("prior_authorization_number") or "",
        "condition_codes": " ".join(claim.get("condition_codes") or []),
    }
    return [
        {
            **head,
            "line_date_of_service": line.get("date_of_service") or "",
            "code": line["code"],
            "modifiers": " ".join(line.get("modifiers") or []),
            "units": str(line.get("units", "")),
            "diagnosis_pointers": ";".join(str(p) for p in line.get("diagnosis_pointers") or []),
            "charge": line.get("charge") or "",
        }
        for line in claim["lines"]
    ]


def csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=uploads.COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def eager_celery(settings, tmp_path):
    """Tasks run in-process (as with no Redis) even when the suite runs with REDIS_URL; files in a temp folder."""
    from config.celery import app

    settings.MEDIA_ROOT = str(tmp_path / "media")
    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
