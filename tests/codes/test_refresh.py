"""Code-set refreshes in-process (SQLite or PostgreSQL, Celery eager): each step, the whole run, the command,
the schedules, the lock, change notices and the admin. The same against a real worker: test_refresh_worker.py."""

import json
import os
import socket
from datetime import date, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from codes import refresh
from codes import snapshot as k
from codes.diff import Change
from codes.models import ChangeNotice, HcpcsCode, RefreshRun, Release, Source
from codes.refresh import download as fetch
from codes.refresh import runs, schedules, sources, zips
from codes.selectors import clear_cache, lookup
from practice import notices
from practice.models import ProfileCode
from tests.codes.refresh_data import hcpcs_full, hcpcs_text, mild_profile, ptp_text, zipped

pytestmark = pytest.mark.django_db(transaction=True)

FY2020_DAY = date(2020, 6, 1)
NEW_TEXT = "Percutaneous lumbar decompression (pild) or placebo in an approved CED study"


@pytest.fixture(autouse=True)
def eager(settings):
    """Tasks in-process whatever REDIS_URL says; fast retries and short timeouts."""
    from config.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    settings.REFRESH_RETRY_BACKOFF = 0.05
    settings.REFRESH_DOWNLOAD_ATTEMPTS = 3
    settings.REFRESH_READ_TIMEOUT = 1
    settings.REFRESH_CONNECT_TIMEOUT = 1
    settings.WATCHED_CODES = []
    clear_cache()
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
    clear_cache()


def run_url(url, kind=k.HCPCS, member="") -> RefreshRun:
    run = refresh.enqueue(kind=kind, url=url, member=member)
    run.refresh_from_db()
    return run


def g0276(on=FY2020_DAY) -> dict:
    clear_cache()
    return lookup("procedure", "G0276", on)


# --- download ----------------------------------------------------------------------------------------------


