"""Which Celery queue each task goes to (``CELERY_TASK_ROUTES``), so each kind of work can have its own workers.

Uploads (planning, the chunks of claims, the results workbook), reports (check reports and guides) and code-set
refreshes (a download and a load of two million rows can take minutes) each have a queue: a worker given only
``uploads`` is never busy with a refresh when a practice's batch comes in, and a worker of ``refresh`` can run on
another host. Every other task goes to the default queue ``celery``. docs/deploy.md says which worker takes which
queue. Kept apart from the Celery app so the settings can read it without starting Celery.
"""

UPLOADS = "uploads"
REPORTS = "reports"
REFRESH = "refresh"
DEFAULT = "celery"
QUEUES = (DEFAULT, UPLOADS, REPORTS, REFRESH)

TASK_ROUTES = {
    "billing.start_upload": {"queue": UPLOADS},
    "billing.check_upload_chunk": {"queue": UPLOADS},
    "billing.finish_upload": {"queue": UPLOADS},
    "billing.import_x12_upload": {"queue": UPLOADS},
    "billing.build_check_report": {"queue": REPORTS},
    "codes.refresh_run": {"queue": REFRESH},
    "codes.refresh_source": {"queue": REFRESH},
}
