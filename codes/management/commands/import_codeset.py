"""import_codeset KIND PATH [PATH ...]: load a file set as a release (contract: Command line)."""

import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Load a code-set file (or the parts of one, e.g. NCCI f1..f4) as a release of KIND."

    def add_arguments(self, parser):
        from codes.loading import IMPORT_KINDS

        parser.add_argument("kind", choices=IMPORT_KINDS)
        parser.add_argument("paths", nargs="+")
        parser.add_argument("--effective-from", type=_date)
        parser.add_argument("--effective-to", type=_date)
        parser.add_argument("--label")
        parser.add_argument("--replace", action="store_true", help="supersede a loaded release with the same start")
        parser.add_argument("--hold", action="store_true", help="load for review; do not put in force")
        parser.add_argument(
            "--expected-rows", type=int, help="the rows the file set must give (e.g. the record count CMS states)"
        )
        parser.add_argument(
            "--allow-fewer-rows",
            action="store_true",
            help="load even with far fewer rows than the release in force (CODESET_MAX_ROW_DROP)",
        )

    def handle(self, *args, **opts):
        from codes.loading import LoadError, load_files

        try:
            result = load_files(
                opts["kind"],
                opts["paths"],
                effective_from=opts["effective_from"],
                effective_to=opts["effective_to"],
                label=opts["label"],
                replace=opts["replace"],
                hold=opts["hold"],
                expected_rows=opts["expected_rows"],
                allow_fewer_rows=opts["allow_fewer_rows"],
            )
        except LoadError as exc:
            raise CommandError(f"nothing loaded: {exc}") from exc
        if result.status != "unchanged":
            self.stderr.write(f"{result.rows} rows in {result.seconds:.2f} s")
        self.stdout.write(json.dumps(result.as_json()))
