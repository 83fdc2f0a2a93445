"""The project's admin site: Django's, with every registered ModelAdmin (ours and third-party ones such as
django-axes' and django-celery-beat's) given ``SafeChangeListMixin``, so that no list's date filter or date
hierarchy answers 500 for a year out of the calendar's range (``?checked_at__year=9999``).

Installed through ``config.apps.AdminConfig`` (Django's documented ``default_site`` hook), so ``admin.site`` and
``@admin.register`` work unchanged.
"""

from __future__ import annotations

from django.contrib import admin

from config.bad_input import SafeChangeListMixin


class SiteAdmin(admin.AdminSite):
    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        if not issubclass(admin_class, SafeChangeListMixin):
            admin_class = type(
                admin_class.__name__,
                (SafeChangeListMixin, admin_class),
                {"__module__": admin_class.__module__, "__doc__": admin_class.__doc__},
            )
        return super().register(model_or_iterable, admin_class, **options)


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent for reading only: every field read-only, none added or deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False
