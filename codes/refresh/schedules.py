"""When each source is refreshed: one django-celery-beat ``PeriodicTask`` per source, sending the task
``codes.refresh_source`` on the source's schedule (or the usual one of its kind: ``codes.kinds``)."""

from __future__ import annotations

from django.conf import settings

from codes import kinds
from codes.models import Source

CRONTABS = {
    Source.Schedule.QUARTERLY: {"minute": "30", "hour": "4", "day_of_month": "1", "month_of_year": "1,4,7,10"},
    Source.Schedule.APRIL_OCTOBER: {"minute": "30", "hour": "4", "day_of_month": "1", "month_of_year": "4,10"},
    Source.Schedule.YEARLY: {"minute": "30", "hour": "4", "day_of_month": "1", "month_of_year": "1"},
}
PERIODIC_TASK = "codes.refresh_source"


def schedule_of(source: Source) -> str:
    return source.schedule or kinds.default_schedule(source.kind) or Source.Schedule.MANUAL


def periodic_task_name(source_id: int) -> str:
    return f"Refresh code set: source #{source_id}"


def sync_schedule(source: Source):
    """Create or update the source's PeriodicTask in django-celery-beat (disabled when manual or disabled)."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    schedule = schedule_of(source)
    crontab = CRONTABS.get(schedule, CRONTABS[Source.Schedule.YEARLY])
    cron, _ = CrontabSchedule.objects.get_or_create(**crontab, day_of_week="*", timezone=settings.CELERY_TIMEZONE)
    task, _ = PeriodicTask.objects.update_or_create(
        name=periodic_task_name(source.pk),
        defaults={
            "task": PERIODIC_TASK,
            "crontab": cron,
            "interval": None,
            "kwargs": f'{{"source_id": {source.pk}}}',
            "enabled": source.enabled and schedule in CRONTABS,
            "description": f"{source.name} ({kinds.label(source.kind)}), {schedule}",
        },
    )
    return task


def unschedule(source_ids) -> int:
    from django_celery_beat.models import PeriodicTask

    names = [periodic_task_name(i) for i in source_ids]
    return PeriodicTask.objects.filter(name__in=names).delete()[0]


def setup_schedules() -> tuple[int, int]:
    """Every source gets its PeriodicTask; tasks of deleted sources go. Idempotent. -> (synced, removed)."""
    from django_celery_beat.models import PeriodicTask

    sources = list(Source.objects.all())
    for source in sources:
        sync_schedule(source)
    keep = {periodic_task_name(s.pk) for s in sources}
    stale = PeriodicTask.objects.filter(task=PERIODIC_TASK).exclude(name__in=keep)
    return len(sources), stale.delete()[0]
