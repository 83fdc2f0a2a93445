from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Claims, checks, guides and reports"

    def ready(self):
        from config.roles import sync_after_migrate

        # After every migrate (auth has created the permissions by then): the groups and their permissions.
        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="billing.sync_groups")
