"""check_claims FILE [--practice KEY]: check a claim or a JSON array of claims (contract: Command line).

Prints a JSON array of results, one per claim, in order. Exit 0 when every claim was checked (whatever it
found); exit 2 when the input itself is malformed, with the field named. In an array, a malformed claim gets its
own result in its place (status error, CLAIM_INPUT_INVALID naming the claim's index and field), the others are
checked and printed, and the exit is 2.
"""

import json
import sys
from datetime import date

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
        from billing.claims.checker import Checker
        from billing.claims.checks import store_checks
        from practice.models import Practice

        try:
            text = sys.stdin.read() if opts["file"] == "-" else open(opts["file"], encoding="utf-8").read()  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"{opts['file']}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        is_list = isinstance(data, list)
        claims = data if is_list else [data]
        if not claims:
            raise InputError("the input must be a claim object or a non-empty array of claim objects")
        if not is_list and not isinstance(data, dict):
            raise InputError("the input must be a claim object or a non-empty array of claim objects")

        practice = None
        if opts["practice"]:
            practice = Practice.objects.filter(key=opts["practice"]).first()
            if practice is None:
                raise InputError(f"--practice: no practice with key {opts['practice']!r}")
        elif Practice.objects.count() == 1:
            practice = Practice.objects.get()

        checker = Checker.create()
        checker.prefetch(c for c in claims if isinstance(c, dict))
        results, checked, malformed = [], [], []
        for i, claim in enumerate(claims):
            try:
                if not isinstance(claim, dict):
                    raise ClaimInputError({"": "A claim must be a JSON object."})
                result = checker.check(claim, practice.id if practice else None)
            except ClaimInputError as exc:
                if not is_list:
                    fields = "; ".join(f"{k or 'claim'}: {v}" for k, v in exc.errors.items())
                    raise InputError(fields) from None
                results.append(claim_input_invalid(i, claim, exc, checker.today))
                malformed.append(i)
                continue
            results.append(result)
            checked.append((result, claim))
        if practice is not None and not opts["no_store"] and checked:
            store_checks(
                practice.id,
                [{**r, "payer": c.get("payer", "")} for r, c in checked],
                source="cli",
                payloads=[c for _, c in checked],
            )
        self.stdout.write(json.dumps(results, indent=2))
        if malformed:
            shown = ", ".join(str(i) for i in malformed)
            raise InputError(
                f"{len(malformed)} of {len(claims)} claims are malformed (index {shown}): see CLAIM_INPUT_INVALID"
            )


def claim_input_invalid(index: int, claim, exc, today: date) -> dict:
    """The result in place of a malformed claim of an array (contract, check_claims): status error and one
    CLAIM_INPUT_INVALID finding per field, naming the claim's index (0-based, as in JSON) and the field.
    ``date_of_service`` is the claim's own when it is a date, else null."""
    from billing.claims.checks import input_error_result

    raw = claim.get("date_of_service") if isinstance(claim, dict) else None
    try:
        on = date.fromisoformat(raw.strip()) if isinstance(raw, str) else None
    except ValueError:
        on = None
    result = input_error_result(on or today, exc)
    result["date_of_service"] = on.isoformat() if on else None
    for finding, field in zip(result["findings"], exc.errors, strict=True):
        path = f"[{index}].{field}" if field else f"[{index}]"
        finding["message"] = f"Claim {index + 1} (index {index}), field {path}: {exc.errors[field]}"
        finding["suggestion"] = f"Correct {field or 'the claim'} in claim {index + 1} and check it again."
    return result
