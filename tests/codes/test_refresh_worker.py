"""Refreshes against a real PostgreSQL, a real Redis and a real Celery worker (prefork, 2 processes), downloading
from a local HTTP server. Skipped unless DATABASE_URL (PostgreSQL) and REDIS_URL are set."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from codes import refresh
from codes import snapshot as k
from codes.models import ChangeNotice, HcpcsCode, PtpEdit, RefreshRun, Release
from codes.selectors import clear_cache, lookup
from tests.codes.refresh_data import hcpcs_full, hcpcs_text, mild_profile, zipped
from tests.conftest_worker import needs_services

pytestmark = [pytest.mark.integration, needs_services]

ROOT = Path(__file__).resolve().parents[2]
NEW_TEXT = "Percutaneous lumbar decompression (pild) or placebo in an approved CED study"


@pytest.fixture
def worker(transactional_db, celery_worker_proc):
    clear_cache()
    yield celery_worker_proc
    clear_cache()


def refresh_wait(*args) -> tuple[list[dict], int]:
    """refresh_codesets ARGS --wait: its JSON lines and exit code."""
    out = StringIO()
    code = 0
    try:
        call_command("refresh_codesets", *args, "--wait", "--timeout", "120", stdout=out, stderr=StringIO())
    except CommandError as exc:
        code = exc.returncode
    return [json.loads(line) for line in out.getvalue().splitlines()], code


def wait_until(predicate, timeout=60, what="the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def in_force_answers(release: Release, on=date(2020, 6, 1), *, latest=True):
    """``release`` is still the one in force (``latest``) and answers for a day it covers."""
    if latest:
        assert Release.objects.in_force(release.kind).pk == release.pk
        assert release.status == Release.Status.LOADED
    clear_cache()
    answer = lookup("procedure", "G0276", on)
    assert answer["found"] and answer["release"] == release.label


def test_a_task_runs_in_the_worker_process(worker):
    from codes.tasks import whoami

    pid = whoami.delay().get(timeout=30)
    assert pid != os.getpid()
    assert pid in worker.children()


def test_refresh_from_a_url_loads_then_says_unchanged(worker, cms_server):
    cms_server.put("HCPC2020_ANWEB_w_disclaimer.txt", hcpcs_full())
    url = cms_server.url("HCPC2020_ANWEB_w_disclaimer.txt")
    started = time.monotonic()
    lines, code = refresh_wait("--url", url)
    elapsed = time.monotonic() - started
    assert (lines, code) == ([{"kind": "hcpcs", "status": "loaded", "release": "HCPCS 2020", "error": None}], 0)
    run = RefreshRun.objects.get()
    assert run.worker.split(":")[1] != str(os.getpid()) and run.attempts == 1
    codes_in_sample = {line[:5] for line in hcpcs_full().decode("latin-1").split("\r\n") if len(line) >= 300}
    assert run.rows == HcpcsCode.objects.filter(release=run.release).count() == len(codes_in_sample) > 30
    print(f"\nHCPCS 2020 ({run.bytes:,} bytes, {run.rows:,} rows) end to end {elapsed:.2f} s; steps {run.timings}")
    in_force_answers(run.release)
    lines, code = refresh_wait("--url", url)
    assert (lines, code) == ([{"kind": "hcpcs", "status": "unchanged", "release": "HCPCS 2020", "error": None}], 0)
    assert Release.objects.filter(kind=k.HCPCS).count() == 1


@pytest.fixture
def first_release(worker, cms_server) -> Release:
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    lines, code = refresh_wait("--url", cms_server.url("HCPC2020_ANWEB_small.txt"))
    assert code == 0, lines
    return Release.objects.get(kind=k.HCPCS)


def failed_run(cms_server, url, *extra) -> tuple[str, RefreshRun]:
    lines, code = refresh_wait("--url", url, "--kind", "hcpcs", *extra)
    assert code == 1 and lines[0]["status"] == "failed" and lines[0]["release"] is None
    run = RefreshRun.objects.filter(url=url).latest("id")
    assert run.status == "failed" and run.error == lines[0]["error"] and run.finished_at
    return lines[0]["error"], run


def test_404_fails_clearly_and_the_release_in_force_keeps_answering(first_release, cms_server):
    url = cms_server.url("HCPC2021_JAN_ANWEB.txt")
    error, _ = failed_run(cms_server, url)
    assert error == f"the server answered 404 Not Found for {url}"
    assert cms_server.hits["/HCPC2021_JAN_ANWEB.txt"] == 1  # a 404 is not tried again
    in_force_answers(first_release)


def test_500_is_tried_again_then_fails(first_release, cms_server):
    url = cms_server.url("HCPC2021_JAN_ANWEB.txt", "status/500")
    error, _ = failed_run(cms_server, url)
    assert error == f"the server answered 500 Internal Server Error for {url} (tried 2 times)"
    assert cms_server.hits["/status/500/HCPC2021_JAN_ANWEB.txt"] == 2
    in_force_answers(first_release)


def test_a_server_that_does_not_answer_times_out(first_release, cms_server):
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_text())
    url = cms_server.url("HCPC2021_JAN_ANWEB.txt", "slow/5")
    started = time.monotonic()
    error, run = failed_run(cms_server, url)
    assert error == f"127.0.0.1 did not answer within 1.5 s ({url}) (tried 2 times)"
    assert time.monotonic() - started < 5
    in_force_answers(first_release)


def test_a_zip_without_the_member(first_release, cms_server):
    cms_server.put("january-2021-alpha-numeric-hcpcs-file.zip", zipped({"a.txt": b"a", "README.txt": b"r"}))
    error, _ = failed_run(
        cms_server, cms_server.url("january-2021-alpha-numeric-hcpcs-file.zip"), "--member", "HCPC*.txt"
    )
    assert error == "the zip has no member matching 'HCPC*.txt' (members: a.txt, README.txt)"
    in_force_answers(first_release)


def test_a_broken_file_and_a_truncated_one(first_release, cms_server):
    lines = hcpcs_text().decode("latin-1").split("\r\n")
    lines[16] = lines[16][:5] + "0x100" + lines[16][10:]  # G0276's SEQNUM
    cms_server.put("HCPC2021_JAN_ANWEB.txt", "\r\n".join(lines))
    error, run = failed_run(cms_server, cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    assert error.startswith("HCPC2021_JAN_ANWEB.txt, line 17") and "0x100" not in error  # the place, not the bytes
    assert run.release_id is None
    cms_server.put("HCPC2021_APR_ANWEB.txt", hcpcs_full())
    error, _ = failed_run(cms_server, cms_server.url("HCPC2021_APR_ANWEB.txt", "truncated"))
    assert "HCPC2021_APR_ANWEB.txt stopped after" in error or "cut off" in error
    assert Release.objects.filter(kind=k.HCPCS).count() == 1
    in_force_answers(first_release)


def test_the_same_refresh_twice_at_once(worker, cms_server):
    cms_server.put("HCPC2020_ANWEB_w_disclaimer.txt", hcpcs_full())
    url = cms_server.url("HCPC2020_ANWEB_w_disclaimer.txt", "slow/1")  # both are downloading at once
    runs = [refresh.enqueue(kind=k.HCPCS, url=url), refresh.enqueue(kind=k.HCPCS, url=url)]
    done = refresh.wait_for([r.pk for r in runs], timeout=60)
    assert sorted(r.status for r in done) == ["loaded", "unchanged"]
    loaded, unchanged = sorted(done, key=lambda r: r.status)
    assert unchanged.release_id == loaded.release_id
    assert f"waited for run #{loaded.pk} of hcpcs" in unchanged.note
    assert Release.objects.filter(kind=k.HCPCS).count() == 1


def _ptp_file(tmp_path: Path, rows: int) -> Path:
    out = tmp_path / "ccipra-v322r0-f1.TXT"
    gen = ROOT / "bench" / "gen_ptp.py"
    subprocess.run([sys.executable, str(gen), "--rows", str(rows), "--out", str(out)], check=True, capture_output=True)
    return out


def test_a_worker_killed_in_the_middle_of_a_load(worker, cms_server, tmp_path):
    big = _ptp_file(tmp_path, 600_000)
    cms_server.put(big.name, big.read_bytes())
    run = refresh.enqueue(kind=k.PTP_PRACTITIONER, url=cms_server.url(big.name))

    def loading():
        run.refresh_from_db()
        return run.step == "load" and run.progress_note.endswith("rows") and run

    wait_until(loading, what="the load to be under way")
    victim = int(run.worker.rsplit(":", 1)[1])
    assert victim in worker.children()
    os.kill(victim, signal.SIGKILL)
    # nothing of the killed load is left: its transaction died with the process
    wait_until(lambda: victim not in worker.children(), what="the process to go")
    assert not Release.objects.filter(kind=k.PTP_PRACTITIONER, status=Release.Status.LOADING).exists()
    # the task comes back (acks_late + reject_on_worker_lost), takes its run over and finishes it
    [done] = refresh.wait_for([run.pk], timeout=120)
    assert done.status == "loaded", (done.error, worker.tail())
    assert done.attempts == 2 and f"{victim} stopped during load" in done.note
    assert Release.objects.filter(kind=k.PTP_PRACTITIONER).count() == 1
    assert PtpEdit.objects.count() == done.release.row_count == 600_000


def test_a_change_to_a_code_of_the_mild_profile_makes_a_notice(first_release, cms_server):
    from django.contrib.auth.models import Group, User

    User.objects.create_user("billing", "billing@example.org").groups.add(
        Group.objects.get_or_create(name="Billing staff")[0]
    )
    mild_profile()
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_text(g0276_description=NEW_TEXT))
    lines, code = refresh_wait("--url", cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    assert (lines, code) == ([{"kind": "hcpcs", "status": "loaded", "release": "HCPCS 2021 JAN", "error": None}], 0)
    run = RefreshRun.objects.latest("id")
    notice = ChangeNotice.objects.get()
    assert (notice.run_id, notice.release_id, notice.codes) == (run.pk, run.release_id, ["G0276"])
    assert notice.emailed_to == ["billing@example.org"]
    assert run.diff["changes"][0]["key"] == "G0276" and run.diff["changes"][0]["change"] == "changed"
    clear_cache()
    assert lookup("procedure", "G0276", date(2021, 2, 1))["description"].startswith(NEW_TEXT)
    in_force_answers(first_release, latest=False)  # 2020 dates are still answered by 2020
