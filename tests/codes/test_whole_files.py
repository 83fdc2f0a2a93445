"""Issue 14 items 1 and 6: a file must prove it is whole, and be the kind it is loaded as.

The truncation sweep cuts a small real-layout sample of every format (tests/data/cms/sweep, facts and figures only,
text ours) at every byte offset and reads each cut with the loader's own checks (``codes.loading.read_rows``, no
database). Each cut must give exactly the full rows, or fail naming the file. Where a layout has no end marker, a
cut on a line boundary leaves whole rows that only a count can catch: those cuts must give a prefix of the full rows
(never a partial value) and must fail once the expected count is given, as a refresh passes it.
"""

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from codes import models
from codes import snapshot as k
from codes.formats import hcpcs
from codes.formats.base import FormatError
from codes.loading import IMPORT_KINDS, LoadError, load_files, read_rows
from codes.refresh.download import Fetched, RefreshError
from codes.refresh.zips import unpack

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "cms" / "sweep"

# file -> (kind, the layout proves its own end: a footer, a closing tag or a declared count)
CASES = {
    "icd10cm_tabular_2031_sweep.xml": (k.ICD10CM, True),
    "icd10cm_order_2031_sweep.txt": (k.ICD10CM, False),
    "HCPC2031_JAN_ANWEB_sweep.txt": (k.HCPCS, False),
    "HCPC2031_APR_ANWEB_sweep.csv": (k.HCPCS, False),
    "cpt_2031_sweep.txt": (k.CPT, False),
    "PPRRVU2031_Jan_sweep.csv": (k.PFS_RVU, False),
    "PPRRVU2025_Apr_sweep.txt": (k.PFS_RVU, False),
    "GPCI2031_sweep.csv": (k.GPCI, True),
    "GPCI2031_sweep.txt": (k.GPCI, True),
    "31LOCCO_sweep.csv": (k.LOCALITY, True),
    "31LOCCO_sweep.txt": (k.LOCALITY, True),
    "ccipra-v372r0-f1_sweep.txt": (k.PTP_PRACTITIONER, False),
    "ccioph-v372r0-f1_sweep.txt": (k.PTP_HOSPITAL, False),
    "MCR_MUE_PractitionerServices_Eff_01-01-2031_sweep.csv": (k.MUE_PRACTITIONER, False),
    "MCR_MUE_OutpatientHospitalServices_Eff_01-01-2031_sweep.csv": (k.MUE_HOSPITAL, False),
    "January_2031_Web_Addendum_B_sweep.csv": (k.OPPS, False),
    "January_2031_ASC_Addendum_AA_sweep.csv": (k.ASC, False),
    "sweep_procedure_summaries.csv": (k.PROCEDURE_SUMMARIES, True),
    "sweep_modifiers.csv": (k.MODIFIERS, True),
    "sweep_places_of_service.csv": (k.POS, True),
}


def _read(kind: str, path: Path, expected_rows: int | None = None):
    """The rows, or the error (FormatError / LoadError) the loader would refuse the file with."""
    try:
        return list(read_rows(kind, [path], expected_rows=expected_rows))
    except (FormatError, LoadError) as exc:
        return exc


def _hcpcs_description_cut(row: tuple, full: tuple) -> bool:
    """HCPCS: the same record but for a long description that stops where a continuation record was cut off."""
    return row[:2] == full[:2] and row[3:] == full[3:] and full[2].startswith(row[2]) and row[2] != full[2]


