"""List filters whose choices come from the rows the user may see, never from the whole table.

Django's ``AllValuesFieldListFilter`` lists every value of a field reached through a relation
(``findings__rule``) from the related table as a whole, and ``RelatedFieldListFilter`` (a plain foreign key such as
``payer``) every row of the related table: on a practice-scoped list both show values found only in another
practice's data. ``ScopedListFiltersMixin`` gives such entries of ``list_filter`` scoped filters instead:

- a foreign key: ``RelatedOnlyFieldListFilter`` (Django's: the related rows the list's own queryset points at);
- a path across a relation: ``ScopedValuesFilter`` (below: the values the list's own queryset reaches).

Fields of the model itself are already scoped by Django (its filters read ``model_admin.get_queryset``).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path
from django.core.exceptions import FieldDoesNotExist


class ScopedValuesFilter(admin.AllValuesFieldListFilter):
    """AllValuesFieldListFilter over the values the ModelAdmin's queryset (the user's rows) reaches."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (
            model_admin.get_queryset(request)
            .exclude(**{f"{field_path}__isnull": True})
            .order_by(field_path)
            .values_list(field_path, flat=True)
            .distinct()
        )


def scoped_filter(model, entry):
    """The scoped form of one ``list_filter`` entry (other entries unchanged)."""
    if not isinstance(entry, str):
        return entry
    try:
        fields = get_fields_from_path(model, entry)
    except FieldDoesNotExist:
        return entry
    last = fields[-1]
    if last.is_relation and not last.many_to_many and not last.one_to_many and len(fields) == 1:
        return (entry, admin.RelatedOnlyFieldListFilter)
    if len(fields) > 1 or last.is_relation:
        return (entry, ScopedValuesFilter)
    return entry


class ScopedListFiltersMixin:
    """ModelAdmin mixin for lists scoped to the user's practices: filters list only what the user may see."""

    def get_list_filter(self, request):
        return [scoped_filter(self.model, entry) for entry in super().get_list_filter(request)]
