"""What changed between two releases: added, removed, terminated, changed; PTP compared in the database."""

from datetime import date

import pytest

from codes import models
from codes import snapshot as k
from codes.diff import diff_releases, diff_rows, previous_release
from codes.formats.rows import PlaceOfServiceRow
from codes.loading import load_files

pytestmark = pytest.mark.django_db


def test_diff_rows_is_pure():
    old = {"24": PlaceOfServiceRow("24", "ASC", True), "99": PlaceOfServiceRow("99", "Other", False)}
    new = {
        "24": PlaceOfServiceRow("24", "Ambulatory surgical center", True),
        "10": PlaceOfServiceRow("10", "Home", False),
    }
    diff = diff_rows(k.POS, old, new)
    assert diff.counts() == {"added": 1, "removed": 1, "terminated": 0, "changed": 1}
    changed = next(c for c in diff.changes if c.kind == "changed")
    assert changed.fields == {"name": ("ASC", "Ambulatory surgical center")}


def test_hcpcs_release_diff_on_the_real_file(cms_dir, tmp_path):
    real = cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt"
    first = load_files(k.HCPCS, [real], effective_from=date(2020, 1, 1), effective_to=date(2020, 3, 31))
    # the next quarter: G0276 terminated on 2020-03-31 (TERM DT is columns 285-292 of its first record)
    lines = real.read_bytes().split(b"\r\n")
    edited = []
    for line in lines:
        if line[:5] == b"G0276" and line[10:11] == b"3":
            line = line[:284] + b"20200331" + line[292:]
        edited.append(line)
    changed = tmp_path / "HCPC2020_APR_ANWEB.txt"
    changed.write_bytes(b"\r\n".join(edited))
    second = load_files(k.HCPCS, [changed])
    old = models.Release.objects.get(pk=first.release_id)
    new = models.Release.objects.get(pk=second.release_id)
    assert previous_release(new) == old
    diff = diff_releases(old, new)
    assert diff.counts()["terminated"] == 1
    (change,) = diff.changes
    assert change.code == "G0276" and change.fields["terminated"] == (None, date(2020, 3, 31))
    assert diff.as_json()["changes"][0]["key"] == "G0276"


def test_ptp_diff_in_the_database(cms_dir, tmp_path):
    real = cms_dir / "ccipra-v322r0-f1_excerpt.txt"
    text = real.read_text(encoding="latin-1")
    first = load_files(k.PTP_PRACTITIONER, [real], effective_from=date(2026, 7, 1))
    rows = text.splitlines(keepends=True)
    header, data = rows[:6], rows[6:]
    # next quarter: one active pair gets a deletion date, one new pair appears
    target = next(i for i, r in enumerate(data) if r.startswith("0001U\t0030U"))
    data[target] = data[target].replace("\t*\t", "\t20260930\t")
    data.append("0002U\t0030U\t\t20261001\t*\t1\tMisuse of Column Two code with Column One code\n")
    nxt = tmp_path / "ccipra-v323r0-f1.TXT"
    nxt.write_text("".join(header + data), encoding="latin-1")
    second = load_files(k.PTP_PRACTITIONER, [nxt])
    diff = diff_releases(
        models.Release.objects.get(pk=first.release_id), models.Release.objects.get(pk=second.release_id)
    )
    by_kind = {(c.kind, c.key) for c in diff.changes}
    assert ("added", ("0002U", "0030U")) in by_kind
    assert ("terminated", ("0001U", "0030U")) in by_kind
    assert diff.counts()["removed"] == 0
