"""import_x12 FILE [--practice KEY]: read an 837P or an 835 (by ST01) and print one JSON object a line.

837P: one line per claim, ``{"claim_ref", "status", "findings", "draft_claim"}`` or ``{"claim_ref", "error"}``.
835: one line per claim payment, ``{"claim_ref", "matched", "status", "paid", "adjustments", "remarks"}``.
Exit 0 when the file was read (whatever it found); 2 when it is not X12 at all, or not a whole interchange
(then nothing is stored and the message names the segment). Contract: Command line.
"""

import json

from django.core.management.base import BaseCommand, CommandError


class InputError(CommandError):
    def __init__(self, message):
        super().__init__(message, returncode=2)


class Command(BaseCommand):
    help = "Import an X12 837P (claims) or 835 (remittance) file for a practice."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--practice", help="practice key (default: the only practice)")

    def handle(self, *args, **opts):
        from billing.x12.importing import NotX12Error, X12FileError, import_835, import_837, transaction_type
        from practice.models import Practice

        practice = _practice(opts["practice"], Practice)
        path = opts["file"]
        try:
            with open(path, encoding="latin-1", newline="") as stream:
                kind = transaction_type(stream)
                stream.seek(0)
                if kind == "837":
                    results = import_837(stream, practice, source_name=path)
                elif kind == "835":
                    results = import_835(stream, practice, source_name=path)
                else:
                    raise InputError(f"{path}: transaction set {kind!r} is neither an 837P nor an 835")
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from None
        except NotX12Error as exc:
            raise InputError(f"{path}: {exc}") from None
        except X12FileError as exc:
            raise InputError(f"{path}: nothing imported: {exc}") from None
        for result in results:
            self.stdout.write(json.dumps(result))


def _practice(key, Practice):
    if key:
        practice = Practice.objects.filter(key=key).first()
        if practice is None:
            raise InputError(f"--practice: no practice with key {key!r}")
        return practice
    practices = list(Practice.objects.all()[:2])
    if len(practices) != 1:
        raise InputError("--practice KEY is required when there is not exactly one practice")
    return practices[0]
