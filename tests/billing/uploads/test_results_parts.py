"""The results workbook written in parts (billing.uploads.sheetxml, billing.uploads.resultparts): read back with
openpyxl it holds what the openpyxl writer it replaced gave for the same results (values, fonts, fills, wrapping,
frozen and filtered headers, widths), across several chunks, with a chunk's part missing or damaged (rendered from
the stored checks), with a redelivered chunk, and with text XML and Excel do not take as it is."""

import io
import random
import zipfile
import zlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from billing import sweep as job_sweep
from billing.claims.checker import Checker
from billing.models import BatchUpload, ClaimCheck
from billing.uploads import jobs as upload_jobs
from billing.uploads import resultparts, sheetxml, workfile
from practice.models import Practice
from tests.billing.upload_data import csv_bytes
from tests.billing.uploads import openpyxl_results

NASTY = [
    "<&>\"' and ]]> and &amp; as typed",
    "bell\x07 escape\x1b nul\x00 gone, tab\tand\nnew line kept",
    "  spaces at both ends  ",
    "\ttab first",
    "emoji 🩺💉 and accents éü and CJK 医疗",
    "=SUM(A1:A2)",
    "#N/A",
    "_x0041_ stays as typed",
    "line one\r\nline two",
]


def fake_results(count: int, seed: int = 7, texts: list[str] | None = None) -> list[dict]:
    """Results shaped like the checker's, with ``claim_ref``, ``row``, ``payer`` and ``ordinal`` added."""
    rnd = random.Random(seed)
    texts = texts or ["Line 2: 64483 is bundled into 0275T; append 59 if separate."]
    out = []
    for n in range(count):
        findings = []
        for _ in range(rnd.choice([0, 0, 1, 2, 5])):
            findings.append(
                {
                    "rule": rnd.choice(["NCCI_PTP_CONFLICT", "PAYER_REQUIRES_MODIFIER", "MUE_EXCEEDED"]),
                    "severity": rnd.choice(["error", "warning", "info"]),
                    "line": rnd.choice([1, 2, 3, None]),
                    "message": rnd.choice(texts),
                    "suggestion": rnd.choice([None, "", "Append modifier 59.", rnd.choice(texts)]),
                    "reference": rnd.choice([None, "NCCI PTP 2026 Q2", 'LCD L39240 "mild"']),
                }
            )
        status = next((s for s in ("error", "warning") if any(f["severity"] == s for f in findings)), "clean")
        out.append(
            {
                "claim_ref": rnd.choice([f"C{n:05d}", f"=C{n}", f"  C{n} "]),
                "row": 2 + 2 * n,
                "payer": rnd.choice(["medicare", "aetna & co", ""]),
                "date_of_service": rnd.choice(["2026-05-04", None, ""]),
                "status": status,
                "findings": findings,
                "ordinal": n,
            }
        )
    return out


def cells(data: bytes) -> dict:
    """Every sheet's cells as (value, data type, bold, font colour, fill colour, wrapped), and its layout."""
    book = load_workbook(io.BytesIO(data))
    out = {}
    for sheet in book.worksheets:
        rows = [
            [
                (
                    c.value,
                    c.data_type if c.value is not None else None,
                    bool(c.font.b),
                    c.font.color.rgb if c.font.color is not None and c.font.color.type == "rgb" else None,
                    c.fill.fgColor.rgb if c.fill.fill_type else None,
                    bool(c.alignment.wrap_text),
                    c.alignment.vertical,
                )
                for c in row
            ]
            for row in sheet.iter_rows()
        ]
        widths = [sheet.column_dimensions[chr(65 + i)].width for i in range(sheet.max_column)]
        out[sheet.title] = (rows, sheet.freeze_panes, sheet.auto_filter.ref, widths)
    return out


def reference(results: list[dict]) -> bytes:
    out = io.BytesIO()
    openpyxl_results.write_results(out, results)
    return out.getvalue()


