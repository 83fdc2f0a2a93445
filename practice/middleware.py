"""Every page in the practice's own time zone (``Practice.time_zone``), so a check's title, the lists and the
detail pages all show one clock. A user of several practices sees the first one's (by name); anonymous requests
keep settings.TIME_ZONE."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone

from practice.selectors import practices_for


def practice_time_zone(user) -> str | None:
    return practices_for(user).order_by("name").values_list("time_zone", flat=True).first()


class PracticeTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        name = None
        # The API writes ISO times with their offset and authenticates in the view: no query spent there.
        if user is not None and not request.path.startswith("/api/") and user.is_authenticated:
            name = practice_time_zone(user)
        if name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
