"""The loader: real CMS files in, releases out; atomic, idempotent, bad input refused with file and line."""

import json
from datetime import date
from pathlib import Path

import pytest
import simple_icd_10_cm as cm
from django.core.management import CommandError, call_command

from codes import models
from codes import snapshot as k
from codes.loading import LoadError, load_files
from codes.selectors import clear_cache, lookup, snapshot_on

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_cache()
    yield
    clear_cache()


def _run(*args) -> dict:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_icd10cm_xml_loads_and_every_billable_flag_agrees_with_simple_icd_10_cm(icd10cm_xml):
    result = load_files(k.ICD10CM, [icd10cm_xml])
    assert result.status == "loaded"
    assert (result.effective_from, result.effective_to) == (date(2026, 4, 1), date(2026, 9, 30))
    assert result.rows == 98186
    stored = dict(models.IcdCode.objects.filter(release_id=result.release_id).values_list("code", "billable"))
    assert sum(stored.values()) == 74719
    library = {
        c.replace(".", ""): cm.is_leaf(c) for c in cm.get_all_codes(with_dots=True) if cm.is_category_or_subcategory(c)
    }
    disagree = [c for c, billable in library.items() if stored.get(c) != billable]
    assert disagree == []


def test_same_file_twice_is_unchanged_and_loads_nothing(cms_dir):
    path = cms_dir / "PPRRVU2025_Oct.csv"
    first = _run("import_codeset", "pfs-rvu", str(path))
    assert first["status"] == "loaded" and first["rows"] == 49
    second = _run("import_codeset", "pfs-rvu", str(path))
    assert second == {**first, "status": "unchanged"}
    assert models.Release.objects.filter(kind=k.PFS_RVU).count() == 1
    assert models.RvuValue.objects.count() == 49


def test_pfs_2025_answers_0275t_status_r_and_g0276_rvus(cms_dir):
    load_files(k.PFS_RVU, [cms_dir / "PPRRVU2025_Oct.txt"])
    snap = snapshot_on(date(2025, 11, 3))
    rvu = snap.rvu("0275T")
    assert rvu.status == "R" and rvu.work_rvu == 0 and rvu.global_days == "YYY"
    g = snap.rvu("G0276")
    assert (g.status, str(g.work_rvu), str(g.pe_facility_rvu), str(g.mp_rvu)) == ("R", "7.17", "3.03", "0.74")
    assert snap.rvu("77003", "26") is not None and snap.rvu("77003", "TC") is not None
    assert snapshot_on(date(2026, 1, 5)).rvu("0275T") is None  # the October 2025 file ends 2025-12-31


def test_hcpcs_g0276_long_description_joined_from_continuation_records(cms_dir):
    result = load_files(k.HCPCS, [cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt"])
    row = models.HcpcsCode.objects.get(release_id=result.release_id, code="G0276")
    assert row.long_description.startswith("Blinded lumbar decompression (PILD)")
    assert row.long_description.endswith("clinical trial")
    assert (row.coverage, row.added, row.asc_group) == ("D", date(2015, 1, 1), "YY")
    info = lookup("modifier", "GD", date(2020, 3, 1))
    assert info["found"] and not info["in_effect"]  # terminated 2019-12-31


def test_ncci_ptp_pairs_follow_their_own_dates(cms_dir):
    load_files(k.PTP_PRACTITIONER, [cms_dir / "ccipra-v322r0-f1_excerpt.txt"], effective_from=date(2026, 7, 1))
    # PTP files are cumulative: the July release also answers for June, by each pair's own dates.
    june = {(e.column1, e.column2) for e in snapshot_on(date(2026, 6, 15)).ptp_edits(["0001U", "0029U"])}
    assert june == {("0001U", "0029U")}
    july = snapshot_on(date(2026, 7, 15))
    pairs = {(e.column1, e.column2) for e in july.ptp_edits(["0001U", "0029U", "0030U"])}
    assert ("0001U", "0030U") in pairs and ("0001U", "0029U") not in pairs  # deleted 2026-06-30


def test_ncci_ptp_rows_stored_as_parsed(cms_dir):
    """The bulk path (ISO dates on SQLite, binary COPY on PostgreSQL) stores every field as the parser reads it."""
    from codes.formats import ncci_ptp

    path = cms_dir / "ccipra-v322r0-f1_excerpt.txt"
    result = load_files(k.PTP_PRACTITIONER, [path])
    stored = models.PtpEdit.objects.filter(release_id=result.release_id).order_by("column1", "column2", "effective")
    fields = ("column1", "column2", "prior_1996", "effective", "deleted", "modifier_indicator", "rationale")
    parsed = sorted(ncci_ptp.parse_tuples(path), key=lambda t: (t[0], t[1], t[3]))  # the row's key (no id)
    assert list(stored.values_list(*fields)) == parsed
    assert result.rows == stored.count()


def test_a_deleted_ptp_release_takes_its_rows_and_partition(cms_dir):
    """PostgreSQL keeps PTP rows in one partition per release (issue 18); deleting the release leaves no table
    behind. On SQLite (one plain table) the rows go with the release all the same."""
    from django.db import connection

    result = load_files(k.PTP_PRACTITIONER, [cms_dir / "ccipra-v322r0-f1_excerpt.txt"])
    partition = f"codes_ptpedit_r{result.release_id}"

    def exists() -> bool:
        if connection.vendor != "postgresql":
            return False
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [partition])
            return cursor.fetchone()[0]

    assert exists() == (connection.vendor == "postgresql")
    assert models.PtpEdit.objects.filter(release_id=result.release_id).count() == result.rows
    if connection.vendor == "postgresql":  # the release id was the COPY's default only while the rows went in
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT column_default FROM information_schema.columns WHERE table_name = %s AND column_name = %s",
                [partition, "release_id"],
            )
            assert cursor.fetchall() == [(None,)]
    models.Release.objects.get(pk=result.release_id).delete()
    assert not models.PtpEdit.objects.filter(release_id=result.release_id).exists()
    assert not exists()