def _sweep(kind: str, path: Path, data: bytes, *, proves_end: bool) -> dict[str, int]:
    """Cut ``data`` at every offset into ``path`` (same name, so the name-based checks still apply) and check each
    cut. Returns how many cuts failed on their own, needed the count, or are the known HCPCS limit."""
    path.write_bytes(data)
    full = _read(kind, path)
    assert isinstance(full, list) and full, full
    tally = {"failed": 0, "whole": 0, "count": 0, "hcpcs_limit": 0}
    with open(path, "r+b") as fh:
        for cut in range(len(data) - 1, -1, -1):  # truncate in place, from the end: one file, no copies
            fh.truncate(cut)
            fh.flush()
            got = _read(kind, path)
            if isinstance(got, Exception):
                assert path.name in str(got), f"cut at {cut}: the error does not name the file: {got}"
                tally["failed"] += 1
                continue
            if got == full:
                tally["whole"] += 1  # cut inside what follows the last row (a footer's own line end is kept)
                continue
            where = f"{path.name} cut at byte {cut} of {len(data)} loaded {len(got)} of {len(full)} rows"
            assert not proves_end, f"{where}: the layout's end marker should have refused it"
            assert data[cut - 1 : cut] == b"\n", f"{where}: a cut inside a line must fail"
            *whole, last = got
            assert whole == full[: len(whole)], f"{where}: a row differs from the full file's"
            if last == full[len(whole)]:
                assert _read(kind, path, expected_rows=len(full)).__class__ is LoadError, where
                tally["count"] += 1
            else:
                assert kind == k.HCPCS and _hcpcs_description_cut(last, full[len(whole)]), where
                if len(got) < len(full):
                    assert isinstance(_read(kind, path, expected_rows=len(full)), LoadError), where
                    tally["count"] += 1
                else:
                    tally["hcpcs_limit"] += 1
    return tally


@pytest.mark.parametrize("name", list(CASES))
def test_every_cut_of_every_format_loads_all_rows_or_fails(name, tmp_path):
    kind, proves_end = CASES[name]
    data = (SAMPLES / name).read_bytes()
    tally = _sweep(kind, tmp_path / name, data, proves_end=proves_end)
    assert tally["failed"] > len(data) * 0.8  # nearly every cut fails on its own: only line-boundary cuts need a count
    if proves_end:
        assert tally["count"] == 0
    else:
        assert tally["count"] > 0  # the sample has whole-row cuts, and the expected count catches each
    # The one cut a count cannot catch: just before the last code's only continuation record (Q1 in the samples).
    assert tally["hcpcs_limit"] == (1 if kind == k.HCPCS else 0)


def _xlsx_bytes() -> bytes:
    """The HCPCS CSV sample as the xlsx form CMS also publishes (one row per record)."""
    import csv

    workbook = Workbook()
    sheet = workbook.active
    with open(SAMPLES / "HCPC2031_APR_ANWEB_sweep.csv", newline="", encoding="latin-1") as fh:
        for row in csv.reader(fh):
            sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_every_cut_of_a_hcpcs_xlsx_fails(tmp_path):
    data = _xlsx_bytes()
    path = tmp_path / "HCPC2031_JUL_ANWEB_sweep.xlsx"
    path.write_bytes(data)
    full = _read(k.HCPCS, path)
    assert isinstance(full, list) and len(full) == 5
    with open(path, "r+b") as fh:
        for cut in range(len(data) - 1, -1, -1):
            fh.truncate(cut)
            fh.flush()
            got = _read(k.HCPCS, path)
            assert isinstance(got, Exception) and path.name in str(got), f"cut at {cut}: {got}"


def _zip_with_bad_crc(tmp_path: Path, member: str, data: bytes, compress: int) -> Path:
    """A zip whose ``member`` has one byte of its stored data flipped (its directory and sizes intact)."""
    path = tmp_path / "damaged.zip"
    with zipfile.ZipFile(path, "w", compression=compress) as zf:
        zf.writestr(member, data)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0x55
    path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_xlsx_member_failing_its_crc_is_refused(tmp_path, compress):
    good = _xlsx_bytes()
    damaged = tmp_path / "HCPC2031_JUL_ANWEB_sweep.xlsx"
    # Rebuild the workbook with its sheet stored/deflated as asked, then flip a byte of the sheet's data.
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(damaged, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info), compress_type=compress)
    raw = bytearray(damaged.read_bytes())
    with zipfile.ZipFile(damaged) as zf:
        info = zf.getinfo("xl/worksheets/sheet1.xml")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0x55
    damaged.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="damaged") as exc:
        list(hcpcs.parse(damaged))
    assert damaged.name in str(exc.value)


