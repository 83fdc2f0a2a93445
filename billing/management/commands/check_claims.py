"""check_claims FILE [--practice KEY]: check a claim or a JSON array of claims (contract: Command line).

Prints a JSON array of results, one per claim, in order. Exit 0 when every claim was checked (whatever it
found); exit 2 when the input itself is malformed, with the field named.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError


class InputError(CommandError):
    def __init__(self, message):
        super().__init__(message, returncode=2)


class Command(BaseCommand):
    help = "Check claims from a JSON file (a claim object or an array; '-' for standard input)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--practice", help="practice key (default: the only practice, else global rules only)")
        parser.add_argument("--no-store", action="store_true", help="do not keep the checks")

    def handle(self, *args, **opts):
        from billing.checking.claim import ClaimInputError
        from billing.services import Checker, store_checks
        from practice.models import Practice

        try:
            text = sys.stdin.read() if opts["file"] == "-" else open(opts["file"], encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"{opts['file']}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        claims = data if isinstance(data, list) else [data]
        if not claims or not all(isinstance(c, dict) for c in claims):
            raise InputError("the input must be a claim object or a non-empty array of claim objects")

        practice = None
        if opts["practice"]:
            practice = Practice.objects.filter(key=opts["practice"]).first()
            if practice is None:
                raise InputError(f"--practice: no practice with key {opts['practice']!r}")
        elif Practice.objects.count() == 1:
            practice = Practice.objects.get()

        checker = Checker.create()
        results = []
        for i, claim in enumerate(claims):
            try:
                results.append(checker.check(claim, practice.id if practice else None))
            except ClaimInputError as exc:
                where = f"claim {i + 1}: " if isinstance(data, list) else ""
                fields = "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
                raise InputError(f"{where}{fields}") from None
        if practice is not None and not opts["no_store"]:
            store_checks(
                practice.id,
                [{**r, "payer": c.get("payer", "")} for r, c in zip(results, claims)],
                source="cli",
                payloads=claims,
            )
        self.stdout.write(json.dumps(results, indent=2))
