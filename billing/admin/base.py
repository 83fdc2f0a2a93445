"""What every billing admin page shares: querysets and filters limited to the user's practices."""

from __future__ import annotations

from django.contrib import admin

from config.admin_filters import ScopedListFiltersMixin
from practice.models import Payer
from practice.selectors import practices_for


class PracticeScopedAdmin(ScopedListFiltersMixin, admin.ModelAdmin):
    """Only the practices the user works for: lists, objects, the practice choices on forms, and the choices of
    the list's filters (a rule id or payer found only in another practice's rows is never listed)."""

    practice_field = "practice"

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs.filter(**{f"{self.practice_field}__in": practices_for(request.user)})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "practice":
            kwargs["queryset"] = practices_for(request.user)
            first = kwargs["queryset"].first()
            if first is not None and kwargs["queryset"].count() == 1:
                kwargs["initial"] = first.pk
        elif db_field.name == "payer" and db_field.related_model is Payer:
            # Only payers the user's practices bill (the form's clean() checks the claim's own practice).
            kwargs["queryset"] = Payer.objects.filter(
                practice_payers__practice__in=practices_for(request.user)
            ).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
