"""Reading batch uploads (billing.uploads.reading, pure): CSV and xlsx, header names, grouping rows into claims, rows
that disagree, missing columns, bad units, the work file's chunks and the results workbook."""

import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from billing.checking.claim import ClaimInputError, parse_claim
from billing.uploads import payloads, sheetxml, workfile
from billing.uploads import reading as uploads
from billing.uploads.reading import UploadError

HEADER = ",".join(uploads.COLUMNS)


def csv_file(*lines: str, header: str = HEADER, encoding: str = "utf-8") -> io.BytesIO:
    return io.BytesIO(("\n".join([header, *lines]) + "\n").encode(encoding))


def row(ref="C1", payer="medicare", pos="24", dos="2026-05-04", code="0275T", **kw) -> str:
    values = dict.fromkeys(uploads.COLUMNS, "")
    values.update(claim_ref=ref, payer=payer, place_of_service=pos, date_of_service=dos, code=code, **kw)
    return ",".join(f'"{values[c]}"' if "," in values[c] else values[c] for c in uploads.COLUMNS)


def claims_of(fh, name="claims.csv"):
    return workfile.group_claims(uploads.read_rows(fh, name))


def test_csv_rows_become_claims_in_the_contract_format():
    fh = csv_file(
        row(
            "A-1",
            submitted_on="05/11/2026",
            rendering_npi="1234567893",
            diagnoses="M48.062; Z00.6",
            clinical_trial_number="NCT03072927",
            modifiers="Q0",
            units="1",
            diagnosis_pointers="1;2",
            charge="9500.00",
        ),
        row("A-1", code="77003", diagnoses="M48.062 Z00.6", units="2.0", diagnosis_pointers="A B", charge="250"),
    )
    (claim,) = claims_of(fh)
    assert (claim.ref, claim.ordinal, [r.number for r in claim.rows]) == ("A-1", 0, [2, 3])
    payload, errors = payloads.claim_payload(claim)
    assert errors == {}
    assert payload == {
        "payer": "medicare",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "submitted_on": "2026-05-11",
        "rendering_npi": "1234567893",
        "diagnoses": ["M48.062", "Z00.6"],
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": None,
        "condition_codes": [],
        "lines": [
            {"code": "0275T", "modifiers": ["Q0"], "diagnosis_pointers": [1, 2], "charge": "9500.00", "units": 1},
            {"code": "77003", "modifiers": [], "diagnosis_pointers": [1, 2], "charge": "250", "units": 2},
        ],
    }
    parse_claim(payload)  # the checker reads it


def test_header_names_are_case_insensitive_unknown_columns_ignored_optional_ones_may_be_missing():
    header = "Patient Name,CLAIM REF,Payer,Place-of-Service,Date Of Service,Code,Units,Notes"
    fh = csv_file("Jane Doe,X1,medicare,24,2026-05-04,0275T,1,call back", header=header)
    (claim,) = claims_of(fh)
    payload, errors = payloads.claim_payload(claim)
    assert not errors and payload["payer"] == "medicare" and payload["lines"][0]["code"] == "0275T"
    assert "Jane Doe" not in str(payload)  # unknown columns (here a patient name) are not read at all
    assert payload["diagnoses"] == [] and "claim_type" not in payload


def test_rows_of_a_claim_need_not_be_together_and_claims_keep_the_order_they_first_appear_in():
    fh = csv_file(
        row("B", code="0275T"),
        row("A", code="0275T"),
        row("B", code="77003"),
        row("C", code="G0276"),
        row("A", code="99213", modifiers="25"),
    )
    claims = claims_of(fh)
    assert [(c.ref, [r.values["code"] for r in c.rows]) for c in claims] == [
        ("B", ["0275T", "77003"]),
        ("A", ["0275T", "99213"]),
        ("C", ["G0276"]),
    ]
    assert [c.first_row for c in claims] == [2, 3, 5]


def test_claim_level_columns_must_agree_and_the_row_that_disagrees_is_named():
    fh = csv_file(
        row("D", diagnoses="M48.062"),
        row("D", payer="", code="77003", diagnoses=""),  # blank: "as above"
        row("D", payer="Medicare", code="64483", diagnoses="m48062"),  # the same, written differently
        row("D", pos="22", code="62323"),
    )
    (claim,) = claims_of(fh)
    payload, errors = payloads.claim_payload(claim)
    assert list(errors) == ["place_of_service"]
    assert "Row 5 has '22' but row 2 has '24'" in errors["place_of_service"]
    assert "claim D" in errors["place_of_service"]
    assert len(payload["lines"]) == 4


