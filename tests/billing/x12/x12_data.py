"""Shared set-up for the X12 tests: the demo practice's X12 settings and a small NCCI PTP table.

The PTP table is written here in the CMS layout (LAYOUTS.md 3.1) with one real-shaped pair, 64483 (column 1)
and 77003 (column 2), modifier indicator 0: fluoroscopic guidance is part of the transforaminal injection.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "data" / "x12"
ROUND_TRIP_837 = DATA / "837p_mild_round_trip.txt"

PTP_TEXT = (
    "CPT only copyright 2025 American Medical Association.  All rights reserved.\t\t\t\t\t\t\n"
    "Column1/Column2 Edits\t\t\t\t\t\t\n"
    "Column 1\tColumn 2\t*=in existence\tEffective\tDeletion\tModifier\tPTP Edit Rationale\n"
    "\t\tprior to 1996\tDate\tDate\t0=not allowed\t\n"
    "\t\t\t\t*=no data\t1=allowed\t\n"
    "\t\t\t\t\t9=not applicable\t\n"
    "64483\t77003\t\t20100101\t*\t0\tCPT Manual or CMS manual coding instruction\n"
)


def load_ptp(tmp_path: Path) -> None:
    from codes import snapshot as k
    from codes.loading import load_files

    path = tmp_path / "ccipra-v321r0-f1.txt"
    path.write_text(PTP_TEXT, encoding="latin-1")
    load_files(k.PTP_PRACTITIONER, [path], effective_from=date(2026, 1, 1), effective_to=date(2026, 6, 30))


def x12_practice():
    """The demo practice with its clearinghouse settings and Medicare's payer id 10112 (Jurisdiction J)."""
    from billing.models import X12Partner, X12PayerId
    from practice.models import Payer, Practice

    practice = Practice.objects.get(key="demo")
    practice.tax_id = "630000001"
    practice.save(update_fields=["tax_id"])
    X12Partner.objects.update_or_create(
        practice=practice,
        defaults={
            "submitter_id": "DEMOSUBMIT",
            "submitter_name": "DEMO SPINE AND PAIN CENTER",
            "contact_name": "BILLING OFFICE",
            "contact_phone": "2055550100",
            "receiver_id": "CLEARINGHOUSE",
            "receiver_name": "DEMO CLEARINGHOUSE",
            "billing_address": "100 MAIN STREET",
            "billing_city": "BIRMINGHAM",
            "billing_state": "AL",
            "billing_zip": "352030000",
            "taxonomy_code": "208VP0014X",
        },
    )
    for key, identifier, indicator in (("medicare", "10112", "MB"), ("commercial-bcbs", "00510", "BL")):
        X12PayerId.objects.update_or_create(
            practice=practice,
            payer=Payer.objects.get(key=key),
            defaults={"identifier": identifier, "claim_filing_indicator": indicator},
        )
    return practice


def x12valid(path: Path) -> tuple[bool, str]:
    """pyx12's x12valid on the file (its X222A1 / X221A1 maps): (no errors, what it said)."""
    import subprocess
    import sys

    script = Path(sys.executable).parent / "x12valid"
    done = subprocess.run(  # noqa: S603 (our own file, the installed script)
        [str(script), str(path)], capture_output=True, text=True, timeout=120, cwd=path.parent, check=False
    )
    said = done.stdout + done.stderr
    # the console script exits 1 even on success (sys.exit(True)): its verdict is the last line, OK or Failure
    return "ERROR" not in said and said.strip().endswith(": OK"), said
