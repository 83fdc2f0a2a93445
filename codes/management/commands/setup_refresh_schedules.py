"""setup_refresh_schedules: the PeriodicTasks (django-celery-beat) of the code-set sources. Run at deploy."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Create or update one scheduled refresh per code-set source (quarterly for NCCI, MUE, HCPCS, OPPS and "
        "ASC; April and October for ICD-10-CM; January for the PFS files), and remove those of deleted sources. "
        "Idempotent."
    )

    def handle(self, *args, **opts):
        from codes.refresh import setup_schedules

        synced, removed = setup_schedules()
        self.stdout.write(f"{synced} source schedule(s) set up, {removed} removed")
