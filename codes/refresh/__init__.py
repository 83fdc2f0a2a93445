"""Scheduled refreshes of the code sets: download -> checksum -> load held -> checks -> switch in force.

One module per job:

- ``schedules``: one django-celery-beat task per source, on its kind's usual schedule;
- ``sources``: the default CMS addresses, an address's placeholders, the kind a file name says;
- ``download`` (+ ``proxy``): every fetch, made safe (addresses, limits, timeouts, retries, errors without bytes);
- ``pages`` (+ ``page_rules``): a CMS download page -> the current file(s) of a kind; ``zips``: the members to load;
- ``checks``: already loaded? far fewer rows or older than the release in force (then held for review)?
- ``runs``: a run's lock, progress, heartbeat, take-over and end; ``execute``: one run start to end;
- ``queue``: queueing runs (the task ``codes.refresh_run`` by name), re-sending stuck ones, waiting for them.

What other apps and the commands use is importable from here.
"""

from codes.refresh.execute import execute_run
from codes.refresh.queue import enqueue, requeue_stuck, wait_for
from codes.refresh.runs import BUSY, ELSEWHERE, clean_temp, fail_waiting
from codes.refresh.schedules import schedule_of, setup_schedules, sync_schedule, unschedule
from codes.refresh.sources import infer_kind

__all__ = [
    "BUSY",
    "ELSEWHERE",
    "clean_temp",
    "enqueue",
    "execute_run",
    "fail_waiting",
    "infer_kind",
    "requeue_stuck",
    "schedule_of",
    "setup_schedules",
    "sync_schedule",
    "unschedule",
    "wait_for",
]
