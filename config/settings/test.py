"""Settings for the test suite: the same as base, with fast hashing and no throttling surprises."""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EAGER_JOBS_IN_THREADS = False  # in-process jobs finish inside the request; browser tests that watch progress opt in
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    # every rate of base (scoped ones included), the shared ones high: tests never wait on a throttle by accident
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "anon": "1000/min",
        "user": "1000000/hour",
        "claims-check": "1000000/hour",
    },
}
AXES_ENABLED = True
# Every task on the default queue: the worker tests give each run a queue of its own (tests/conftest_worker.py).
# The production routes (config.queues) are checked by tests/test_celery_queues.py.
CELERY_TASK_ROUTES = {}
