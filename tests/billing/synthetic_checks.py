"""Synthetic checked claims for the report tests and the benchmark (deterministic for a seed)."""

from __future__ import annotations

import random
from collections.abc import Iterator

from billing.reports.figures import CLEAN, ERRORS, WARNINGS, CheckRecord

PAYERS = (
    "Medicare Part B",
    "UnitedHealthcare Medicare Advantage",
    "Blue Cross NC",
    "Anthem (Elevance)",
    "Aetna",
    "Cigna",
    "Humana",
    "HealthPartners",
)
PRACTICES = ("Spine Center", "Pain Clinic", "Valley Orthopaedics")
ERROR_RULES = (
    "medicare.nct-missing",
    "medicare.q0-missing",
    "medicare.z006-position",
    "dx.not-billable",
    "ncci.ptp",
    "payer.not-covered",
)
WARNING_RULES = ("medicare.pos-limit", "mue.units", "pfs.carrier-priced")
RULE_TITLES = {
    "medicare.nct-missing": "Medicare CED claim without the NCT number",
    "medicare.q0-missing": "0275T without modifier Q0 on a Medicare CED claim",
    "medicare.z006-position": "Z00.6 missing or not a secondary diagnosis",
    "dx.not-billable": "Diagnosis is a header, not billable",
    "ncci.ptp": "NCCI procedure-to-procedure edit",
    "payer.not-covered": "Payer treats mild® as investigational",
    "medicare.pos-limit": "Place of service outside 22/24 (unverified limit)",
    "mue.units": "Units above the MUE",
    "pfs.carrier-priced": "Carrier priced: no national amount",
}
MONTHS = tuple(f"2025-{m:02d}" for m in range(1, 13))


def synthetic_checks(n: int, seed: int = 7, months: tuple[str, ...] = MONTHS) -> Iterator[CheckRecord]:
    """``n`` checked claims: about 30% with errors, 15% with warnings only, the rest clean.

    Payers and rules are skewed (Medicare and the NCT rule most often), as in a real practice.
    """
    rng = random.Random(seed)
    payer_weights = (30, 10, 12, 10, 10, 10, 10, 8)
    error_weights = (30, 20, 15, 15, 10, 10)
    for i in range(n):
        payer = rng.choices(PAYERS, payer_weights)[0]
        r = rng.random()
        rules: tuple[str, ...] = ()
        if r < 0.30:
            status = ERRORS
            rules = tuple(dict.fromkeys(rng.choices(ERROR_RULES, error_weights, k=rng.choice((1, 1, 2)))))
            if rng.random() < 0.3:
                rules += (rng.choice(WARNING_RULES),)
        elif r < 0.45:
            status = WARNINGS
            rules = (rng.choice(WARNING_RULES),)
        else:
            status = CLEAN
        yield CheckRecord(f"CLM-{i:07d}", rng.choice(PRACTICES), payer, rng.choice(months), status, rules)
