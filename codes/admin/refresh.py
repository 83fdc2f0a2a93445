"""Admin of the code-set refreshes: sources (with "refresh now"), runs (live progress, the diff), change notices."""

from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.http import JsonResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from codes import refresh
from codes.models import ChangeNotice, RefreshRun, Release, Source
from codes.refresh.checks import diff_with_previous
from codes.refresh.execute import announce, switch
from codes.refresh.queue import enqueue

STATUS_COLOURS = {
    "queued": "#555",
    "running": "#1565c0",
    "loaded": "#2e7d32",
    "unchanged": "#607d8b",
    "held": "#ef6c00",
    "failed": "#c62828",
}


ERROR_CELL_STYLE = "white-space:normal;overflow-wrap:anywhere;min-width:16em;max-width:32em"


def status_badge(status: str, label: str):
    return format_html('<b style="color:{}">{}</b>', STATUS_COLOURS.get(status, "#555"), label)


def progress_text(run: RefreshRun) -> str:
    if run.finished:
        return ""
    parts = [run.step or run.status]
    if run.percent is not None:
        parts.append(f"{run.percent}%")
    if run.progress_note:
        parts.append(f"({run.progress_note})")
    return " ".join(parts)


def run_messages(runs: list[RefreshRun]) -> list[tuple[int, str]]:
    """What "Refresh now" says, read from each run's state after the request queued it (never "queued" about a
    run that already failed or loaded)."""
    out = []
    for run in RefreshRun.objects.filter(pk__in=[r.pk for r in runs]).select_related("source").order_by("pk"):
        name = run.source.name if run.source else run.kind
        if run.status in (RefreshRun.Status.QUEUED, RefreshRun.Status.RUNNING):
            state = "queued" if run.status == RefreshRun.Status.QUEUED else "running"
            out.append((messages.INFO, f"Refresh of {name} {state} as run #{run.pk}: Refresh runs shows its progress."))
        elif run.status == RefreshRun.Status.FAILED:
            out.append((messages.ERROR, f"Refresh of {name} (run #{run.pk}) failed: {run.error[:300]}"))
        else:
            out.append((messages.SUCCESS, f"Refresh of {name} (run #{run.pk}): {run.get_status_display()}."))
    return out


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "url", "schedule_text", "enabled", "last_run"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "url"]
    actions = ["refresh_now"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "url", "member", "enabled"]}),
        ("In-force dates", {"fields": ["dates", "effective_from", "effective_to"]}),
        ("Schedule and checks", {"fields": ["schedule", "max_row_drop", "notes"]}),
    ]

    def get_queryset(self, request):
        latest = RefreshRun.objects.filter(source=OuterRef("pk")).order_by("-queued_at", "-id")
        return (
            super()
            .get_queryset(request)
            .annotate(last_status=Subquery(latest.values("status")[:1]), last_id=Subquery(latest.values("id")[:1]))
        )

    @admin.display(description="Schedule")
    def schedule_text(self, obj):
        return dict(Source.Schedule.choices).get(refresh.schedule_of(obj), refresh.schedule_of(obj))

    @admin.display(description="Last run", ordering="last_status")
    def last_run(self, obj):
        if not obj.last_id:
            return "-"
        url = reverse("admin:codes_refreshrun_change", args=[obj.last_id])
        return format_html('<a href="{}">#{}</a> {}', url, obj.last_id, status_badge(obj.last_status, obj.last_status))

    def get_urls(self):
        own = [
            path(
                "<int:source_id>/fetch-now/",
                self.admin_site.admin_view(self.fetch_now_view),
                name="codes_source_fetch_now",
            )
        ]
        return own + super().get_urls()

    def fetch_now_view(self, request, source_id: int):
        """POST from the first page's coding table: queue a refresh (never run inside the request)."""
        from django.core.exceptions import PermissionDenied
        from django.http import HttpResponseNotAllowed, HttpResponseRedirect
        from django.shortcuts import get_object_or_404

        from codes.status import fetch_now

        if not self.has_change_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        source = get_object_or_404(Source, pk=source_id)
        if not source.enabled:
            self.message_user(request, f"{source.name} is disabled: enable it first.", messages.WARNING)
        else:
            run = fetch_now(source, request.user)
            self.message_user(request, f"Refresh of {source.name} queued as run #{run.pk}: see Refresh runs.")
        return HttpResponseRedirect(reverse("admin:index"))

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        refresh.sync_schedule(obj)

    def delete_model(self, request, obj):
        refresh.unschedule([obj.pk])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        refresh.unschedule(list(queryset.values_list("pk", flat=True)))
        super().delete_queryset(request, queryset)

    @admin.action(description="Refresh now", permissions=["change"])
    def refresh_now(self, request, queryset):
        runs = [enqueue(source=s, trigger="admin", user=request.user, background=True) for s in queryset]
        for level, text in run_messages(runs):
            self.message_user(request, text, level)


