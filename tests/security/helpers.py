"""Helpers of the security tests: the roles, request bodies, and the figures the tests measure."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from config.roles import BILLING_STAFF, CODESET_ADMINS, PRACTICE_MANAGERS

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"

# role -> (group, practice it works for, superuser)
ROLES = {
    "anonymous": (None, None, False),
    "billing": (BILLING_STAFF, "demo", False),
    "manager": (PRACTICE_MANAGERS, "demo", False),
    "codeset_admin": (CODESET_ADMINS, "demo", False),
    "superuser": (None, None, True),
    "other_billing": (BILLING_STAFF, "other", False),  # billing staff of ANOTHER practice
    "no_role": (None, "demo", False),  # staff of practice A without any role: default deny
}


def claim_body(**overrides) -> dict:
    """A draft claim as the API takes it (payer medicare, billed by both practices)."""
    body = {
        "reference": "NEW-1",
        "payer": "medicare",
        "claim_type": "professional",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "submitted_on": "2026-05-11",
        "rendering_npi": "1234567893",
        "diagnoses": ["M48.062", "Z00.6"],
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": "",
        "condition_codes": [],
        "lines": [
            {"number": 1, "code": "0275T", "modifiers": ["Q0"], "units": 1, "diagnosis_pointers": [1, 2]},
        ],
    }
    body.update(overrides)
    return body


def contract_claim(**overrides) -> dict:
    """A claim in the contract's format (POST /api/v1/claims/check)."""
    body = {
        "payer": "medicare",
        "claim_type": "professional",
        "place_of_service": "24",
        "date_of_service": "2026-03-02",
        "submitted_on": "2026-03-09",
        "rendering_npi": "1234567893",
        "diagnoses": ["M48.062", "Z00.6"],
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": None,
        "condition_codes": [],
        "lines": [
            {"code": "0275T", "modifiers": ["Q0"], "units": 1, "diagnosis_pointers": [1, 2], "charge": "9500.00"}
        ],
    }
    body.update(overrides)
    return body


FIGURES_DIR = Path(settings.VAR_DIR) / "security-figures"


def record_figures(name: str, figures: dict) -> None:
    """Keep what a test measured (var/security-figures/NAME.json) and print it (seen with -s or on failure);
    ``python -m tests.security.figures`` prints them all for docs/security.md."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    (FIGURES_DIR / f"{name}.json").write_text(json.dumps(figures, indent=1, sort_keys=True, default=str))
    print(f"[security figures] {name}: {json.dumps(figures, sort_keys=True, default=str)}")