def joined(results: list[dict], chunk: int) -> bytes:
    out = io.BytesIO()
    sheetxml.write_results(out, results, chunk=chunk)
    data = out.getvalue()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None  # every entry's CRC and length hold
    return data


def test_the_joined_workbook_reads_back_as_the_openpyxl_one_across_many_parts():
    results = fake_results(40, texts=NASTY[:-1])  # openpyxl writes "\r" raw: read back as "\n"
    expected = cells(reference(results))
    assert cells(joined(results, chunk=3)) == expected
    assert cells(joined(results, chunk=1000)) == expected  # one part
    rows, _, ref, _ = expected["Findings"]
    assert len(rows) > 40 and ref == f"A1:G{len(rows)}"
    assert {r[2][3] for r in rows[1:]} == {"00C62828", "00EF6C00", "001565C0"}  # the severity fonts are there


def test_an_empty_upload_has_headers_only():
    assert cells(joined([], chunk=3)) == cells(reference([]))


def test_text_xml_cannot_hold_is_cleaned_and_long_text_is_cut_at_excel_s_limit():
    long = "x" * 40_000
    emoji_at_limit = "a" * 32_766 + "🩺" + "tail"  # the emoji would be units 32,767 and 32,768
    results = [
        {
            "claim_ref": "\ud800lone surrogate\ufffe",
            "row": 2,
            "payer": "p",
            "date_of_service": "2026-05-04",
            "status": "weird-status",
            "findings": [
                {"rule": "R", "severity": "error", "line": 1, "message": long, "suggestion": emoji_at_limit},
                {"rule": "R", "severity": "info", "line": 2.5, "message": "line\r\nbreak", "reference": True},
                {"rule": "R", "severity": "odd", "line": float("nan"), "message": "ok"},
            ],
        }
    ]
    book = load_workbook(io.BytesIO(joined(results, chunk=1)))
    assert [c.value for c in book["Results"][2]][:5] == ["lone surrogate", 2, "p", "2026-05-04", "weird-status"]
    assert not book["Results"]["E2"].font.b  # a status without a font: plain
    first, second, third = list(book["Findings"].iter_rows(min_row=2, values_only=True))
    assert first[4] == "x" * 32_767 and first[5] == "a" * 32_766
    assert second[1:5] == (2.5, "info", "R", "line\r\nbreak") and second[6] is True
    assert third[1] == "nan" and book["Findings"]["C4"].font.b is False


def test_cells_are_escaped_and_never_formulas():
    assert sheetxml.cell_xml('<a href="x">&') == '<c t="inlineStr"><is><t>&lt;a href="x"&gt;&amp;</t></is></c>'
    assert sheetxml.cell_xml("=1+1", 3) == '<c t="inlineStr" s="3"><is><t>=1+1</t></is></c>'
    assert sheetxml.cell_xml(" x") == '<c t="inlineStr"><is><t xml:space="preserve"> x</t></is></c>'
    assert (sheetxml.cell_xml(None), sheetxml.cell_xml("", 6), sheetxml.cell_xml(7)) == ("<c/>", '<c s="6"/>',
                                                                                         "<c><v>7</v></c>")  # fmt: skip


@pytest.mark.parametrize("sizes", [(0, 5), (5, 0), (1, 1), (1000, 3, 70_000), (17,) * 9])
def test_crc32_combine_matches_zlib_over_the_joined_bytes(sizes):
    rnd = random.Random(sum(sizes))
    pieces = [rnd.randbytes(n) for n in sizes]
    crc = 0
    for piece in pieces:
        crc = sheetxml.crc32_combine(crc, zlib.crc32(piece), len(piece))
    assert crc == zlib.crc32(b"".join(pieces))