@admin.register(RefreshRun)
class RefreshRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "source",
        "status_colour",
        "live_progress",
        "release_link",
        "queued_at",
        "seconds",
        "size",
        "rows",
        "short_error",
    ]
    list_display_links = ["id", "kind"]
    list_filter = ["status", "kind", "trigger"]
    search_fields = ["url", "error", "note"]
    list_select_related = ["source", "release"]
    actions = ["put_in_force"]
    fields = [
        "kind",
        "source",
        "url",
        "member",
        "trigger",
        "requested_by",
        "status_colour",
        "live_progress",
        "error",
        "note",
        "release_link",
        "held_reason",
        "queued_at",
        "started_at",
        "finished_at",
        "timings",
        "bytes",
        "files",
        "rows",
        "worker",
        "attempts",
        "task_id",
        "notice_link",
        "diff_table",
    ]
    readonly_fields = fields

    class Media:
        js = ["codes/refresh_progress.js"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # the action below needs only view + the release's change permission

    @admin.display(description="Status", ordering="status")
    def status_colour(self, obj):
        return status_badge(obj.status, obj.get_status_display())

    @admin.display(description="Progress")
    def live_progress(self, obj):
        return format_html(
            '<span class="refresh-progress" data-run="{}" data-status="{}">{}</span>',
            obj.pk,
            obj.status,
            progress_text(obj),
        )

    @admin.display(description="Release")
    def release_link(self, obj):
        if not obj.release_id:
            return "-"
        url = reverse("admin:codes_release_change", args=[obj.release_id])
        return format_html('<a href="{}">{}</a>', url, obj.release.label)

    @admin.display(description="Why held")
    def held_reason(self, obj):
        return obj.release.held_reason if obj.release_id and obj.release.held_reason else "-"

    @admin.display(description="Seconds")
    def seconds(self, obj):
        if obj.started_at and obj.finished_at:
            return f"{(obj.finished_at - obj.started_at).total_seconds():.1f}"
        return "-"

    @admin.display(description="Size")
    def size(self, obj):
        return f"{obj.bytes / 1e6:,.1f} MB" if obj.bytes else "-"

    @admin.display(description="Error")
    def short_error(self, obj):
        """Wrapped in its column (never cut off by the table's width); the first 400 characters, the rest on the
        run's page."""
        if not obj.error:
            return "-"
        text = obj.error if len(obj.error) <= 400 else obj.error[:400] + " [...]"
        return format_html('<div class="run-error" style="{}">{}</div>', ERROR_CELL_STYLE, text)

    @admin.display(description="Change notice")
    def notice_link(self, obj):
        notice = ChangeNotice.objects.filter(run=obj).first()
        if notice is None:
            return "-"
        url = reverse("admin:codes_changenotice_change", args=[notice.pk])
        return format_html('<a href="{}">{}</a>', url, ", ".join(notice.codes))

    @admin.display(description="What changed")
    def diff_table(self, obj):
        diff = obj.diff
        if not diff:
            return "Nothing to compare with (the first release of its kind), or not compared yet."
        counts = ", ".join(f"{n} {name}" for name, n in diff.get("counts", {}).items())
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (c["key"], c["change"], "; ".join(f"{n}: {o} \u2192 {v}" for n, (o, v) in c["fields"].items()))
                for c in diff.get("changes", [])
            ),
        )
        more = " (first ones only)" if diff.get("truncated") else ""
        return format_html(
            "<p>From <b>{}</b> to <b>{}</b>: {}{}.</p>"
            "<table><thead><tr><th>Code</th><th>Change</th><th>Details</th></tr></thead><tbody>{}</tbody></table>",
            diff.get("old"),
            diff.get("new"),
            counts,
            more,
            rows,
        )

    @admin.action(description="Put the held release in force", permissions=["view"])
    def put_in_force(self, request, queryset):
        if not request.user.has_perm("codes.change_release"):
            self.message_user(request, "Putting a release in force needs the permission to change releases.",
                              messages.ERROR)  # fmt: skip
            return
        done = 0
        for run in queryset.filter(status=RefreshRun.Status.HELD, release__status=Release.Status.HELD):
            switch(run.release)
            announce(run.release, diff_with_previous(run.release), run)
            RefreshRun.objects.filter(pk=run.pk).update(
                status=RefreshRun.Status.LOADED,
                note=f"{run.note}\nput in force by {request.user} after review".strip(),
            )
            done += 1
        self.message_user(request, f"{done} held release(s) put in force.")

    def get_urls(self):
        return [
            path("progress/", self.admin_site.admin_view(self.progress_view), name="codes_refreshrun_progress"),
            *super().get_urls(),
        ]

    def progress_view(self, request):
        """{"runs": {id: {status, label, finished, progress}}} for the ids asked (the page polls it)."""
        if not self.has_view_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.strip().isdigit()][:200]
        runs = RefreshRun.objects.filter(pk__in=ids)
        return JsonResponse(
            {
                "runs": {
                    str(r.pk): {
                        "status": r.status,
                        "label": r.get_status_display(),
                        "finished": r.finished,
                        "progress": progress_text(r),
                        "percent": r.percent,
                    }
                    for r in runs
                }
            }
        )


@admin.register(ChangeNotice)
class ChangeNoticeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "codes_text", "release", "run_link", "emailed"]
    list_filter = ["kind"]
    search_fields = ["summary", "codes"]
    list_select_related = ["release", "run"]
    fields = ["created_at", "kind", "codes_text", "release", "run_link", "summary", "emailed_to"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="Codes")
    def codes_text(self, obj):
        return ", ".join(obj.codes)

    @admin.display(description="Refresh run")
    def run_link(self, obj):
        if not obj.run_id:
            return "-"
        url = reverse("admin:codes_refreshrun_change", args=[obj.run_id])
        return format_html('<a href="{}">#{}</a>', url, obj.run_id)

    @admin.display(description="Emailed", boolean=True)
    def emailed(self, obj):
        return bool(obj.emailed_to)