@pytest.mark.parametrize("compress", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_refresh_refuses_a_zip_member_failing_its_crc(tmp_path, compress):
    data = (SAMPLES / "ccipra-v372r0-f1_sweep.txt").read_bytes() * 20
    path = _zip_with_bad_crc(tmp_path, "ccipra-v372r0-f1.txt", data, compress)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(RefreshError, match="damaged zip"):
        unpack(Fetched(path, "medicare-ncci-ptp.zip", path.stat().st_size), "", k.PTP_PRACTITIONER, dest)


def test_refresh_refuses_every_damaged_byte_of_a_deflated_member(tmp_path):
    """A flipped byte in deflated data fails as a bad CRC or as a broken deflate stream: both are a damaged zip."""
    data = (SAMPLES / "ccipra-v372r0-f1_sweep.txt").read_bytes() * 20
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ccipra-v372r0-f1.txt", data)
    raw = good.read_bytes()
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("ccipra-v372r0-f1.txt")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    path, dest = tmp_path / "damaged.zip", tmp_path / "out"
    dest.mkdir()
    refused = 0
    for at in range(start, start + info.compress_size):
        path.write_bytes(raw[:at] + bytes([raw[at] ^ 0x55]) + raw[at + 1 :])
        try:
            (out,) = unpack(Fetched(path, "ncci.zip", len(raw)), "", k.PTP_PRACTITIONER, dest)
        except RefreshError as exc:
            assert "damaged zip" in str(exc)
            refused += 1
        else:
            assert out.path.read_bytes() == data  # a flip deflate ignores (the last byte's unused bits)
    assert refused >= info.compress_size - 2


def test_the_issue_cases_fail_with_file_line_and_field(tmp_path):
    # GPCI: Connecticut's MP GPCI 1.207 cut to 1.20 (and a line end added by whatever cut it) is not 1.200.
    gpci = (SAMPLES / "GPCI2031_sweep.csv").read_bytes()
    at = gpci.index(b"1.207") + 4
    path = tmp_path / "GPCI2031.csv"
    path.write_bytes(gpci[:at] + b"\r\n")
    with pytest.raises(FormatError) as exc:
        list(read_rows(k.GPCI, [path]))
    assert (exc.value.line, exc.value.field) == (7, "MP GPCI") and "'1.20'" in str(exc.value)
    # ... and cut to 1.2 (a value the spreadsheet-saved CSV may hold) without a line end, the last line is named.
    path.write_bytes(gpci[: at - 1])
    with pytest.raises(FormatError, match="GPCI2031.csv, line 7: .*cut short"):
        list(read_rows(k.GPCI, [path]))
    # MUE: a rationale cut to "Code Des" (the file missing its last bytes).
    mue = (SAMPLES / "MCR_MUE_PractitionerServices_Eff_01-01-2031_sweep.csv").read_bytes()
    path = tmp_path / "MCR_MUE_PractitionerServices_Eff_01-01-2031.csv"
    path.write_bytes(mue[: mue.index(b"Code Descriptor") + len(b"Code Des")])
    with pytest.raises(FormatError, match=r"line 5: the last line has no line end"):
        list(read_rows(k.MUE_PRACTITIONER, [path]))
    # PFS: an RVU that lost a decimal (RVUs have exactly 2, the conversion factor 4, in every real row).
    pfs = (SAMPLES / "PPRRVU2031_Jan_sweep.csv").read_bytes()
    path = tmp_path / "PPRRVU2031_Jan.csv"
    path.write_bytes(pfs.replace(b",R,,7.17,", b",R,,7.1,"))
    with pytest.raises(FormatError, match="line 16, field work_rvu: '7.1' is not a number with exactly 2 decimals"):
        list(read_rows(k.PFS_RVU, [path]))
    path.write_bytes(pfs.replace(b",32.3465,", b",32.346,"))
    with pytest.raises(FormatError, match="line 10, field conversion_factor: '32.346' .* exactly 4 decimals"):
        list(read_rows(k.PFS_RVU, [path]))


def test_a_declared_fixture_count_must_match(tmp_path):
    text = (SAMPLES / "sweep_modifiers.csv").read_text().replace("# rows: 3", "# rows: 4")
    path = tmp_path / "modifiers.csv"
    path.write_text(text)
    with pytest.raises(FormatError, match=r"line 1: the file declares 4 rows \('# rows: 4'\) but has 3"):
        list(read_rows(k.MODIFIERS, [path]))


def test_expected_count_is_checked_in_memory(tmp_path):
    path = SAMPLES / "ccipra-v372r0-f1_sweep.txt"
    assert len(list(read_rows(k.PTP_PRACTITIONER, [path], expected_rows=5))) == 5
    with pytest.raises(LoadError, match=r"ccipra-v372r0-f1_sweep.txt: 5 rows where 6 were expected"):
        list(read_rows(k.PTP_PRACTITIONER, [path], expected_rows=6))


# --- Identity: the file's table against the kind (item 6) ----------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("ccipra-v372r0-f1_sweep.txt", k.PTP_HOSPITAL, "its name says this is the practitioner table"),
        ("ccioph-v372r0-f1_sweep.txt", k.PTP_PRACTITIONER, "its name says this is the outpatient hospital table"),
        (
            "MCR_MUE_PractitionerServices_Eff_01-01-2031_sweep.csv",
            k.MUE_HOSPITAL,
            "its name says this is the practitioner table, but mue-hospital takes the outpatient hospital table",
        ),
        (
            "MCR_MUE_OutpatientHospitalServices_Eff_01-01-2031_sweep.csv",
            k.MUE_PRACTITIONER,
            "but mue-practitioner takes the practitioner table",
        ),
    ],
)
def test_a_table_of_the_other_kind_is_refused(name, kind, message):
    with pytest.raises(LoadError, match=message) as exc:
        list(read_rows(kind, [SAMPLES / name]))
    assert name in str(exc.value)


