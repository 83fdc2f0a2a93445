"""refresh_codesets [--kind KIND | --all] [--url URL] [--wait] | --list: queue code-set refreshes, or list the
configured sources (contract: Command line)."""

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Queue the refresh of every configured source (or of one kind, or of one file at a URL) as Celery jobs; "
        "with --wait, wait and print one JSON line per run."
    )

    def add_arguments(self, parser):
        from codes.loading import IMPORT_KINDS

        parser.add_argument("--kind", choices=IMPORT_KINDS)
        parser.add_argument("--all", action="store_true", help="refresh every configured (enabled) source")
        parser.add_argument(
            "--list", action="store_true", help="print the configured sources, one JSON line each, and stop"
        )
        parser.add_argument("--url", help="one file (or zip) at an https://, http:// or file:// address")
        parser.add_argument("--member", default="", help="with --url: the zip member(s) to load, a pattern")
        parser.add_argument("--wait", action="store_true", help="wait for the runs and print their outcome")
        parser.add_argument("--timeout", type=float, default=6 * 3600, help="with --wait: seconds (default 6 h)")

    def execute(self, *args, **options):
        from config.jobs import JobNotQueued

        try:
            return super().execute(*args, **options)
        except JobNotQueued:  # the run is saved, queued: the sweeper (jobs.sweep) sends it when the broker is back
            raise CommandError(
                "the job queue (Redis) did not answer: the refresh run is saved as queued and is sent by itself "
                "when the queue is back (or run this again then)"
            ) from None

    def handle(self, *args, **opts):
        from codes import refresh
        from codes.models import RefreshRun, Source

        kind, url = opts["kind"], opts["url"]
        if opts["list"]:
            return self._list(kind)
        if opts["all"] and (kind or url):
            raise CommandError("--all refreshes every configured source: give it without --kind and --url")
        if url:
            if not url.lower().startswith(("https://", "http://", "file://")):
                raise CommandError(f"--url {url!r}: give an https://, http:// or file:// address")
            kind = kind or refresh.infer_kind(url)
            if kind is None:
                raise CommandError(f"cannot tell which code set {url} is from its name: give --kind")
            runs = [refresh.enqueue(kind=kind, url=url, member=opts["member"], trigger="command")]
        else:
            sources = Source.objects.filter(enabled=True)
            if kind:
                sources = sources.filter(kind=kind)
            if not sources:
                what = f"for {kind} " if kind else ""
                raise CommandError(
                    f"no source is configured {what}(add one in the admin: Code sets > Sources), or give --url"
                )
            runs = [refresh.enqueue(source=s, trigger="command") for s in sources]
        if not opts["wait"]:  # in-process (no REDIS_URL) the runs are already done: say how they ended
            for run in RefreshRun.objects.filter(pk__in=[r.pk for r in runs]).select_related("release"):
                self.stdout.write(json.dumps(run.as_json()))
            return
        finished = refresh.wait_for([r.pk for r in runs], opts["timeout"])
        failed = 0
        for run in finished:
            line = run.as_json()
            if not run.finished:
                line.update(status=RefreshRun.Status.FAILED, error=f"still {run.status} after {opts['timeout']:g} s")
            failed += line["status"] == RefreshRun.Status.FAILED
            self.stdout.write(json.dumps(line))
        if failed:
            raise CommandError(f"{failed} of {len(finished)} refresh runs failed", returncode=1)

    def _list(self, kind):
        from codes import refresh
        from codes.models import Source

        sources = Source.objects.all()
        if kind:
            sources = sources.filter(kind=kind)
        for source in sources:
            line = {
                "kind": source.kind,
                "url": source.url,
                "schedule": refresh.schedule_of(source),
                "name": source.name,
                "member": source.member or None,
                "enabled": source.enabled,
            }
            self.stdout.write(json.dumps(line))