def test_download_streams_the_file_under_its_name(cms_server, tmp_path):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    seen = []
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    got = fetch.download(url, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert got.name == "HCPC2020_ANWEB_small.txt" and got.path.read_bytes() == hcpcs_text()
    assert seen[-1] == (got.size, got.size)


def test_404_is_not_tried_again(cms_server, tmp_path):
    url = cms_server.url("nothing.txt")
    with pytest.raises(fetch.RefreshError) as exc:
        fetch.download(url, tmp_path)
    assert str(exc.value) == f"the server answered 404 Not Found for {url}"
    assert cms_server.hits["/nothing.txt"] == 1


def test_500_is_tried_again_then_fails(cms_server, tmp_path):
    url = cms_server.url("x.txt", "status/500")
    with pytest.raises(fetch.TransientError, match=r"answered 500 Internal Server Error .* \(tried 3 times\)"):
        fetch.download(url, tmp_path)
    assert cms_server.hits["/status/500/x.txt"] == 3


def test_a_passing_server_error_is_outlived(cms_server, tmp_path):
    cms_server.put("f.txt", "data")
    got = fetch.download(cms_server.url("f.txt", "flaky/2"), tmp_path)
    assert got.path.read_text() == "data" and cms_server.hits["/flaky/2/f.txt"] == 3


def test_read_timeout_and_refused_connection(cms_server, tmp_path):
    cms_server.put("f.txt", "data")
    with pytest.raises(fetch.TransientError, match=r"did not answer within 1 s .*\(tried 2 times\)"):
        fetch.download(cms_server.url("f.txt", "slow/3"), tmp_path, attempts=2)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(fetch.TransientError, match="could not connect to 127.0.0.1"):
        fetch.download(f"http://127.0.0.1:{port}/f.txt", tmp_path, attempts=1)


def test_a_cut_transfer_and_the_size_limit(cms_server, tmp_path):
    cms_server.put("big.txt", b"x" * 100_000)
    with pytest.raises(fetch.TransientError, match="stopped after 50,000 of 100,000 bytes|cut off"):
        fetch.download(cms_server.url("big.txt", "truncated"), tmp_path, attempts=1)
    with pytest.raises(fetch.RefreshError, match="100,000 bytes, over the limit of 1,000"):
        fetch.download(cms_server.url("big.txt"), tmp_path, max_bytes=1000)


def test_file_addresses(tmp_path, settings):
    settings.REFRESH_FILE_ROOT = str(tmp_path / "src")
    src = tmp_path / "src" / "HCPC2020_ANWEB_small.txt"
    src.parent.mkdir()
    src.write_bytes(b"abc")
    (tmp_path / "out").mkdir()
    assert fetch.download(src.as_uri(), tmp_path / "out").path.read_bytes() == b"abc"
    with pytest.raises(fetch.RefreshError, match="there is no file at file://"):
        fetch.download((tmp_path / "src" / "none.txt").as_uri(), tmp_path / "out")


# --- zips, kinds, addresses --------------------------------------------------------------------------------


def _fetched(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return fetch.Fetched(path, name, len(data))


def test_zip_member_by_pattern_or_the_kinds_usual_name(tmp_path):
    data = zipped({"README.txt": b"r", "sub/ccipra-v322r0-f1.TXT": b"1", "ccipra-v322r0-f2.TXT": b"2"})
    (tmp_path / "out").mkdir()
    got = zips.unpack(_fetched(tmp_path, "ptp.zip", data), "ccipra-v*-f?.txt", k.PTP_PRACTITIONER, tmp_path / "out")
    assert [f.name for f in got] == ["ccipra-v322r0-f2.TXT", "ccipra-v322r0-f1.TXT"]
    usual = zips.unpack(_fetched(tmp_path, "ptp.zip", data), "", k.PTP_PRACTITIONER, tmp_path / "out")
    assert len(usual) == 2


def test_zip_without_the_member_names_what_it_has(tmp_path):
    data = zipped({"a.txt": b"a", "b.txt": b"b"})
    with pytest.raises(fetch.RefreshError) as exc:
        zips.unpack(_fetched(tmp_path, "x.zip", data), "ccipra-*.TXT", k.PTP_PRACTITIONER, tmp_path)
    assert str(exc.value) == "the zip has no member matching 'ccipra-*.TXT' (members: a.txt, b.txt)"


def test_a_damaged_zip_is_refused(tmp_path):
    data = zipped({"HCPC2020_ANWEB.txt": b"x" * 5000})
    with pytest.raises(fetch.RefreshError, match="not a readable zip"):
        zips.unpack(_fetched(tmp_path, "h.zip", data[: len(data) // 2]), "", k.HCPCS, tmp_path)


def test_kind_from_the_file_name():
    assert refresh.infer_kind("https://x/medicare-ncci-2026q3-practitioner-ptp-edits-ccipra-v322r0-f1.zip") == (
        k.PTP_PRACTITIONER
    )
    assert refresh.infer_kind("file:///d/MCR_MUE_PractitionerServices_Eff_07-01-2026.csv") == k.MUE_PRACTITIONER
    assert refresh.infer_kind("https://x/january-2025-alpha-numeric-hcpcs-file.zip") == k.HCPCS
    assert refresh.infer_kind("https://x/icd10cm-Code%20Descriptions-2026.zip") == k.ICD10CM
    assert refresh.infer_kind("https://x/rvu25d.zip") == k.PFS_RVU
    assert refresh.infer_kind("https://x/January%202025%20Web%20Addendum%20B.12.31.24.csv") == k.OPPS
    assert refresh.infer_kind("file:///d/AOC_V2026Q3-F-MCR.txt") == k.NCCI_ADDON
    assert refresh.infer_kind("https://x/ZIP5_OCT2025.txt") == k.ZIP5
    assert refresh.infer_kind("https://x/zip-code-carrier-locality-file-revised-02-18-2026.zip") == k.ZIP5
    assert refresh.infer_kind("https://x/data.csv") is None


def test_address_placeholders():
    url = "https://www.cms.gov/files/zip/{month_name}-{year}-alpha-numeric-hcpcs-file.zip"
    assert sources.expand_url(url, date(2026, 4, 1)).endswith("/april-2026-alpha-numeric-hcpcs-file.zip")
    assert sources.expand_url("https://x/ccipra-v{ncci}r0-f1.zip", date(2026, 8, 3)) == "https://x/ccipra-v322r0-f1.zip"
    with pytest.raises(fetch.RefreshError, match="unknown placeholder"):
        sources.expand_url("https://x/{week}.zip", date(2026, 1, 1))


# --- whole runs --------------------------------------------------------------------------------------------


def test_refresh_loads_then_says_unchanged(cms_server):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    run = run_url(url)
    assert (run.status, run.error) == ("loaded", "")
    assert run.release.status == Release.Status.LOADED and run.release.label == "HCPCS 2020"
    assert run.rows == 6 and run.bytes == len(hcpcs_text())
    assert set(run.timings) == {"download", "verify", "load", "check", "switch", "notify"}
    assert run.files[0]["name"] == "HCPC2020_ANWEB_small.txt"
    assert g0276()["found"] is True
    again = run_url(url)
    assert (again.status, again.release_id) == ("unchanged", run.release_id)
    assert "already loaded as HCPCS 2020" in again.note and "load" not in again.timings
    assert Release.objects.filter(kind=k.HCPCS).count() == 1


def test_a_zip_from_a_file_address_with_fixed_dates(tmp_path, settings):
    settings.REFRESH_FILE_ROOT = str(tmp_path)
    path = tmp_path / "october-2020-alpha-numeric-hcpcs-file.zip"
    path.write_bytes(zipped({"HCPC2020_OCT_ANWEB.txt": hcpcs_text(), "proc_notes.txt": b"n"}))
    source = Source.objects.create(
        name="HCPCS",
        kind=k.HCPCS,
        url=path.as_uri(),
        dates="fixed",
        effective_from=date(2020, 10, 5),
        effective_to=date(2021, 3, 31),
    )
    run = refresh.enqueue(source=source)
    run.refresh_from_db()
    assert run.status == "loaded", run.error
    assert (run.release.effective_from, run.release.effective_to) == (date(2020, 10, 5), date(2021, 3, 31))
    assert run.files[0]["name"] == "HCPC2020_OCT_ANWEB.txt"


def _in_force_first(cms_server) -> Release:
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    run = run_url(cms_server.url("HCPC2020_ANWEB_small.txt"))
    assert run.status == "loaded"
    return run.release


def _untouched(release: Release):
    assert Release.objects.in_force(k.HCPCS).pk == release.pk
    assert Release.objects.filter(kind=k.HCPCS).exclude(status=Release.Status.FAILED).count() == 1
    answer = g0276()
    assert answer["found"] and answer["release"] == release.label


def test_404_fails_and_the_release_in_force_keeps_answering(cms_server):
    first = _in_force_first(cms_server)
    url = cms_server.url("HCPC2021_JAN_ANWEB.txt")
    run = run_url(url)
    assert run.status == "failed" and run.error == f"the server answered 404 Not Found for {url}"
    assert run.release_id is None
    _untouched(first)


def test_a_broken_file_fails_naming_the_line(cms_server):
    first = _in_force_first(cms_server)
    text = hcpcs_text().decode("latin-1").split("\r\n")
    text[13] = text[13][:268] + "2021XX01" + text[13][276:]  # a bad ADD DT on A4550
    cms_server.put("HCPC2021_JAN_ANWEB.txt", "\r\n".join(text))
    run = run_url(cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    assert run.status == "failed"
    assert run.error.startswith("HCPC2021_JAN_ANWEB.txt, line 14"), run.error
    assert "2021XX01" not in run.error  # the place, not the file's bytes (issue 14: errors never echo contents)
    _untouched(first)
    assert not HcpcsCode.objects.exclude(release=first).exists()


def test_a_truncated_download_fails_after_retries(cms_server):
    first = _in_force_first(cms_server)
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_full())
    run = run_url(cms_server.url("HCPC2021_JAN_ANWEB.txt", "truncated"))
    assert run.status == "failed" and "tried 3 times" in run.error
    _untouched(first)


def test_a_big_row_drop_is_held_for_review_then_put_in_force(cms_server, admin_client):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    first = run_url(cms_server.url("HCPC2020_ANWEB_small.txt")).release
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_text(("G0276", "Q0")))
    run = run_url(cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    assert run.status == "held"
    assert run.release.status == Release.Status.HELD
    assert run.release.held_reason == "2 rows against 6 in HCPCS 2020 (in force): 67% fewer, more than the 20% allowed"
    assert Release.objects.in_force(k.HCPCS, date(2021, 2, 1)).pk == first.pk
    assert json.loads(call_command_out("refresh_codesets", "--url", run.url, "--wait"))["status"] == "unchanged"
    response = admin_client.post(
        reverse("admin:codes_refreshrun_changelist"), {"action": "put_in_force", "_selected_action": [run.pk]}
    )
    assert response.status_code == 302
    run.refresh_from_db()
    run.release.refresh_from_db()
    assert run.status == "loaded" and run.release.status == Release.Status.LOADED and run.release.held_reason == ""


def test_a_run_is_done_once(cms_server):
    first = _in_force_first(cms_server)
    run = RefreshRun.objects.get(release=first)
    before = (run.finished_at, run.attempts)
    assert refresh.execute_run(run.pk) == "loaded"  # a redelivered task for a finished run
    run.refresh_from_db()
    assert (run.finished_at, run.attempts) == before


# --- the lock ----------------------------------------------------------------------------------------------


def test_one_running_refresh_per_kind(cms_server):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    holder = RefreshRun.objects.create(
        kind=k.HCPCS, url=url, status="running", worker=runs.worker_id(), heartbeat_at=timezone.now()
    )
    waiting = RefreshRun.objects.create(kind=k.HCPCS, url=url)
    assert refresh.execute_run(waiting.pk) == refresh.BUSY
    waiting.refresh_from_db()
    assert waiting.status == "queued" and f"waited for run #{holder.pk}" in waiting.note
    other_kind = RefreshRun.objects.create(kind=k.GPCI, url=url)
    assert runs.claim(other_kind.pk) == "claimed"  # other kinds are free
    RefreshRun.objects.filter(pk=holder.pk).update(status="loaded")
    assert refresh.execute_run(waiting.pk) == "loaded"


def test_a_dead_runs_lock_is_taken_over(cms_server):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    dead_pid = _dead_pid()
    dead = RefreshRun.objects.create(
        kind=k.HCPCS, url=url, status="running", step="load", worker=f"{socket.gethostname()}:{dead_pid}",
        heartbeat_at=timezone.now(), attempts=1,
    )  # fmt: skip
    # its own redelivered task takes it over and finishes it
    assert refresh.execute_run(dead.pk) == "loaded"
    dead.refresh_from_db()
    assert dead.attempts == 2 and f"{dead_pid} stopped during load" in dead.note
    # a silent one (stale heartbeat, another host) is failed by the next run of the kind
    stale = RefreshRun.objects.create(
        kind=k.HCPCS, url=url, status="running", step="download", worker="elsewhere:1",
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )  # fmt: skip
    assert refresh.execute_run(RefreshRun.objects.create(kind=k.HCPCS, url=url).pk) == "unchanged"
    stale.refresh_from_db()
    assert stale.status == "failed" and "stopped during download and did not come back" in stale.error


def _dead_pid() -> int:
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_live_duplicate_does_nothing():
    run = RefreshRun.objects.create(
        kind=k.HCPCS, url="http://x/y", status="running", worker=runs.worker_id(), heartbeat_at=timezone.now()
    )
    assert refresh.execute_run(run.pk) == refresh.ELSEWHERE
    assert os.getpid() == int(run.worker.rsplit(":", 1)[1])


# --- change notices ----------------------------------------------------------------------------------------


def test_a_change_to_a_code_of_the_mild_profile_makes_a_notice_and_mails_billing_staff(cms_server):
    mild_profile()
    staff = Group.objects.get_or_create(name="Billing staff")[0]
    User.objects.create_user("billing", "billing@example.org").groups.add(staff)
    User.objects.create_user("other", "other@example.org")
    _in_force_first(cms_server)
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_text(g0276_description=NEW_TEXT))
    run = run_url(cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    assert run.status == "loaded", run.error
    assert run.diff["counts"] == {"added": 0, "removed": 0, "terminated": 0, "changed": 1}
    notice = ChangeNotice.objects.get()
    assert (notice.run, notice.release, notice.codes) == (run, run.release, ["G0276"])
    assert notice.changes[0]["change"] == "changed" and NEW_TEXT in notice.changes[0]["fields"]["long_description"][1]
    assert notice.emailed_to == ["billing@example.org"]
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["billing@example.org"]
    assert "G0276" in mail.outbox[0].subject and NEW_TEXT in mail.outbox[0].body
    assert g0276(date(2021, 2, 1))["description"].startswith(NEW_TEXT)


def test_a_termination_is_a_notice_and_unwatched_changes_are_not(cms_server):
    mild_profile()
    _in_force_first(cms_server)
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_text(g0276_terminated="20210331"))
    run = run_url(cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    notice = ChangeNotice.objects.get(run=run)
    assert notice.changes[0]["change"] == "terminated" and notice.changes[0]["fields"]["terminated"][1] == "2021-03-31"
    ProfileCode.objects.filter(code="G0276").delete()
    cms_server.put("HCPC2021_APR_ANWEB.txt", hcpcs_text(g0276_description=NEW_TEXT))
    assert run_url(cms_server.url("HCPC2021_APR_ANWEB.txt")).status == "loaded"
    assert ChangeNotice.objects.count() == 1


def test_watched_codes_come_from_profiles_and_rules_in_force():
    from practice.models import Payer, PayerRule

    mild_profile([("procedure", "0275T", "primary"), ("icd10cm", "M48.062", "usual"), ("pos", "24", "usual")])
    medicare = Payer.objects.create(key="medicare", name="Medicare", payer_type="medicare")
    rule = {"payer": medicare, "name": "NCD 150.13", "coverage": "ced", "effective_from": date(2017, 1, 1)}
    PayerRule.objects.create(
        **rule, key="ncd", codes=["G0276"], required_modifiers=["Q0"],
        required_diagnoses=[{"codes": ["Z006"], "position": "secondary"}], allowed_places_of_service=["22"],
    )  # fmt: skip
    PayerRule.objects.create(**rule, key="old", codes=["0274T"], effective_to=date(2020, 1, 1))
    assert notices.watched_by_system() == {
        "procedure": {"0275T", "G0276"}, "icd10cm": {"M48062", "Z006"}, "modifier": {"Q0"}, "pos": {"24", "22"},
    }  # fmt: skip
    assert notices.watched_codes() == {"0275T", "G0276", "M48062", "Z006", "Q0", "24", "22"}


def test_which_parts_of_a_change_are_codes():
    assert notices.codes_touched(Change("M48062", "changed"), {"M48*"}) == ["M48062"]
    assert notices.codes_touched(Change(("0275T", "77003"), "added"), {"77003"}) == ["77003"]
    assert notices.codes_touched(Change(("77003", "26"), "changed"), {"26"}, k.PFS_RVU) == []


# --- commands ----------------------------------------------------------------------------------------------


def call_command_out(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def test_refresh_codesets_prints_one_line_per_run_and_exits_1_on_failure(cms_server):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    Source.objects.create(name="HCPCS", kind=k.HCPCS, url=cms_server.url("HCPC2020_ANWEB_small.txt"))
    Source.objects.create(name="GPCI", kind=k.GPCI, url=cms_server.url("GPCI2026.csv"))
    Source.objects.create(name="off", kind=k.GPCI, url=cms_server.url("x"), enabled=False)
    out = StringIO()
    with pytest.raises(CommandError) as exc:
        call_command("refresh_codesets", "--wait", stdout=out)
    assert exc.value.returncode == 1 and str(exc.value) == "1 of 2 refresh runs failed"
    lines = sorted((json.loads(line) for line in out.getvalue().splitlines()), key=lambda x: x["kind"])
    assert lines == [
        {"kind": "gpci", "status": "failed", "release": None,
         "error": f"the server answered 404 Not Found for {cms_server.url('GPCI2026.csv')}"},
        {"kind": "hcpcs", "status": "loaded", "release": "HCPCS 2020", "error": None},
    ]  # fmt: skip
    again = call_command_out("refresh_codesets", "--kind", "hcpcs", "--wait")
    assert json.loads(again) == {"kind": "hcpcs", "status": "unchanged", "release": "HCPCS 2020", "error": None}


def test_refresh_codesets_with_an_address(cms_server):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    line = json.loads(call_command_out("refresh_codesets", "--url", url, "--wait"))
    assert line["status"] == "loaded" and RefreshRun.objects.get().trigger == "command"
    with pytest.raises(CommandError, match="cannot tell which code set .*data.csv is from its name: give --kind"):
        call_command("refresh_codesets", "--url", cms_server.url("data.csv"))
    with pytest.raises(CommandError, match="no source is configured for gpci"):
        call_command("refresh_codesets", "--kind", "gpci")
    with pytest.raises(CommandError, match="give an https://, http:// or file:// address"):
        call_command("refresh_codesets", "--url", "ftp://x/HCPC2020.txt")


def test_setup_refresh_schedules_is_idempotent():
    from django_celery_beat.models import PeriodicTask

    hcpcs = Source.objects.create(name="HCPCS", kind=k.HCPCS, url="https://x/h.zip")
    icd = Source.objects.create(name="ICD", kind=k.ICD10CM, url="https://x/i.zip")
    pfs = Source.objects.create(name="PFS", kind=k.PFS_RVU, url="https://x/p.zip")
    manual = Source.objects.create(name="CPT", kind=k.CPT, url="file:///cpt.txt", schedule="manual")
    for _ in range(2):
        assert call_command_out("setup_refresh_schedules") == "4 source schedule(s) set up, 0 removed"
    tasks = {t.name: t for t in PeriodicTask.objects.filter(task="codes.refresh_source")}
    assert len(tasks) == 4

    def cron(source):
        c = tasks[schedules.periodic_task_name(source.pk)].crontab
        return (c.minute, c.hour, c.day_of_month, c.month_of_year)

    assert cron(hcpcs) == ("30", "4", "1", "1,4,7,10")
    assert cron(icd) == ("30", "4", "1", "4,10")
    assert cron(pfs) == ("30", "4", "1", "1")
    assert tasks[schedules.periodic_task_name(manual.pk)].enabled is False
    assert json.loads(tasks[schedules.periodic_task_name(hcpcs.pk)].kwargs) == {"source_id": hcpcs.pk}
    pfs.delete()
    assert call_command_out("setup_refresh_schedules") == "3 source schedule(s) set up, 1 removed"


def test_the_scheduled_task_refreshes_its_source(cms_server):
    from codes.tasks import refresh_source

    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    source = Source.objects.create(name="HCPCS", kind=k.HCPCS, url=cms_server.url("HCPC2020_ANWEB_small.txt"))
    run_id = refresh_source.delay(source.pk).get()
    run = RefreshRun.objects.get(pk=run_id)
    assert (run.status, run.trigger, run.source) == ("loaded", "schedule", source)


# --- admin -------------------------------------------------------------------------------------------------


def test_admin_sources_refresh_now_and_runs_with_progress_and_diff(cms_server, admin_client):
    mild_profile()
    _in_force_first(cms_server)
    cms_server.put("HCPC2021_JAN_ANWEB.txt", hcpcs_text(g0276_description=NEW_TEXT))
    source = Source.objects.create(name="HCPCS quarterly", kind=k.HCPCS, url=cms_server.url("HCPC2021_JAN_ANWEB.txt"))
    response = admin_client.post(
        reverse("admin:codes_source_changelist"), {"action": "refresh_now", "_selected_action": [source.pk]}
    )
    assert response.status_code == 302
    # in-process Celery runs the refresh after the response (in a thread outside the tests: config.background)
    (run,) = refresh.wait_for([RefreshRun.objects.get(source=source).pk], timeout=30)
    assert run.status == "loaded" and run.trigger == "admin"
    page = admin_client.get(reverse("admin:codes_source_changelist")).content.decode()
    assert "HCPCS quarterly" in page and f"#{run.pk}" in page
    running = RefreshRun.objects.create(kind=k.GPCI, url="http://x", status="running", step="download", percent=42)
    page = admin_client.get(reverse("admin:codes_refreshrun_changelist")).content.decode()
    assert "refresh_progress.js" in page and f'data-run="{running.pk}" data-status="running"' in page
    assert "download 42%" in page
    progress = admin_client.get(reverse("admin:codes_refreshrun_progress"), {"ids": f"{running.pk},{run.pk}"}).json()
    assert progress["runs"][str(running.pk)] == {
        "status": "running", "label": "Running", "finished": False, "progress": "download 42%", "percent": 42,
    }  # fmt: skip
    assert progress["runs"][str(run.pk)]["finished"] is True
    detail = admin_client.get(reverse("admin:codes_refreshrun_change", args=[run.pk])).content.decode()
    assert "What changed" in detail and "G0276" in detail and "long_description" in detail
    notice = ChangeNotice.objects.get()
    assert admin_client.get(reverse("admin:codes_changenotice_changelist")).status_code == 200
    assert "G0276" in admin_client.get(reverse("admin:codes_changenotice_change", args=[notice.pk])).content.decode()
    form = admin_client.get(reverse("admin:codes_source_add")).content.decode()
    assert "Zip member" in form


def test_admin_saves_a_source_with_its_schedule(admin_client):
    from django_celery_beat.models import PeriodicTask

    response = admin_client.post(
        reverse("admin:codes_source_add"),
        {"name": "NCCI", "kind": k.PTP_PRACTITIONER, "url": "https://www.cms.gov/files/zip/ccipra-v{ncci}r0-f1.zip",
         "member": "ccipra-v*-f1.TXT", "dates": "file", "schedule": "", "enabled": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    source = Source.objects.get()
    assert PeriodicTask.objects.get(name=schedules.periodic_task_name(source.pk)).crontab.month_of_year == "1,4,7,10"
    bad = admin_client.post(
        reverse("admin:codes_source_add"),
        {"name": "x", "kind": k.HCPCS, "url": "ftp://x", "dates": "fixed", "schedule": "", "enabled": "on"},
    )
    assert bad.status_code == 200 and "Give an https://" in bad.content.decode()


def test_a_new_ncci_pair_with_a_profile_code_makes_a_notice(cms_server):
    mild_profile()
    pairs = [("22867", "22869", "20170101", "*", "0"), ("64483", "77003", "20110101", "*", "1")]
    pairs += [(f"2{n:04d}", "36000", "20200101", "*", "1") for n in range(30)]
    cms_server.put("ccipra-v321r0-f1.TXT", ptp_text(pairs))
    first = run_url(cms_server.url("ccipra-v321r0-f1.TXT"), kind=k.PTP_PRACTITIONER)
    assert first.status == "loaded", first.error
    added = [("0275T", "77003", "20260701", "*", "0"), ("22867", "22870", "20260701", "*", "0")]
    cms_server.put("ccipra-v322r0-f1.TXT", ptp_text(pairs + added))
    run = run_url(cms_server.url("ccipra-v322r0-f1.TXT"), kind=k.PTP_PRACTITIONER)
    assert run.status == "loaded", run.error
    assert run.diff["counts"]["added"] == 2
    notice = ChangeNotice.objects.get(run=run)
    assert notice.codes == ["0275T"]
    assert notice.changes == [{"key": "0275T 77003", "change": "added", "fields": {"modifier_indicator": ["-", "0"]}}]


def test_a_broker_that_does_not_answer_keeps_the_run_queued_for_the_sweeper(monkeypatch, cms_server):
    from kombu.exceptions import OperationalError

    from billing.sweep import sweep
    from codes.tasks import refresh_run
    from config.jobs import JobNotQueued

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    with monkeypatch.context() as patch:
        patch.setattr(refresh_run, "delay", down)
        with pytest.raises(JobNotQueued, match="refresh run \\d+ could not be queued"):
            refresh.enqueue(kind=k.HCPCS, url=cms_server.url("HCPC2020_ANWEB_small.txt"))
    run = RefreshRun.objects.get()
    assert run.status == "queued" and "the job queue did not answer" in run.progress_note
    RefreshRun.objects.filter(pk=run.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    assert sweep()["refreshes"] == [run.pk]  # the broker is back: the sweeper sends it
    run.refresh_from_db()
    assert run.status == "loaded" and run.progress_note == ""


def test_a_run_whose_worker_keeps_dying_is_given_up():
    run = RefreshRun.objects.create(
        kind=k.HCPCS, url="http://x/y", status="running", step="load", attempts=runs.MAX_ATTEMPTS,
        worker=f"{socket.gethostname()}:{_dead_pid()}", heartbeat_at=timezone.now(),
    )  # fmt: skip
    assert refresh.execute_run(run.pk) == "failed"
    run.refresh_from_db()
    assert (
        run.error
        == "the worker running it stopped 3 times (last during load); gave up. The release in force is untouched."
    )


def test_a_file_that_does_not_say_its_dates_asks_for_fixed_dates(cms_server):
    cms_server.put("hcpcs-latest.txt", hcpcs_text())
    run = run_url(cms_server.url("hcpcs-latest.txt"))
    assert run.status == "failed"
    assert run.error == (
        "neither the hcpcs file nor its name says when it takes effect: give --effective-from YYYY-MM-DD "
        "(for a refresh: give the source fixed in-force dates in the admin)"
    )


def test_the_schedule_sends_stuck_runs_again(cms_server):
    cms_server.put("HCPC2020_ANWEB_small.txt", hcpcs_text())
    url = cms_server.url("HCPC2020_ANWEB_small.txt")
    lost = RefreshRun.objects.create(kind=k.HCPCS, url=url)  # its message was lost (e.g. Redis flushed)
    RefreshRun.objects.filter(pk=lost.pk).update(queued_at=timezone.now() - timedelta(hours=1))
    fresh = RefreshRun.objects.create(kind=k.GPCI, url=url)  # queued a moment ago: left alone
    assert refresh.requeue_stuck() == [lost.pk]
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert (lost.status, fresh.status) == ("loaded", "queued")


def test_refresh_codesets_with_the_broker_down_says_so_and_keeps_the_run(monkeypatch):
    from kombu.exceptions import OperationalError

    from codes.tasks import refresh_run

    def down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(refresh_run, "delay", down)
    with pytest.raises(CommandError, match=r"the job queue \(Redis\) did not answer: the refresh run is saved"):
        call_command("refresh_codesets", "--url", "https://cms.example/HCPC2026_JAN_ANWEB.txt", stdout=StringIO())
    assert RefreshRun.objects.get().status == "queued"
