"""The embedded default: SQLite, in-process Celery, DEBUG on."""

from .base import *  # noqa: F403
