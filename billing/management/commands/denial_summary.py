"""denial_summary --practice KEY [--since YYYY-MM-DD]: the practice's denials from posted 835s, one JSON object
a line: {"payer", "carc", "rarc", "code", "count", "amount", "rule", "caught_before"} (contract: Command line),
grouped by payer x CARC x RARC x procedure; "group" (CO, OA...) and "rate" are added."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Summarise the practice's denials by payer, CARC, RARC and procedure, with the rule that catches them."

    def add_arguments(self, parser):
        parser.add_argument("--practice", required=True)
        parser.add_argument("--since", help="dates of service from this day (YYYY-MM-DD)")

    def handle(self, *args, **opts):
        from billing.denials.data import payment_facts
        from billing.denials.summary import summarise
        from practice.models import Practice

        practice = Practice.objects.filter(key=opts["practice"]).first()
        if practice is None:
            raise CommandError(f"--practice: no practice with key {opts['practice']!r}", returncode=2)
        since = None
        if opts["since"]:
            try:
                since = date.fromisoformat(opts["since"])
            except ValueError:
                raise CommandError("--since: a date written YYYY-MM-DD", returncode=2) from None
        for row in summarise(payment_facts(practice, since), by_month=False):
            self.stdout.write(
                json.dumps(
                    {
                        "payer": row["payer"],
                        "carc": row["carc"],
                        "rarc": row["rarc"],
                        "code": row["code"],
                        "count": row["count"],
                        "amount": row["amount"],
                        "rule": row["rule"],
                        "caught_before": row["caught_before"],
                        "group": row["group"],
                        "rate": row["rate"],
                    }
                )
            )