def test_mue_dates_come_from_the_file_name(cms_dir):
    result = load_files(k.MUE_PRACTITIONER, [cms_dir / "MCR_MUE_PractitionerServices_Eff_07-01-2026_excerpt.csv"])
    assert result.effective_from == date(2026, 7, 1)
    mue = snapshot_on(date(2026, 7, 15)).mue("0001U")
    assert (mue.value, mue.adjudication_indicator) == (1, 2)


def test_truncated_file_loads_nothing_and_names_the_line(cms_dir, tmp_path):
    good = load_files(k.HCPCS, [cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt"])
    lines = (cms_dir / "HCPC2020_ANWEB_w_disclaimer.txt").read_bytes().splitlines(keepends=True)
    broken = tmp_path / "HCPC2021_ANWEB.txt"
    broken.write_bytes(b"".join(lines[:40]) + lines[40][:120])
    with pytest.raises(CommandError, match=r"line \d+"):
        call_command("import_codeset", "hcpcs", str(broken))
    assert models.Release.objects.filter(kind=k.HCPCS).count() == 1
    assert models.HcpcsCode.objects.exclude(release_id=good.release_id).count() == 0
    assert lookup("procedure", "G0276", date(2020, 6, 1))["found"]


def test_wrong_kind_of_file_is_refused(cms_dir):
    with pytest.raises(LoadError):
        load_files(k.HCPCS, [cms_dir / "GPCI2025.csv"])
    assert not models.Release.objects.exists()


def test_missing_dates_name_the_option(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("code,name,facility,effective_from,effective_to\n24,Ambulatory surgical center,yes,,\n")
    with pytest.raises(LoadError, match="--effective-from"):
        load_files(k.POS, [path])


def test_a_second_file_for_the_same_start_is_refused_unless_replace(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("code,name,facility,effective_from,effective_to\n24,ASC,yes,,\n")
    b.write_text("code,name,facility,effective_from,effective_to\n24,Ambulatory surgical center,yes,,\n")
    load_files(k.POS, [a], effective_from=date(2026, 1, 1))
    with pytest.raises(LoadError, match="--replace"):
        load_files(k.POS, [b], effective_from=date(2026, 1, 1))
    replaced = load_files(k.POS, [b], effective_from=date(2026, 1, 1), replace=True)
    assert replaced.status == "loaded"
    assert lookup("pos", "24", date(2026, 2, 1))["description"] == "Ambulatory surgical center"
    statuses = sorted(models.Release.objects.values_list("status", flat=True))
    assert statuses == ["loaded", "superseded"]


def test_later_release_answers_where_two_cover_a_date(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("code,name,facility,effective_from,effective_to\n24,Old name,yes,,\n")
    b.write_text("code,name,facility,effective_from,effective_to\n24,New name,yes,,\n")
    load_files(k.POS, [a], effective_from=date(2025, 1, 1))
    load_files(k.POS, [b], effective_from=date(2026, 1, 1))
    assert lookup("pos", "24", date(2025, 6, 1))["description"] == "Old name"
    assert lookup("pos", "24", date(2026, 6, 1))["description"] == "New name"


def test_lookup_command_prints_one_object_a_line(icd10cm_xml):
    from io import StringIO

    load_files(k.ICD10CM, [icd10cm_xml])
    out = StringIO()
    call_command("lookup_code", "icd10cm", "M48.06", "m48062", "--on", "2026-05-04", stdout=out)
    first, second = (json.loads(x) for x in out.getvalue().splitlines())
    assert first["code"] == "M48.06" and first["billable"] is False and first["in_effect"] is True
    assert second["code"] == "M48.062" and second["billable"] is True
    out = StringIO()
    call_command("lookup_code", "icd10cm", "M48.062", "--on", "2025-09-15", stdout=out)
    answer = json.loads(out.getvalue())
    # known, but no release covers 2025-09-15: no verdict (contract, lookup_code; issue 13 point 1)
    assert (answer["found"], answer["in_effect"]) == (True, None) and "covers 2025-09-15" in answer["note"]


def test_unknown_kind_is_an_error():
    with pytest.raises(CommandError):
        call_command("import_codeset", "nonsense", str(Path(__file__)))


def test_ncci_ptp_key_repeated_across_parts_is_refused(cms_dir, tmp_path):
    """Each part's parser sees its own keys only; the table's key (release, pair, effective date) refuses an edit
    that two parts both hold, and nothing of the set is kept."""
    excerpt = (cms_dir / "ccipra-v322r0-f1_excerpt.txt").read_bytes()
    parts = [tmp_path / "ccipra-v322r0-f1.txt", tmp_path / "ccipra-v322r0-f2.txt"]
    for part in parts:
        part.write_bytes(excerpt)
    with pytest.raises(LoadError, match="the same key twice across the files"):
        load_files(k.PTP_PRACTITIONER, parts, allow_fewer_rows=True)
    assert not models.PtpEdit.objects.exists() and not models.Release.objects.exists()
