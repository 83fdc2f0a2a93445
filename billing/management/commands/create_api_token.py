"""create_api_token USER [--reset]: the API token of a user (DRF TokenAuthentication), created when missing.

Prints the key alone on one line, for a script to read: ``Authorization: Token <key>``. ``--reset`` replaces an
existing token (the old one stops working at once). The token carries the user's roles and practices; an
inactive user gets none.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = "Print the API token of USER (created when missing; --reset replaces it)."

    def add_arguments(self, parser):
        parser.add_argument("user", help="user name")
        parser.add_argument("--reset", action="store_true", help="replace the existing token")

    @transaction.atomic
    def handle(self, *args, **opts):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: opts["user"]}).first()
        if user is None:
            raise CommandError(f"no user {opts['user']!r}")
        if not user.is_active:
            raise CommandError(f"user {opts['user']!r} is inactive: activate the account first")
        if opts["reset"]:
            Token.objects.filter(user=user).delete()
        token, _created = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
