"""lookup_code SYSTEM CODE [CODE ...] [--on DATE]: one JSON object a line (contract: Command line)."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone


class Command(BaseCommand):
    help = "Look codes up as of a date: icd10cm, procedure (cpt, hcpcs), modifier or pos."

    def add_arguments(self, parser):
        parser.add_argument("system")
        parser.add_argument("codes", nargs="+")
        parser.add_argument("--on", help="date of service, YYYY-MM-DD (default: today)")

    def handle(self, *args, **opts):
        from codes.selectors import LOOKUP_SYSTEMS, lookup, snapshot_on

        if opts["system"].lower() not in LOOKUP_SYSTEMS:
            raise CommandError(f"unknown system {opts['system']!r}: one of {', '.join(LOOKUP_SYSTEMS)}")
        try:
            on = date.fromisoformat(opts["on"]) if opts["on"] else timezone.localdate()
        except ValueError:
            raise CommandError(f"--on {opts['on']!r} is not a date (YYYY-MM-DD)") from None
        snap = snapshot_on(on)
        for code in opts["codes"]:
            self.stdout.write(json.dumps(lookup(opts["system"], code, on, snapshot=snap)))
