"""Jobs a web page starts, run after its response even with in-process Celery.

With a broker (REDIS_URL set) ``task.delay`` only sends a message and the page answers at once. With the embedded
default (no REDIS_URL, ``CELERY_TASK_ALWAYS_EAGER``) ``delay`` runs the whole job inside the request, so the page
waits and there is no progress to watch. ``in_background`` then runs the sending in a thread of its own (its own
database connections, closed at the end); the job's row records its progress and its failure as it would on a
worker. Only web pages use it: a management command waits for its jobs (a daemon thread would die with it).
Hand-written because Celery has no "eager, but later" mode and a thread is all the embedded default needs.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import connections

log = logging.getLogger(__name__)


def runs_in_thread() -> bool:
    """True when jobs run in-process and the settings let them run after the response (EAGER_JOBS_IN_THREADS)."""
    from config.celery import app

    return bool(app.conf.task_always_eager and getattr(settings, "EAGER_JOBS_IN_THREADS", False))


def in_background(fn, *args, label: str = "job", **kwargs) -> threading.Thread | None:
    """``fn(*args, **kwargs)`` now (a broker: it only sends a message), or in a thread with in-process Celery.
    ``label`` names the job in the log. The thread, when one is started, is returned (tests join it)."""
    if not runs_in_thread():
        fn(*args, **kwargs)
        return None

    def work() -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # the job's row records its own failure; this is only what escaped it
            log.exception("%s (in-process, after the response) failed", label)
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name=f"background-{label}", daemon=True)
    thread.start()
    return thread
