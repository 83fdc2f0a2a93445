"""``store_checks`` in bulk (PostgreSQL: COPY; SQLite: multi-row INSERT and executemany, values straight from the
instances) stores the very rows the ORM would: every column of each ClaimCheck and Finding, JSON equal, compared
with ``bulk_create`` of the same instances at the same moment. On SQLite and, with DATABASE_URL, on PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection

from billing.claims import checks as store
from billing.claims.checker import Checker
from billing.models import ClaimCheck, Finding
from billing.uploads import jobs as upload_jobs
from billing.uploads import reading as uploads
from billing.uploads import workfile
from practice.models import Payer, Practice
from tests.billing.upload_data import csv_bytes
from tests.factories import DraftClaimFactory, PracticeFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 30, 2, 30, 15, 123456, tzinfo=UTC)
ROW = {
    "payer": "medicare", "place_of_service": "24", "date_of_service": "2026-05-04", "rendering_npi": "1234567893",
    "diagnoses": "M48.062", "code": "0275T", "units": "1", "diagnosis_pointers": "1",
}  # fmt: skip


def upload_results(practice) -> tuple[list[dict], list[dict | None]]:
    """Real-shaped results as an upload's chunk makes them: a patient account (hash and services kept), a second
    date of service, an unreadable date and an unknown code (input errors with lines), a claim with a payer the
    practice does not bill, and text outside ASCII."""
    rows = [
        {**ROW, "claim_ref": "A-1", "patient_account": "P-77"},
        {**ROW, "claim_ref": "A-1", "code": "77003", "patient_account": "P-77"},
        {**ROW, "claim_ref": "B-2", "date_of_service": "2026-13-40"},
        {**ROW, "claim_ref": "C-3", "code": "ZZZZZ", "modifiers": "XS"},
        {**ROW, "claim_ref": "D-4 mild® «Zoë»", "payer": "no-such-payer", "date_of_service": "2025-12-31"},
        {**ROW, "claim_ref": "E-5", "line_date_of_service": "2026-05-05", "code": "64483", "units": "2"},
    ]
    claims = list(workfile.group_claims(uploads.read_rows(io.BytesIO(csv_bytes(rows)), "c.csv")))
    payloads: list[dict | None] = []
    checker = Checker.create()
    results = upload_jobs.check_claims(checker, practice.pk, claims, checker.today, payloads)
    return results, payloads


def orm_store(practice_id, results, *, claims=None, user=None, source="api", upload=None, payloads=None):
    """What the ORM stores for the same checks: the instances store_checks builds, through bulk_create."""
    claims = claims or [None] * len(results)
    history = store._history_fields(practice_id, payloads or [None] * len(results))
    checks = [
        ClaimCheck(
            practice_id=practice_id,
            claim=claim,
            reference=store._reference(claim, result),
            payer_key=store._payer_key(claim, result),
            date_of_service=result.get("date_of_service") or None,
            status=result["status"],
            result=result,
            coding=result.get("coding", []),
            source=source,
            checked_by=user,
            upload=upload,
            patient_hash=patient,
            services=services,
        )
        for claim, result, (patient, services) in zip(claims, results, history)
    ]
    ClaimCheck.objects.bulk_create(checks)
    Finding.objects.bulk_create(
        Finding(
            check_run=check,
            rule=f["rule"],
            severity=f["severity"],
            line=f.get("line"),
            codes=f.get("codes", []),
            message=f.get("message", ""),
            reference=f.get("reference", ""),
            suggestion=f.get("suggestion", ""),
        )
        for check in checks
        for f in check.result.get("findings", [])
    )
    return checks


def stored_rows(checks) -> list[tuple[tuple, list[tuple]]]:
    """Each check's row as the database hands it back (every column but the id) with its findings' rows (every
    column but the id and the check's id), in order."""
    check_columns = [f.column for f in ClaimCheck._meta.concrete_fields if not f.primary_key]
    finding_columns = [f.column for f in Finding._meta.concrete_fields if f.name not in ("id", "check_run")]
    out = []
    with connection.cursor() as cursor:
        for check in checks:
            cursor.execute(
                f"SELECT {', '.join(check_columns)} FROM billing_claimcheck WHERE id = %s",  # noqa: S608 (model's names)
                [check.pk],
            )
            (row,) = cursor.fetchall()
            cursor.execute(
                f"SELECT {', '.join(finding_columns)} FROM billing_finding WHERE check_run_id = %s ORDER BY id",  # noqa: S608
                [check.pk],
            )
            out.append((row, cursor.fetchall()))
    return out


def decoded(rows):
    """JSON columns as values (PostgreSQL hands jsonb back decoded; SQLite hands back its text)."""
    check_json = [f.get_internal_type() == "JSONField" for f in ClaimCheck._meta.concrete_fields if not f.primary_key]
    finding_json = [
        f.get_internal_type() == "JSONField" for f in Finding._meta.concrete_fields if f.name not in ("id", "check_run")
    ]

    def values(row, json_columns):
        return tuple(json.loads(v) if is_json and isinstance(v, str) else v for v, is_json in zip(row, json_columns))

    return [(values(row, check_json), [values(f, finding_json) for f in findings]) for row, findings in rows]


def test_a_batch_stores_the_rows_the_orm_would_store(defaults_db):
    practice = Practice.objects.get(key="demo")  # the default data: code sets, payers and rules, the demo practice
    user = User.objects.get(username="billing")
    results, payloads = upload_results(practice)
    assert len(results) == 5 and sum(len(r["findings"]) for r in results) >= 8
    assert any(p and p.get("patient") for p in payloads) and any(r["date_of_service"] is None for r in results)
    assert any(f.get("line") for r in results for f in r["findings"])
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        fast = store.store_checks(practice.pk, results, user=user, source="upload", payloads=payloads)
        orm = orm_store(practice.pk, results, user=user, source="upload", payloads=payloads)
    assert [c.pk for c in fast] == sorted(c.pk for c in fast) and all(not c._state.adding for c in fast)
    got, want = stored_rows(fast), stored_rows(orm)
    assert got[0][0][ClaimCheck._meta.concrete_fields.index(ClaimCheck._meta.get_field("patient_hash")) - 1]
    if connection.vendor == "sqlite":
        assert got == want  # the very text the ORM writes (JSON included)
    assert decoded(got) == decoded(want)
    assert ClaimCheck.objects.get(pk=fast[0].pk).checked_at == NOW


def test_one_check_at_a_time_stores_the_rows_the_orm_would_store(defaults_db):
    """The API's path: one check a call (PostgreSQL: one statement, check and findings), the same rows as the ORM's."""
    practice = Practice.objects.get(key="demo")
    user = User.objects.get(username="billing")
    results, payloads = upload_results(practice)
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        fast = [
            store.store_checks(practice.pk, [result], user=user, payloads=[payload])[0]
            for result, payload in zip(results, payloads)
        ]
        orm = orm_store(practice.pk, results, user=user, payloads=payloads)
    assert all(c.pk and not c._state.adding for c in fast)
    got, want = stored_rows(fast), stored_rows(orm)
    if connection.vendor == "sqlite":
        assert got == want
    assert decoded(got) == decoded(want)


def test_draft_claims_and_a_shared_coding_store_as_the_orm_would():
    """Checks of draft claims (their reference and payer key come from the claim), no user, results whose
    ``coding`` is shared (encoded once for the batch) or unusual (encoded as it is)."""
    medicare = Payer.objects.get_or_create(key="medicare", defaults={"name": "Medicare"})[0]
    practice = PracticeFactory(key="p", npi="1234567893")
    claims = [
        DraftClaimFactory(practice=practice, payer=medicare, reference=f"D-{n}", lines=[{"code": "0275T"}])
        for n in range(3)
    ]
    coding = [{"kind": "icd10cm", "release": "ICD-10-CM «2026»", "effective_from": "2026-04-01", "effective_to": None}]
    findings = [
        {"rule": "X_RULE", "severity": "info", "codes": ["0275T", "Q0"], "message": "m\tn\\o\n«p»"},
        {"rule": "X_RULE", "severity": "info", "codes": [1], "message": "1"},
        {"rule": "X_RULE", "severity": "info", "codes": [True], "message": "true, not 1"},
        {"rule": "X_RULE", "severity": "info", "codes": ["0275T", "Q0"], "message": "the same codes again"},
    ]
    error = {
        "rule": "Y",
        "severity": "error",
        "line": 2,
        "codes": [],
        "message": "",
        "reference": "r",
        "suggestion": "",
    }
    results = [
        {"status": "clean", "date_of_service": "2026-05-04", "coding": coding, "findings": []},
        {
            "status": "warning",
            "date_of_service": "2026-05-04",
            "coding": [dict(c) for c in coding],
            "findings": findings,
        },
        {
            "status": "error",
            "date_of_service": None,
            "coding": [{"kind": "x", "rows": 3, "on": True}],
            "findings": [error],
        },
    ]
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        fast = store.store_checks(practice.pk, results, claims=claims, source="admin")
        orm = orm_store(practice.pk, results, claims=claims, source="admin")
    got, want = stored_rows(fast), stored_rows(orm)
    if connection.vendor == "sqlite":
        assert got == want
    assert decoded(got) == decoded(want)
    assert [c.reference for c in ClaimCheck.objects.filter(pk__in=[c.pk for c in fast]).order_by("pk")] == [
        "D-0", "D-1", "D-2"
    ]  # fmt: skip


def test_the_batch_columns_are_every_column_of_the_model():
    assert set(store._check_columns()) == {f.attname for f in ClaimCheck._meta.concrete_fields if not f.primary_key}
    with mock.patch.object(store, "CHECK_COLUMNS", store.CHECK_COLUMNS[:-1]), pytest.raises(RuntimeError):
        store._check_columns()


def test_result_json_is_the_text_json_dumps_gives():
    coding = [{"kind": "icd10cm", "release": "ICD-10-CM «2026»", "effective_from": "2026-04-01", "effective_to": None}]
    encode = store._ResultJson()
    for result in [
        {"status": "clean", "coding": coding, "findings": [{"codes": ["A"]}]},
        {"status": "clean", "coding": [dict(c) for c in coding], "note": 'mild® \\ "q"'},  # the coding encoded once
        {"status": "clean", "coding": coding, "note": store._ResultJson.PLACEHOLDER},  # the placeholder occurs twice
        {"status": "error", "coding": [{"kind": "x", "rows": 3}]},  # a number: not shared
        {"status": "error", "coding": [{"kind": "x", "on": True}]},
        {"status": "error", "coding": [{"kind": "x", "on": 1}]},
        {"status": "error", "coding": ("a", "b")},
        {"status": "error"},
    ]:
        assert encode(result, result.get("coding", [])) == (json.dumps(result), json.dumps(result.get("coding", [])))
    assert len(encode.codings) == 1
