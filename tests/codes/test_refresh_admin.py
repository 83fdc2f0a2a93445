"""Sources -> "Refresh now" says what the run's state is (never "queued" about a run that already failed), and the
refresh-run list shows the error readably (wrapped, not cut off at 120 characters)."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from codes import snapshot as k
from codes.admin.refresh import run_messages
from codes.models import RefreshRun, Source
from codes.refresh import queue
from tests.testdata import CLOCK

pytestmark = pytest.mark.django_db

LONG_ERROR = (
    "the download of https://www.cms.gov/files/zip/2026-alpha-numeric-hcpcs-file.zip failed after 4 tries: "
    "the server answered 503 Service Unavailable each time; the release in force stays (HCPCS 2026 January). "
    "Try again later, or download the file by hand and load it with import_codeset hcpcs PATH."
)


def test_refresh_now_says_queued_only_for_a_queued_run(admin_client, monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(queue, "send_in_background", sent.append)  # sent, not run: a worker will take it
    source = Source.objects.create(name="HCPCS quarterly", kind=k.HCPCS, url="https://www.cms.gov/hcpcs.zip")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:codes_source_changelist"),
            {"action": "refresh_now", "_selected_action": [source.pk]},
            follow=True,
        )
    run = RefreshRun.objects.get(source=source)
    assert sent == [run.pk] and run.status == RefreshRun.Status.QUEUED
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Refresh of HCPCS quarterly queued as run #{run.pk}: Refresh runs shows its progress."
    ]


def test_the_message_follows_the_state_of_a_finished_run():
    source = Source.objects.create(name="GPCI", kind=k.GPCI, url="https://www.cms.gov/gpci.zip")
    failed = RefreshRun.objects.create(source=source, kind=k.GPCI, url=source.url, status="failed", error=LONG_ERROR)
    loaded = RefreshRun.objects.create(source=source, kind=k.GPCI, url=source.url, status="loaded")
    said = [text for _, text in run_messages([failed, loaded])]
    assert said[0].startswith(f"Refresh of GPCI (run #{failed.pk}) failed: the download of") and "queued" not in said[0]
    assert said[1] == f"Refresh of GPCI (run #{loaded.pk}): Loaded and in force."


def test_the_run_list_shows_the_error_wrapped_and_whole(admin_client):
    RefreshRun.objects.create(kind=k.HCPCS, url="https://www.cms.gov/x.zip", status="failed", error=LONG_ERROR)
    page = admin_client.get(reverse("admin:codes_refreshrun_changelist")).content.decode()
    cell = page[page.index('<div class="run-error"') :]
    cell = cell[: cell.index("</div>")]
    assert "white-space:normal" in cell
    assert "import_codeset hcpcs PATH." in cell  # not cut at 120 characters


@pytest.mark.django_db(transaction=True)
@CLOCK
def test_refresh_now_answers_before_the_run_works(admin_client, settings, monkeypatch, clock):
    """In-process Celery: the page answers, saying "queued", before the run starts; the run then goes on by itself
    after the response (here it fails: the server answers 503). The run's work waits for the test's word, so the
    page could not answer if the run were done inside the request (it did: ~35 s with a slow CMS)."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    if not settings.CELERY_TASK_ALWAYS_EAGER:
        pytest.skip("in-process Celery only: with a broker the run is only queued, never worked in the web process")
    settings.EAGER_JOBS_IN_THREADS = True  # as outside the tests (config.background): the run goes to a thread

    class Unavailable(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(503)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Unavailable)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.REFRESH_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the local stand-in, where download safety applies
    settings.REFRESH_DOWNLOAD_ATTEMPTS, settings.REFRESH_RETRY_BACKOFF = 1, 0
    go, done = threading.Event(), threading.Event()
    real_send = queue.send

    def held_send(run_id):
        # one database user at a time: SQLite's shared in-memory test database locks tables, it does not wait
        assert go.wait(20), "the test never let the run go on"
        try:
            real_send(run_id)
        finally:
            done.set()

    monkeypatch.setattr(queue, "send", held_send)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/HCPC2026_JAN_ANWEB.txt"
        source = Source.objects.create(name="HCPCS quarterly", kind=k.HCPCS, url=url)
        started = time.monotonic()
        response = admin_client.post(
            reverse("admin:codes_source_changelist"),
            {"action": "refresh_now", "_selected_action": [source.pk]},
            follow=True,
        )
        seconds = time.monotonic() - started
        run = RefreshRun.objects.get(source=source)
        said = [str(m) for m in get_messages(response.wsgi_request)]
        assert not done.is_set(), "the page waited for the run"  # the run is held until the test lets it go
        assert not clock or seconds < 5, f"the page waited {seconds:.1f} s for the run"
        assert run.status == RefreshRun.Status.QUEUED
        assert said == [f"Refresh of HCPCS quarterly queued as run #{run.pk}: Refresh runs shows its progress."]
    finally:
        go.set()
        assert done.wait(30)
        server.shutdown()
    run.refresh_from_db()
    assert run.status == RefreshRun.Status.FAILED and "503" in run.error