def test_a_row_without_claim_ref_is_its_own_claim_with_an_error():
    fh = csv_file(row("E1"), row(""), row(""))
    claims = claims_of(fh)
    assert [c.ref for c in claims] == ["E1", "", ""]
    _, errors = payloads.claim_payload(claims[1])
    assert "Row 3 has no claim_ref" in errors["claim_ref"]


@pytest.mark.parametrize(
    "header, missing",
    [
        ("claim_ref,payer,place_of_service,date_of_service", "column code"),
        ("payer,code,units", "columns claim_ref, place_of_service, date_of_service"),
    ],
)
def test_missing_required_columns_are_named(header, missing):
    with pytest.raises(UploadError, match=f"missing the required {missing}"):
        list(uploads.read_rows(csv_file("x", header=header), "claims.csv"))
    with pytest.raises(UploadError, match=missing):
        uploads.check_header(csv_file(header=header), "claims.csv")


def test_unreadable_files_say_what_to_do():
    with pytest.raises(UploadError, match="empty"):
        list(uploads.read_rows(io.BytesIO(b"\n\n"), "claims.csv"))
    with pytest.raises(UploadError, match="appears twice"):
        list(uploads.read_rows(csv_file(header=HEADER + ",Code"), "claims.csv"))
    with pytest.raises(UploadError, match="old Excel .xls"):
        list(uploads.read_rows(io.BytesIO(b"\xd0\xcf\x11\xe0" + b"\0" * 100), "claims.xls"))
    with pytest.raises(UploadError, match="not an Excel workbook"):
        list(uploads.read_rows(io.BytesIO(b"claim_ref,payer"), "claims.xlsx"))
    with pytest.raises(UploadError, match="cannot be opened"):
        list(uploads.read_rows(io.BytesIO(b"PK\x03\x04broken"), "claims.xlsx"))


def test_bad_units_become_input_errors_naming_row_and_column():
    fh = csv_file(row("U"), row("U", code="77003", units="two"), row("U", code="64483", units="0"))
    (claim,) = claims_of(fh)
    payload, errors = payloads.claim_payload(claim)
    assert not errors
    with pytest.raises(ClaimInputError) as exc:
        parse_claim(payload)
    found = payloads.input_errors(exc.value.errors, claim)
    assert [(field, line) for field, _, line in found] == [("row 3, units", 2), ("row 4, units", 3)]
    assert "whole number" in found[0][1]


def test_other_input_errors_are_named_in_the_file_s_words():
    fh = csv_file(
        row("V", dos="2026-02-30", diagnoses=";".join(["M48.062"] * 13)),
        row("V", code="77003", line_date_of_service="tomorrow", modifiers="Q0 59 XS LT RT"),
    )
    (claim,) = claims_of(fh)
    payload, _ = payloads.claim_payload(claim)
    with pytest.raises(ClaimInputError) as exc:
        parse_claim(payload)
    fields = {field: message for field, message, _ in payloads.input_errors(exc.value.errors, claim)}
    assert set(fields) == {
        "row 2, date_of_service",  # claim-level columns name the row that gave them too
        "row 2, diagnoses",
        "row 3, modifiers",
        "row 3, line_date_of_service",
    }
    assert "not a real date" in fields["row 2, date_of_service"]


