"""Write realistic mild® claims as a batch-upload CSV (one row per service line, billing.uploads.reading.COLUMNS).

Each claim has 1 to 4 lines: the mild® procedure (0275T with Q0 for Medicare's CED study, or G0276 for the
Medicare PILD/placebo study), with some of 64483 (transforaminal epidural) and 62323 (interlaminar epidural),
mostly with XS, an E/M visit 99213 with modifier 25, and now and then 77003 (fluoroscopic guidance, which the
mild® code already includes). Payers: Medicare, a Medicare Advantage
plan, a Blue plan. Diagnoses: M48.062 first as a rule, Z00.6 for Medicare CED, and random codes from the
ICD-10-CM list given (valid), with some header and made-up codes (invalid). About one claim in five carries a
mistake billing staff make: Q0 forgotten, the trial number missing or mistyped, a bad NPI check digit, a pointer
past the diagnoses, filed late, a place of service that does not exist, a unit that is not a number.

    python bench/gen_claims.py --claims 10000 --out /tmp/claims.csv --seed 1

Without a list of codes (``diagnoses=None``) the valid diagnoses come from the ICD-10-CM release shipped by
simple-icd-10-cm (every code, billable or not, as a real export would mix them up).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

COLUMNS = (
    "claim_ref",
    "payer",
    "claim_type",
    "place_of_service",
    "date_of_service",
    "submitted_on",
    "rendering_npi",
    "diagnoses",
    "clinical_trial_number",
    "prior_authorization_number",
    "condition_codes",
    "line_date_of_service",
    "code",
    "modifiers",
    "units",
    "diagnosis_pointers",
    "charge",
)
NPIS = ("1234567893", "1245319599", "1679576722")  # valid check digits
BAD_NPI = "1234567890"
TRIAL = "NCT03072927"
FIRST_DAY, LAST_DAY = date(2026, 4, 1), date(2026, 9, 30)  # the shipped ICD-10-CM April 2026 release
CHARGES = {"0275T": "9500.00", "G0276": "9500.00", "77003": "250.00", "64483": "900.00", "62323": "650.00"}
CHARGES["99213"] = "150.00"


def _diagnosis_pool(diagnoses: list[str] | None) -> list[str]:
    if diagnoses:
        return list(diagnoses)
    import simple_icd_10_cm

    return [c for c in simple_icd_10_cm.get_all_codes(True) if len(c) > 3]


def claims(count: int, seed: int = 1, diagnoses: list[str] | None = None):
    """Yield ``count`` claims as lists of upload rows (dicts by column)."""
    rng = random.Random(seed)
    pool = _diagnosis_pool(diagnoses)
    span = (LAST_DAY - FIRST_DAY).days
    for n in range(count):
        payer = rng.choices(("medicare", "medicare-advantage", "commercial-bcbs"), (65, 20, 15))[0]
        ced = payer != "commercial-bcbs"  # Medicare and the Advantage plan cover mild® only in a CED study
        dos = FIRST_DAY + timedelta(days=rng.randint(0, span))
        submitted = dos + timedelta(days=rng.randint(1, 20))
        pos = rng.choices(("24", "22", "11"), (65, 30, 5))[0]
        npi = rng.choice(NPIS)
        dx = ["M48.062"]
        if ced:
            dx.append("Z00.6")
        dx += rng.sample(pool, rng.choice((0, 0, 1, 2)))
        trial = TRIAL if ced else ""
        prior_auth = f"PA{rng.randint(100000, 999999)}" if payer == "commercial-bcbs" and rng.random() < 0.6 else ""
        procedure = "G0276" if payer == "medicare" and rng.random() < 0.2 else "0275T"
        lines = [[procedure, ["Q0"] if ced else [], 1]]
        for code, chance in (("64483", 0.2), ("62323", 0.12), ("99213", 0.25), ("77003", 0.06)):
            if rng.random() < chance:
                modifiers = ["25"] if code == "99213" else (["XS"] if code != "77003" and rng.random() < 0.7 else [])
                lines.append([code, modifiers, rng.choice((1, 1, 1, 2)) if code == "64483" else 1])
        units_text = None

        # About one claim in five has a mistake.
        roll = rng.random()
        if roll < 0.04 and lines[0][1]:
            lines[0][1] = []  # Q0 forgotten
        elif roll < 0.07 and trial:
            trial = rng.choice(("", "NCT0307292", "03072927"))  # missing or mistyped
        elif roll < 0.09:
            npi = BAD_NPI
        elif roll < 0.12:
            dx.append(rng.choice(("M48.06", "M54.5", "Q99.999", "M4806X")))  # header, retired, unknown
        elif roll < 0.14:
            dx = dx[:1]  # Z00.6 dropped
        elif roll < 0.16:
            submitted = dos + timedelta(days=rng.randint(400, 500))  # past the filing limit
        elif roll < 0.17:
            pos = "00"
        elif roll < 0.18:
            units_text = "two"  # not a number: the claim cannot be read
        elif roll < 0.20:
            lines.append(["0275T", list(lines[0][1]), 1])  # the same line twice
        dx = list(dict.fromkeys(dx))[:12]
        rows = []
        for i, (code, modifiers, units) in enumerate(lines[:4]):
            pointers = [1] if i else list(range(1, min(len(dx), 4) + 1))
            if roll >= 0.995:
                pointers = [len(dx) + 1]
            rows.append(
                {
                    "claim_ref": f"B{n + 1:06d}",
                    "payer": payer,
                    "claim_type": "professional",
                    "place_of_service": pos,
                    "date_of_service": dos.isoformat(),
                    "submitted_on": submitted.isoformat(),
                    "rendering_npi": npi,
                    "diagnoses": "; ".join(dx),
                    "clinical_trial_number": trial,
                    "prior_authorization_number": prior_auth,
                    "condition_codes": "",
                    "line_date_of_service": "",
                    "code": code,
                    "modifiers": " ".join(modifiers),
                    "units": units_text if (units_text and i == len(lines) - 1) else str(units),
                    "diagnosis_pointers": ";".join(str(p) for p in pointers),
                    "charge": CHARGES[code],
                }
            )
        yield rows


def generate(out: Path, count: int, seed: int = 1, diagnoses: list[str] | None = None) -> tuple[int, int]:
    """Write the CSV; returns (claims, rows)."""
    written = 0
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        for rows in claims(count, seed, diagnoses):
            writer.writerows(rows)
            written += len(rows)
    return count, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    count, rows = generate(args.out, args.claims, args.seed)
    print(f"wrote {count} claims ({rows} rows) to {args.out} in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
