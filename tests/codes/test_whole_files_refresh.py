"""Issue 14 items 1 and 6 through a refresh (in-process Celery, the local CMS stand-in): a cut file, a damaged zip
member and a file of the other table end the run failed, name the file, and leave the release in force."""

import zipfile
from pathlib import Path

import pytest

from codes import refresh
from codes import snapshot as k
from codes.models import MueValue, PtpEdit, Release
from codes.selectors import clear_cache

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cms" / "sweep"
MUE = "MCR_MUE_PractitionerServices_Eff_01-01-2031_sweep.csv"
PTP = "ccipra-v372r0-f1_sweep.txt"


@pytest.fixture(autouse=True)
def eager(settings):
    from config.celery import app

    old = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    settings.REFRESH_DOWNLOAD_ATTEMPTS = 1
    settings.WATCHED_CODES = []
    clear_cache()
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = old
    clear_cache()


def _run(url: str, kind: str):
    run = refresh.enqueue(kind=kind, url=url)
    run.refresh_from_db()
    return run


def test_an_mue_file_missing_its_last_26_bytes_fails_and_the_release_in_force_stays(cms_server):
    data = (SAMPLES / MUE).read_bytes()
    cms_server.put(MUE, data)
    first = _run(cms_server.url(MUE), k.MUE_PRACTITIONER)
    assert first.status == "loaded" and first.rows == 5
    cut = "MCR_MUE_PractitionerServices_Eff_04-01-2031.csv"
    cms_server.put(cut, data[:-26])  # served whole: the transfer is fine, the file is not
    run = _run(cms_server.url(cut), k.MUE_PRACTITIONER)
    assert run.status == "failed" and run.release_id is None
    assert run.error == f"{cut}, line 9: truncated record: 3 of 4 columns", run.error  # the last row, cut
    assert list(Release.objects.filter(kind=k.MUE_PRACTITIONER).values_list("id", "status")) == [
        (first.release_id, Release.Status.LOADED)
    ]
    assert MueValue.objects.count() == 5


def test_a_zip_member_failing_its_crc_fails_the_run(cms_server, tmp_path):
    data = (SAMPLES / PTP).read_bytes()
    good = tmp_path / "ptp.zip"
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("ccipra-v372r0-f1.txt", data)
    raw = bytearray(good.read_bytes())
    raw[raw.index(b"64483\t62321")] ^= 0x01  # one byte of the member changed, sizes and directory intact
    cms_server.put("medicare-ncci-2031q1-practitioner-ptp.zip", bytes(raw))
    run = _run(cms_server.url("medicare-ncci-2031q1-practitioner-ptp.zip"), k.PTP_PRACTITIONER)
    assert run.status == "failed" and "damaged zip" in run.error and "CRC" in run.error, run.error
    assert not Release.objects.exists() and not PtpEdit.objects.exists()


def test_a_hospital_table_refreshed_as_the_practitioner_kind_fails_naming_the_table(cms_server):
    name = "ccioph-v372r0-f1.txt"
    cms_server.put(name, (SAMPLES / "ccioph-v372r0-f1_sweep.txt").read_bytes())
    run = _run(cms_server.url(name), k.PTP_PRACTITIONER)
    assert run.status == "failed"
    assert run.error.startswith(f"{name}: its name says this is the outpatient hospital table"), run.error
    assert not Release.objects.exists()
