"""Fixtures of the X12 tests: a real Celery worker for the integration tests."""

from tests.conftest_worker import celery_worker_env, celery_worker_proc  # noqa: F401
