from django.apps import AppConfig
from django.db.models.signals import post_delete


class CodesConfig(AppConfig):
    name = "codes"
    verbose_name = "Code sets"

    def ready(self):
        from codes.loading import drop_release_partitions
        from codes.models import Release

        # A deleted release's rows go with it (cascade); on PostgreSQL its empty PTP partition table goes too.
        post_delete.connect(drop_release_partitions, sender=Release, dispatch_uid="codes.drop_release_partitions")
