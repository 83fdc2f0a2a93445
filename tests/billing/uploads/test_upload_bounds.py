"""Issue 14 item 3: what one upload may cost is bounded, and a file over a bound is answered in seconds with a
message that names the limit: rows and claims per upload, an xlsx's unpacked size measured before any XML is
parsed (a zip bomb of millions of cells), the header read from the start of the file only, uploads per user per
hour."""

import io
import time
import zipfile

import pytest
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from billing import tasks
from billing.models import BatchUpload, ClaimCheck
from billing.uploads import reading as uploads
from practice.models import Practice
from practice.selectors import practices_for
from tests.billing.upload_data import eager_celery  # noqa: F401
from tests.testdata import CLOCK

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]
ADD = "/admin/billing/batchupload/add/"
HEADER = "claim_ref,payer,place_of_service,date_of_service,code,units\n"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
    '<sheet name="Claims" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
    'Target="sharedStrings.xml"/></Relationships>'
)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def bomb_xlsx(cells: int, strings: int = 1) -> bytes:
    """An xlsx whose sheet has a real header row, then ``cells`` cells all naming shared string 0: a few hundred
    KB of zip that unpacks to ``cells`` x 22 bytes of XML (the attack of the issue: 20 million cells)."""
    header = "".join(f'<c t="inlineStr"><is><t>{c}</t></is></c>' for c in HEADER.strip().split(","))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("xl/workbook.xml", WORKBOOK)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0"?><sst {NS} count="{strings}" uniqueCount="{strings}">'.encode())
            block = b"<si><t>Z00.6</t></si>" * 10_000
            for _ in range(strings // 10_000):
                fh.write(block)
            fh.write(b"<si><t>Z00.6</t></si>" * (strings % 10_000) + b"</sst>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0"?><worksheet {NS}><sheetData><row>{header}</row><row>'.encode())
            block = b'<c t="s"><v>0</v></c>' * 50_000
            for _ in range(cells // 50_000):
                fh.write(block)
            fh.write(b"</row></sheetData></worksheet>")
    return out.getvalue()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return bomb_xlsx(15_000_000)  # 330 MB unpacked


@pytest.fixture
def practice(db) -> Practice:
    return Practice.objects.create(key="p", name="Practice", npi="1234567893")


def run_upload(practice, data: bytes, name: str) -> BatchUpload:
    upload = BatchUpload.objects.create(practice=practice, file=ContentFile(data, name=name), original_name=name)
    tasks.start_upload.delay(upload.pk)
    upload.refresh_from_db()
    return upload


@CLOCK
def test_an_xlsx_bomb_is_refused_before_parsing_in_a_moment(bomb, practice, clock):
    assert len(bomb) < 2_000_000
    started = time.perf_counter()
    with pytest.raises(uploads.UploadError, match=r"unpacks to 3\d\d MB, more than the 256 MB one upload may take"):
        uploads.check_header(io.BytesIO(bomb), "claims.xlsx")
    upload = run_upload(practice, bomb, "claims.xlsx")
    assert not clock or time.perf_counter() - started < 5
    assert upload.status == "failed" and "setting UPLOAD_MAX_XLSX_BYTES" in upload.error
    assert not ClaimCheck.objects.exists()


def test_a_huge_text_table_is_refused_before_parsing(settings, practice):
    data = bomb_xlsx(10, strings=300_000)  # 6 MB of shared strings
    limits = uploads.Limits(max_shared_strings_bytes=1024 * 1024)
    with pytest.raises(uploads.UploadError, match="text table unpacks to 6 MB, more than the 1 MB allowed"):
        uploads.check_header(io.BytesIO(data), "claims.xlsx", limits)
    settings.UPLOAD_MAX_SHARED_STRINGS_BYTES = 1024 * 1024
    upload = run_upload(practice, data, "claims.xlsx")
    assert upload.status == "failed" and "UPLOAD_MAX_SHARED_STRINGS_BYTES" in upload.error


@CLOCK
def test_the_csv_header_is_read_from_the_start_of_the_file_only(clock):
    class Counting(io.BytesIO):
        read_bytes = 0

        def read(self, size=-1):
            data = super().read(size)
            Counting.read_bytes += len(data)
            return data

    body = ("A1,medicare,24,2026-05-04,0275T,1\n" * 1_500_000).encode()  # 51 MB
    fh = Counting(HEADER.encode() + body)
    started = time.perf_counter()
    assert uploads.check_header(fh, "claims.csv") == ["claim_ref", "payer", "place_of_service", "date_of_service",
                                                      "code", "units"]  # fmt: skip
    assert not clock or time.perf_counter() - started < 0.5
    assert Counting.read_bytes <= uploads.HEADER_BYTES + 9 and fh.tell() == 0


@CLOCK
def test_too_many_claims_stops_at_the_limit_in_seconds(practice, clock):
    """The issue's 200,000 rows without a claim reference (each a claim of its own) under the default limits."""
    data = HEADER + ",medicare,24,2026-05-04,0275T,1\n" * 200_000
    started = time.perf_counter()
    upload = run_upload(practice, data.encode(), "claims.csv")
    assert not clock or time.perf_counter() - started < 10
    assert upload.status == "failed" and upload.error.startswith(
        "The file has more than 100,000 claims, the most one upload may have (setting UPLOAD_MAX_CLAIMS)"
    )
    assert not ClaimCheck.objects.exists()


def test_too_many_rows(settings, practice):
    settings.UPLOAD_MAX_ROWS = 1_000
    data = HEADER + "".join(f"C{n // 10},medicare,24,2026-05-04,0275T,1\n" for n in range(1_001))  # 101 claims
    upload = run_upload(practice, data.encode(), "claims.csv")
    assert upload.status == "failed"
    assert upload.error.startswith("The file has more than 1,000 service lines, the most one upload may have")
    rows = list(uploads.read_rows(io.BytesIO(data[: -len("C100,medicare,24,2026-05-04,0275T,1\n")].encode()),
                                  "c.csv", uploads.Limits(max_rows=1_000)))  # fmt: skip
    assert len(rows) == 1_000  # at the limit: fine


@CLOCK
def test_the_admin_form_answers_a_bomb_in_seconds_and_limits_uploads_per_hour(defaults_db, bomb, settings, clock):
    client = Client()
    user = User.objects.get(username="billing")
    client.force_login(user)
    practice_id = practices_for(user).get().pk
    started = time.perf_counter()
    page = client.post(ADD, {"practice": practice_id, "file": SimpleUploadedFile("claims.xlsx", bomb)})
    assert not clock or time.perf_counter() - started < 5
    assert page.status_code == 200 and "more than the 256 MB one upload may take" in page.content.decode()
    settings.UPLOADS_PER_HOUR = 2
    good = (HEADER + "A1,medicare,24,2026-05-04,0275T,1\n").encode()
    for _ in range(2):
        done = client.post(ADD, {"practice": practice_id, "file": SimpleUploadedFile("c.csv", good)})
        assert done.status_code == 302
    refused = client.post(ADD, {"practice": practice_id, "file": SimpleUploadedFile("c.csv", good)})
    assert refused.status_code == 200
    assert "You added 2 uploads in the last hour, the most one person may (setting UPLOADS_PER_HOUR)" in (
        refused.content.decode()
    )
    assert BatchUpload.objects.filter(created_by=user).count() == 2
