"""export_billing_guide --procedure mild --year YYYY [--locality MAC-LOCALITY] --output PATH.xlsx (contract).

Writes the procedure's billing guide for the calendar year from the coding, payer rules and payment files loaded
in the database: national amounts, and with ``--locality`` (contractor and locality number as in the GPCI file,
e.g. ``10112-00`` for Alabama) the locality's too. ``--practice KEY`` applies that practice's own payer rules
and lists its payers. An unknown procedure, practice or locality stops with a message naming the option; the
last line of output is one JSON object saying what was written.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.guide.build import GuideError, build_guide
from billing.guide.workbook import write_billing_guide


class Command(BaseCommand):
    help = "Write the billing guide workbook (xlsx) of a procedure for a year, national or for one locality."

    def add_arguments(self, parser):
        parser.add_argument("--procedure", required=True, help="procedure profile key, e.g. mild")
        parser.add_argument("--year", required=True, type=int, help="calendar year, e.g. 2025")
        parser.add_argument("--locality", help="Medicare contractor and locality as in the GPCI file, e.g. 10112-00")
        parser.add_argument("--output", required=True, help="where to write the workbook (.xlsx)")
        parser.add_argument("--practice", help="practice key: its own payer rules and its payers (optional)")

    def handle(self, *args, **opts):
        started = time.perf_counter()
        output = Path(opts["output"])
        if output.suffix.lower() != ".xlsx":
            raise CommandError(f"--output: {output} must end in .xlsx")
        if not output.parent.is_dir():
            raise CommandError(f"--output: the folder {output.parent} does not exist")
        practice_id = None
        if opts.get("practice"):
            from practice.models import Practice

            practice_id = Practice.objects.filter(key=opts["practice"]).values_list("pk", flat=True).first()
            if practice_id is None:
                raise CommandError(f"--practice: unknown practice {opts['practice']!r}")
        try:
            guide = build_guide(opts["procedure"], opts["year"], opts.get("locality"), practice_id)
        except GuideError as exc:
            raise CommandError(f"--{exc.option}: {exc}") from exc
        # Written next to the target and moved into place: a failed write never leaves half a workbook.
        fd, tmp = tempfile.mkstemp(suffix=".xlsx", dir=output.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                write_billing_guide(guide, fh)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private: give it an ordinary file's mode
            os.replace(tmp, output)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.stdout.write(
            json.dumps(
                {
                    "procedure": opts["procedure"],
                    "year": guide.year,
                    "locality": guide.locality.code if guide.locality else None,
                    "output": str(output),
                    "payment_rows": len(guide.payments),
                    "payers": len(guide.coverage),
                    "not_loaded": [s.kind for s in guide.sources if s.label == "not loaded"],
                    "seconds": round(time.perf_counter() - started, 2),
                }
            )
        )
