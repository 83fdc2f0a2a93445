"""Every shipped source refreshed from the local copy of CMS's pages by a real Celery worker on PostgreSQL and
Redis (COPY, the held release, the switch), then unchanged. Skipped unless DATABASE_URL (PostgreSQL) and REDIS_URL
are set."""

import pytest
from django.utils import timezone

from codes import snapshot as k
from codes.models import PtpEdit, RefreshRun, Release
from codes.selectors import clear_cache
from tests.codes.cms_site import build_site
from tests.codes.test_refresh_worker import refresh_wait
from tests.codes.test_sources import CMS_KINDS, local_sources
from tests.conftest_worker import needs_services

pytestmark = [pytest.mark.integration, needs_services]


@pytest.fixture
def worker(transactional_db, celery_worker_proc, settings):
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the local CMS copy is on loopback
    clear_cache()
    yield celery_worker_proc
    clear_cache()


def test_every_kind_from_its_page_in_the_worker_then_unchanged(worker, cms_server):
    site = build_site(cms_server, timezone.localdate())
    local_sources(site)
    lines, code = refresh_wait("--all")
    assert code == 0, lines
    assert {line["kind"] for line in lines} == CMS_KINDS and {line["status"] for line in lines} == {"loaded"}
    ptp = Release.objects.get(kind=k.PTP_PRACTITIONER, status=Release.Status.LOADED)
    assert PtpEdit.objects.filter(release_id=ptp.pk).count() == site.records[k.PTP_PRACTITIONER]
    workers = set(RefreshRun.objects.values_list("worker", flat=True))
    assert all(w.split(":")[-1] != "" for w in workers) and str(worker.pid) not in {w.split(":")[-1] for w in workers}
    again, code = refresh_wait("--all")
    assert code == 0 and {line["status"] for line in again} == {"unchanged"}