def test_parts_deflated_apart_inflate_as_one_stream():
    pieces = [b"<row>" * 1000, b"", "é🩺".encode() * 99, b"z"]
    parts = [sheetxml.deflate(p) for p in pieces]
    stream = b"".join(p.data for p in parts) + zlib.compressobj(6, zlib.DEFLATED, -15).flush()
    assert zlib.decompress(stream, -15) == b"".join(pieces)


# ---- parts on storage, through the upload jobs ---------------------------------------------------------------


def claim_rows(count: int) -> list[dict]:
    out = []
    for n in range(count):
        codes = ["0275T", "64483"] if n % 3 else ["0275T", "77003", "99213"]
        for code in codes:
            out.append(
                {
                    "claim_ref": f"R{n:03d}",
                    "payer": "medicare" if n % 2 else "aetna",
                    "place_of_service": "24",
                    "date_of_service": "2026-05-04" if n != 4 else "05/04/2026 <bad> & wrong",
                    "diagnoses": "M48.062",
                    "code": code,
                    "units": "1" if n != 5 else "x",
                    "diagnosis_pointers": "1",
                }
            )
    return out


@pytest.fixture
def practice(db) -> Practice:
    return Practice.objects.create(key="p", name="Practice", npi="1234567893")


@pytest.fixture
def planned(practice, settings, tmp_path) -> BatchUpload:
    settings.MEDIA_ROOT = str(tmp_path)  # parts of other tests' uploads with the same id stay out of the listings
    settings.UPLOAD_CHUNK_CLAIMS = 3
    upload = BatchUpload.objects.create(
        practice=practice, file=ContentFile(csv_bytes(claim_rows(10)), name="c.csv"), original_name="c.csv"
    )
    planned = upload_jobs.plan(upload.pk)
    assert planned.chunks_total == 4
    return planned


def stored(upload: BatchUpload) -> list[dict]:
    checks = ClaimCheck.objects.filter(upload=upload).values_list("result", flat=True)
    return sorted(checks, key=lambda r: r["ordinal"])


def finish_and_read(upload: BatchUpload) -> bytes:
    done = upload_jobs.finish(upload.pk)
    assert done.status == "done", done.error
    data = done.result_file.read()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    return data


def part_names(upload: BatchUpload) -> list[str]:
    _, names = default_storage.listdir(resultparts.WORK_DIR)
    return sorted(n for n in names if n.startswith(resultparts.part_prefix(upload.pk)))


def test_each_chunk_saves_its_part_and_the_finish_joins_them(planned):
    checker = Checker.create()
    for index in (2, 0, 3, 1):  # out of order
        upload_jobs.check_chunk(planned.pk, index, checker=checker)
    assert len(part_names(planned)) == 4
    planned.refresh_from_db()
    out = io.BytesIO()
    assert resultparts.write_workbook(planned, out)["rendered"] == []  # every chunk from its part
    data = finish_and_read(planned)
    results = stored(planned)
    assert len(results) == 10 and any(r["findings"] for r in results)
    assert cells(data) == cells(reference(results))
    assert part_names(planned) == []  # deleted with the work file


def test_a_missing_or_damaged_part_is_rendered_from_the_stored_checks(planned):
    checker = Checker.create()
    for index in range(4):
        upload_jobs.check_chunk(planned.pk, index, checker=checker)
    default_storage.delete(resultparts.part_name(planned.pk, 0))  # a chunk stored before parts existed
    name = resultparts.part_name(planned.pk, 2)
    with default_storage.open(name, "rb") as fh:
        whole = fh.read()
    default_storage.delete(name)
    default_storage.save(name, ContentFile(whole[:-10]))  # a worker killed while saving
    name = resultparts.part_name(planned.pk, 3)
    with default_storage.open(resultparts.part_name(planned.pk, 1), "rb") as fh:
        chunk_one = fh.read()
    default_storage.delete(name)
    default_storage.save(name, ContentFile(chunk_one))  # another chunk's part under this chunk's name
    planned.refresh_from_db()
    out = io.BytesIO()
    assert resultparts.write_workbook(planned, out)["rendered"] == [0, 2, 3]
    assert cells(finish_and_read(planned)) == cells(reference(stored(planned)))