def test_no_sample_loads_as_any_other_kind():
    """Every sample against every other kind: each is refused, by its table (PTP, MUE) or by the parser's header
    and layout checks (the others)."""
    accepted = [
        (name, other)
        for name, (kind, _) in CASES.items()
        for other in IMPORT_KINDS
        if other != kind and not isinstance(_read(other, SAMPLES / name), Exception)
    ]
    assert accepted == []


def test_mue_table_told_by_the_header_when_the_name_says_nothing(tmp_path):
    path = tmp_path / "mue_download.csv"
    shutil.copy(SAMPLES / "MCR_MUE_OutpatientHospitalServices_Eff_01-01-2031_sweep.csv", path)
    with pytest.raises(LoadError, match="its header says this is the outpatient hospital table"):
        list(read_rows(k.MUE_PRACTITIONER, [path]))
    assert len(list(read_rows(k.MUE_HOSPITAL, [path]))) == 5
    # The name at the source counts too (a refresh passes it): a DME table is neither.
    dme = tmp_path / "mue.csv"
    dme.write_text(path.read_text(encoding="latin-1").replace("Outpatient Hospital Services", "DME Supplier Services"))
    with pytest.raises(LoadError, match="the DME supplier table"):
        list(read_rows(k.MUE_HOSPITAL, [dme], names=["MCR_MUE_DMESupplierServices_Eff_01-01-2031.csv"]))


# --- Through the database: nothing stored, the release in force stays ----------------------------------------


