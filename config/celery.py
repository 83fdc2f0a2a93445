"""The Celery app. Tasks live in each app's tasks.py, take ids and call plain service functions."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _redact_worker_logs(logger=None, **kwargs):
    """The worker sets up its own log handlers: they mask claim data too (config.log_filters)."""
    from config.log_filters import install

    install(logger)


@worker_ready.connect
def _clean_leftovers(**kwargs):
    """At worker start: remove what killed workers left (refresh runs' temporary folders, upload work files
    nobody reads)."""
    import logging

    try:
        from billing.sweep import clean_work_files
        from codes.refresh import clean_temp

        clean_temp()
        clean_work_files()
    except Exception:  # the database may not be there yet; take-overs and the sweeper clean up too
        logging.getLogger(__name__).warning("leftover temporary files not cleaned at start", exc_info=True)
