"""Admin of the releases: their sources, counts and in-force dates, what changed against the previous one, and
putting a held one in force. The code look-up hangs on its URLs (``codes.admin.lookup``)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from codes import models
from codes.admin import lookup
from codes.diff import diff_releases, previous_release


@admin.register(models.Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["label", "kind", "effective_from", "effective_to", "status_badge", "row_count", "loaded_at"]
    list_filter = ["kind", "status"]
    search_fields = ["label", "sha256", "sources"]
    date_hierarchy = "effective_from"
    readonly_fields = [*models.RELEASE_FACTS, "loaded_by", "held_reason", "diff_link"]
    fields = readonly_fields + ["notes"]
    actions = ["put_in_force"]

    def has_add_permission(self, request):
        return False  # releases come from import_codeset or a refresh, never typed in

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj):
        colour = {"loaded": "#2e7d32", "held": "#ef6c00", "failed": "#c62828"}.get(obj.status, "#555")
        return format_html('<b style="color:{}">{}</b>', colour, obj.get_status_display())

    @admin.display(description="What changed")
    def diff_link(self, obj):
        if obj.pk is None:
            return "-"
        url = reverse("admin:codes_release_diff", args=[obj.pk])
        return format_html('<a href="{}">Compare with the previous release</a>', url)

    @admin.action(description="Put the selected held releases in force", permissions=["change"])
    def put_in_force(self, request, queryset):
        from codes.loading import activate

        done = 0
        for release in queryset.filter(status=models.Release.Status.HELD):
            activate(release)
            done += 1
        self.message_user(request, f"{done} release(s) put in force.")

    def get_urls(self):
        return [
            path("lookup/", self.admin_site.admin_view(self.lookup_view), name="codes_lookup"),
            path("lookup/suggest/", self.admin_site.admin_view(self.suggest_view), name="codes_suggest"),
            path("<int:pk>/diff/", self.admin_site.admin_view(self.diff_view), name="codes_release_diff"),
            *super().get_urls(),
        ]

    def lookup_view(self, request):
        return lookup.lookup_view(self, request)

    def suggest_view(self, request):
        return lookup.suggest_view(self, request)

    def diff_view(self, request, pk):
        release = self.get_object(request, str(pk))
        if not self.has_view_permission(request, release):
            raise PermissionDenied
        if release is None:
            raise Http404("no such release")
        previous = previous_release(release) if release else None
        diff = diff_releases(previous, release) if previous else None
        context = {
            **self.admin_site.each_context(request),
            "title": f"What changed in {release}",
            "release": release,
            "previous": previous,
            "diff": diff,
            "changes": diff.changes[:1000] if diff else [],
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/codes/diff.html", context)
