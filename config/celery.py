"""The Celery app. Tasks live in each app's tasks.py, take ids and call plain service functions."""

import os

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger

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