def _copy(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.django_db
def test_cuts_load_nothing_and_the_release_in_force_stays(tmp_path):
    name = "ccipra-v372r0-f1_sweep.txt"
    data = (SAMPLES / name).read_bytes()
    first = load_files(k.PTP_PRACTITIONER, [SAMPLES / name])
    before = list(models.Release.objects.values_list("id", "status", "row_count"))
    lines = data.splitlines(keepends=True)
    header = sum(len(line) for line in lines[:6])
    two_rows = header + len(lines[6]) + len(lines[7])
    cuts = [
        (len(data) - 1, {}),  # inside the last line: no line end
        (len(data) - 30, {}),  # inside the last rationale
        (header + 3, {}),  # inside the first row
        (two_rows, {}),  # on a line boundary, 2 of 5 rows: far fewer than the release in force
        (len(data) - len(lines[-1]), {"expected_rows": 5}),  # on a line boundary, 4 of 5: the stated count
    ]
    for n, (cut, options) in enumerate(cuts):
        folder = tmp_path / str(n)
        folder.mkdir()
        path = _copy(folder, name, data[:cut])
        with pytest.raises(LoadError, match=name):
            load_files(k.PTP_PRACTITIONER, [path], replace=True, **options)
    assert list(models.Release.objects.values_list("id", "status", "row_count")) == before
    assert models.PtpEdit.objects.count() == first.rows == 5


@pytest.mark.django_db
def test_far_fewer_rows_than_the_release_in_force_fail_unless_allowed(tmp_path):
    name = "MCR_MUE_PractitionerServices_Eff_01-01-2031_sweep.csv"
    data = (SAMPLES / name).read_bytes()
    load_files(k.MUE_PRACTITIONER, [SAMPLES / name])
    kept = data[: data.index(b"64483")]  # 2 of 5 rows, cut on a line boundary
    path = _copy(tmp_path, "MCR_MUE_PractitionerServices_Eff_04-01-2031.csv", kept)
    with pytest.raises(LoadError, match=r"MCR_MUE_PractitionerServices_Eff_04-01-2031.csv: 2 rows, far fewer than"):
        load_files(k.MUE_PRACTITIONER, [path])
    assert models.Release.objects.filter(kind=k.MUE_PRACTITIONER).count() == 1
    # An expected count catches it whatever the release in force; a smaller file that is meant loads when allowed.
    with pytest.raises(LoadError, match="2 rows where 5 were expected"):
        load_files(k.MUE_PRACTITIONER, [path], expected_rows=5, allow_fewer_rows=True)
    assert load_files(k.MUE_PRACTITIONER, [path], allow_fewer_rows=True).rows == 2
    # A release of history (older than every loaded one) takes over from none: nothing to compare with.
    older = _copy(tmp_path, "MCR_MUE_PractitionerServices_Eff_10-01-2030.csv", data[: data.index(b"62321")])
    assert load_files(k.MUE_PRACTITIONER, [older]).rows == 1


@pytest.mark.django_db
def test_import_command_takes_the_expected_count_and_names_the_table(tmp_path):
    from django.core.management import CommandError, call_command

    gpci = SAMPLES / "GPCI2031_sweep.txt"
    with pytest.raises(CommandError, match="nothing loaded: GPCI2031_sweep.txt: 6 rows where 7 were expected"):
        call_command("import_codeset", k.GPCI, str(gpci), "--expected-rows", "7", stdout=io.StringIO())
    call_command("import_codeset", k.GPCI, str(gpci), "--expected-rows", "6", stdout=io.StringIO())
    with pytest.raises(CommandError, match="outpatient hospital table"):
        call_command(
            "import_codeset", k.PTP_PRACTITIONER, str(SAMPLES / "ccioph-v372r0-f1_sweep.txt"), stdout=io.StringIO()
        )
    assert models.Release.objects.filter(kind__startswith="ncci").count() == 0


def test_samples_are_the_real_layouts_line_ends_and_encodings():
    """CRLF where CMS uses it, latin-1/cp1252 bytes in the HCPCS preamble: the sweep covers those paths."""
    assert b"\r\n" in (SAMPLES / "HCPC2031_JAN_ANWEB_sweep.txt").read_bytes()
    assert b"\x92" in (SAMPLES / "HCPC2031_JAN_ANWEB_sweep.txt").read_bytes()
    for name in ("GPCI2031_sweep.csv", "GPCI2031_sweep.txt", "31LOCCO_sweep.txt", "PPRRVU2025_Apr_sweep.txt"):
        assert (SAMPLES / name).read_bytes().count(b"\r\n") == (SAMPLES / name).read_bytes().count(b"\n")
    assert os.path.getsize(SAMPLES / "PPRRVU2025_Apr_sweep.txt") < 4096