def test_xlsx_with_real_dates_and_numbers_reads_like_the_csv():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Claim_Ref", "Payer", "Place of Service", "Date of Service", "Rendering NPI", "Diagnoses"])
    sheet["G1"], sheet["H1"], sheet["I1"], sheet["J1"] = "code", "modifiers", "units", "charge"
    sheet.append(["X-1", "medicare", 24, datetime(2026, 5, 4), 1234567893, "M48.062;Z00.6", "0275T", "Q0", 1.0, 9500])
    sheet.append([None] * 10)  # blank rows are skipped
    sheet.append(["X-1", None, None, date(2026, 5, 4), None, None, "77003", None, 1, 250.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    (claim,) = claims_of(buffer, "claims.xlsx")
    assert [r.number for r in claim.rows] == [2, 4]
    payload, errors = payloads.claim_payload(claim)
    assert not errors
    assert (payload["place_of_service"], payload["date_of_service"], payload["rendering_npi"]) == (
        "24",
        "2026-05-04",
        "1234567893",
    )
    assert [(line["code"], line["units"], line["charge"]) for line in payload["lines"]] == [
        ("0275T", 1, "9500"),
        ("77003", 1, "250.5"),
    ]
    parse_claim(payload)


def test_excel_csv_in_windows_1252_with_semicolons():
    header = ";".join(uploads.COLUMNS)
    line = ";".join(["Ç-1", "medicare", "", "24", "04/05/2026", "", "", "M48.062", "", "", "", "", "0275T"])
    fh = csv_file(line, header=header, encoding="cp1252")
    (claim,) = claims_of(fh)
    payload, _ = payloads.claim_payload(claim)
    assert claim.ref == "Ç-1" and payload["date_of_service"] == "2026-04-05"  # MM/DD/YYYY


def test_the_work_file_splits_claims_into_chunks_each_reading_only_its_own_rows():
    lines = []
    for n in range(7):
        lines += [row(f"K{n}", code="0275T"), row(f"K{n}", code="77003")]
    lines.insert(3, row("K0", code="64483"))  # K0's third line comes after K1's first
    out = io.BytesIO()
    plan = workfile.write_work_file(uploads.read_rows(csv_file(*lines), "x.csv"), out, chunk_claims=3)
    assert (plan.total_claims, plan.total_rows, [c["count"] for c in plan.chunks]) == (7, 15, [3, 3, 1])
    seen = []
    for chunk in plan.chunks:
        claims = workfile.read_chunk(out, chunk)
        assert [c.ordinal for c in claims] == list(range(chunk["first"], chunk["first"] + chunk["count"]))
        seen += [(c.ref, [r.values["code"] for r in c.rows]) for c in claims]
    assert seen[0] == ("K0", ["0275T", "77003", "64483"])
    assert [ref for ref, _ in seen] == [f"K{n}" for n in range(7)]
    # contiguous claims: each chunk's byte range holds exactly its own rows
    assert plan.chunks[1]["start"] == plan.chunks[0]["end"]


def test_template_has_every_column_and_a_claim_that_reads():
    fh = io.BytesIO(uploads.template_csv().encode())
    assert uploads.check_header(fh, "template.csv") == list(uploads.COLUMNS)
    (claim,) = claims_of(fh)
    payload, errors = payloads.claim_payload(claim)
    assert not errors and len(payload["lines"]) == 2
    parse_claim(payload)


def test_results_workbook_has_results_and_findings_sheets_with_frozen_filtered_headers():
    results = [
        {"claim_ref": "A", "row": 2, "payer": "medicare", "date_of_service": "2026-05-04", "status": "clean"},
        {
            "claim_ref": "=B",
            "row": 4,
            "payer": "medicare",
            "date_of_service": "2026-05-04",
            "status": "error",
            "findings": [
                {"rule": "PAYER_REQUIRES_MODIFIER", "severity": "error", "line": 1, "message": "add Q0"},
                {"rule": "NCCI_PTP_CONFLICT", "severity": "info", "line": 2, "message": "=bypassed", "reference": "r"},
                {"rule": "PAYER_REQUIRES_MODIFIER", "severity": "error", "line": 2, "message": "again"},
            ],
        },
    ]
    out = io.BytesIO()
    assert sheetxml.write_results(out, results) == (2, 3)
    book = load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["Results", "Findings"]
    res, fnd = book["Results"], book["Findings"]
    assert (res.freeze_panes, res.auto_filter.ref, fnd.freeze_panes, fnd.auto_filter.ref) == (
        "A2",
        "A1:I3",
        "A2",
        "A1:G4",
    )
    assert list(res.values) == [
        sheetxml.RESULT_HEADERS,
        ("A", 2, "medicare", "2026-05-04", "clean", 0, 0, 0, None),
        ("=B", 4, "medicare", "2026-05-04", "error", 2, 0, 1, "PAYER_REQUIRES_MODIFIER, NCCI_PTP_CONFLICT"),
    ]
    assert res["A3"].data_type == "s" and fnd["E3"].data_type == "s"  # never a formula
    assert [r[:5] for r in fnd.values][1:] == [
        ("=B", 1, "error", "PAYER_REQUIRES_MODIFIER", "add Q0"),
        ("=B", 2, "info", "NCCI_PTP_CONFLICT", "=bypassed"),
        ("=B", 2, "error", "PAYER_REQUIRES_MODIFIER", "again"),
    ]
