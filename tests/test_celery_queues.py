"""Uploads, reports and refreshes go to their own Celery queues (config/queues.py), so a long refresh never sits
in front of an upload's chunks; the workers of docs/deploy.md and the Procfile take those queues."""

import re
from pathlib import Path

import pytest
from celery import Celery

from config import queues
from config.celery import app as project_app

ROOT = Path(__file__).resolve().parent.parent

EXPECTED = {
    "billing.start_upload": "uploads",
    "billing.check_upload_chunk": "uploads",
    "billing.finish_upload": "uploads",
    "billing.import_x12_upload": "uploads",
    "billing.build_check_report": "reports",
    "codes.refresh_run": "refresh",
    "codes.refresh_source": "refresh",
    "codes.whoami": "celery",
}


@pytest.fixture
def routed() -> Celery:
    """A Celery app configured as production is (the base settings' routes), that sends nothing."""
    app = Celery("routes-test", set_as_current=False)
    app.conf.task_routes = queues.TASK_ROUTES
    app.conf.task_default_queue = queues.DEFAULT
    return app


@pytest.mark.parametrize(("task", "queue"), EXPECTED.items())
def test_each_task_goes_to_its_queue(routed, task, queue):
    assert routed.amqp.router.route({}, task)["queue"].name == queue


def test_every_upload_report_and_refresh_task_is_routed():
    """A new task of one of these kinds must be given its queue too (else it would wait behind everything)."""
    project_app.loader.import_default_modules()
    names = {name for name in project_app.tasks if not name.startswith("celery.")}
    kinds = re.compile(r"upload|report|refresh|guide")
    assert {n for n in names if kinds.search(n)} <= set(queues.TASK_ROUTES), names


def test_the_base_settings_route_and_the_switch_turns_it_off(monkeypatch):
    import importlib

    import config.settings.base as base

    assert base.CELERY_TASK_ROUTES == queues.TASK_ROUTES
    monkeypatch.setenv("CELERY_SEPARATE_QUEUES", "false")
    try:
        assert importlib.reload(base).CELERY_TASK_ROUTES == {}
    finally:
        monkeypatch.delenv("CELERY_SEPARATE_QUEUES")
        importlib.reload(base)


def test_the_procfile_workers_take_every_queue():
    procfile = (ROOT / "Procfile").read_text()
    taken = set()
    for line in procfile.splitlines():
        if "celery" in line and " worker" in line:
            taken |= set(re.search(r"-Q\s+(\S+)", line).group(1).split(","))
    assert taken == set(queues.QUEUES)
    assert re.search(r"^beat:.*celery.* beat", procfile, re.M)
    assert re.search(r"^web:.*gunicorn config\.wsgi", procfile, re.M)
