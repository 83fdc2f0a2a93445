"""export_837 --practice KEY [--claim REF ...] --output FILE: the practice's ready claims (or the named ones)
as one 837P interchange (005010X222A1). Prints one JSON object: the control number and the claims written."""

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Write the practice's ready claims (or the named ones) as one 837P file."

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True)
        parser.add_argument("--claim", action="append", dest="claims", help="a claim reference (repeatable)")
        parser.add_argument("--output", required=True)

    def handle(self, *args, **opts):
        from billing.x12.exporting import export_837
        from billing.x12.writer837 import ExportError
        from practice.models import Practice

        practice = Practice.objects.filter(key=opts["practice"]).first()
        if practice is None:
            raise CommandError(f"--practice: no practice with key {opts['practice']!r}", returncode=2)
        try:
            result = export_837(practice, opts["output"], opts["claims"])
        except ExportError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except OSError as exc:
            raise CommandError(f"--output: {exc.strerror}", returncode=2) from None
        self.stdout.write(json.dumps(result))