def test_a_part_damaged_on_storage_is_not_joined(planned):
    checker = Checker.create()
    for index in range(4):
        upload_jobs.check_chunk(planned.pk, index, checker=checker)
    name = resultparts.part_name(planned.pk, 1)
    with default_storage.open(name, "rb") as fh:
        data = bytearray(fh.read())
    data[-5] ^= 0x10  # one bit of the Findings run
    default_storage.delete(name)
    default_storage.save(name, ContentFile(bytes(data)))
    planned.refresh_from_db()
    assert resultparts.write_workbook(planned, io.BytesIO())["rendered"] == [1]
    assert cells(finish_and_read(planned)) == cells(reference(stored(planned)))


def test_a_part_of_an_earlier_upload_with_the_same_id_is_not_used(planned):
    checker = Checker.create()
    for index in range(4):
        upload_jobs.check_chunk(planned.pk, index, checker=checker)
    BatchUpload.objects.filter(pk=planned.pk).update(created_at=planned.created_at.replace(year=2025))
    planned.refresh_from_db()
    assert resultparts.write_workbook(planned, io.BytesIO())["rendered"] == [0, 1, 2, 3]


def test_a_redelivered_chunk_saves_the_same_bytes_in_the_same_place(planned):
    checker = Checker.create()
    upload_jobs.check_chunk(planned.pk, 1, checker=checker)
    name = resultparts.part_name(planned.pk, 1)
    with default_storage.open(name, "rb") as fh:
        first = fh.read()
    # a second delivery that checked the chunk before the first one's done marker was stored
    planned.refresh_from_db()
    with default_storage.open(planned.chunk_plan["work_file"], "rb") as work:
        claims = workfile.read_chunk(work, planned.chunk_plan["chunks"][1])
    again = upload_jobs.check_claims(checker, planned.practice_id, claims, upload_jobs.upload_day(planned))
    assert resultparts.save_part(planned, 1, again) == name
    with default_storage.open(name, "rb") as fh:
        assert fh.read() == first
    assert upload_jobs.check_chunk(planned.pk, 1, checker=checker).claims == 0  # after the marker: nothing
    assert part_names(planned) == [name.rsplit("/", 1)[1]]
    for index in (0, 2, 3):
        upload_jobs.check_chunk(planned.pk, index, checker=checker)
    assert cells(finish_and_read(planned)) == cells(reference(stored(planned)))


def test_storage_trouble_while_saving_a_part_leaves_the_chunk_to_the_finish(planned, monkeypatch):
    checker = Checker.create()
    real_save = default_storage.save

    def failing_save(name, content, *args, **kwargs):
        if "-part-" in name:
            raise OSError("disk full")
        return real_save(name, content, *args, **kwargs)

    monkeypatch.setattr(default_storage, "save", failing_save)
    for index in range(4):
        assert upload_jobs.check_chunk(planned.pk, index, checker=checker).claims
    monkeypatch.undo()
    assert part_names(planned) == []
    assert cells(finish_and_read(planned)) == cells(reference(stored(planned)))


def test_a_failed_upload_drops_its_parts_and_the_sweeper_keeps_a_running_upload_s(planned, practice, settings):
    settings.JOB_STALE_SECONDS = 0
    checker = Checker.create()
    upload_jobs.check_chunk(planned.pk, 0, checker=checker)
    leftover = default_storage.save(f"{resultparts.WORK_DIR}/upload-99999-part-0.xml.z", ContentFile(b"x"))
    assert job_sweep.clean_work_files() == 1  # the leftover; the running upload's part and work file stay
    assert not default_storage.exists(leftover) and len(part_names(planned)) == 1
    upload_jobs.fail(planned.pk, "stopped")
    assert part_names(planned) == []
