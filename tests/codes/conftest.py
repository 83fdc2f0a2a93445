"""Fixtures of the codes tests: a local stand-in for the CMS site and a real Celery worker (integration)."""

import pytest

from tests.cms_server import cms_server  # noqa: F401
from tests.conftest_worker import celery_worker_proc  # noqa: F401


@pytest.fixture(scope="session")
def celery_worker_env():
    """Short timeouts and waits so the fault tests take seconds, not minutes."""
    return {
        "REFRESH_CONNECT_TIMEOUT": "2",
        "REFRESH_READ_TIMEOUT": "1.5",
        "REFRESH_DOWNLOAD_ATTEMPTS": "2",
        "REFRESH_RETRY_BACKOFF": "0.2",
        "REFRESH_STALE_SECONDS": "120",
        "REFRESH_ALLOWED_NETWORKS": "127.0.0.1/32",  # the local CMS stand-in (tests.cms_server)
    }
