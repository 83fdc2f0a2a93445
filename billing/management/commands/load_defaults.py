"""load_defaults [--demo]: the default data, idempotent (contract: Command line).

Code sets from fixtures/ and the ICD-10-CM release shipped by simple-icd-10-cm, the procedure profiles, payers
and their rules, the role groups; with --demo a demo practice, users billing / manager / admin (password demo)
and two draft claims to check. --demo is refused under production settings.
"""

import json
import os

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

DEMO_PASSWORD = "demo"  # noqa: S105 (demo users only; refused under production settings)


class Command(BaseCommand):
    help = "Load the default code sets, procedure profiles, payers and rules (and, with --demo, demo data)."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="add a demo practice with demo users")

    def handle(self, *args, **opts):
        if opts["demo"] and _settings_module().endswith("production"):
            raise CommandError("--demo is refused under production settings (it creates users with a known password)")
        from codes.defaults import load_default_codesets
        from config.roles import sync_groups
        from practice.defaults import load_defaults

        for result in load_default_codesets():
            self.stdout.write(json.dumps(result.as_json()))
        load_defaults(demo=opts["demo"])
        from billing.denials.adjustment_codes import load_code_lists

        for result in load_code_lists():
            self.stdout.write(json.dumps(result))
        sync_groups()
        from codes.refresh.sources import ensure_default_sources  # CMS's address for every kind but cpt

        created = ensure_default_sources()
        self.stdout.write(json.dumps({"sources": "ready", "created": [s.kind for s in created]}))
        if opts["demo"]:
            self._demo()
        self.stdout.write(json.dumps({"defaults": "loaded", "demo": bool(opts["demo"])}))

    @transaction.atomic
    def _demo(self):
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from billing.claims.demo import create_demo_claims
        from config.roles import BILLING_STAFF, PRACTICE_MANAGERS
        from practice.defaults import demo_practice
        from practice.models import PracticeMembership

        practice = demo_practice()
        User = get_user_model()
        for username, group, superuser in (
            ("billing", BILLING_STAFF, False),
            ("manager", PRACTICE_MANAGERS, False),
            ("admin", None, True),
        ):
            user, created = User.objects.get_or_create(
                username=username, defaults={"is_staff": True, "is_superuser": superuser}
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
            PracticeMembership.objects.get_or_create(user=user, practice=practice)
        create_demo_claims(practice)


def _settings_module() -> str:
    """The settings module's name. Under override_settings (as pytest-django's live server applies for the whole
    session) settings.SETTINGS_MODULE reads None, so fall back to the environment."""
    return settings.SETTINGS_MODULE or os.environ.get("DJANGO_SETTINGS_MODULE", "")
