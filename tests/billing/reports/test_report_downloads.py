"""The check report from stored checks: the page's figures, the Celery job writing the workbook into a ReportFile,
the download (managers of the practice only) and the ReportFile admin. Expected figures are computed here straight
from the ClaimCheck rows and their result JSON, independently of the report's own queries."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import tasks
from billing.claims.checks import store_checks
from billing.models import ClaimCheck, DraftClaim, JobStatus, ReportFile
from billing.reports.data import Period, check_records
from billing.reports.jobs import run_check_report, start_check_report
from config.celery import app as celery_app
from config.roles import BILLING_STAFF, PRACTICE_MANAGERS
from practice.models import Payer, Practice
from tests.billing.downloads_data import load_practice_defaults, other_practice, user_in, workbook
from tests.factories import DraftClaimFactory

PERIOD = {"period_from": "2025-01", "period_to": "2025-12"}


def started(capture, practice, period: Period) -> ReportFile:
    """``start_check_report`` as a page runs it: the job is queued once the report file is committed (the test's
    transaction never commits, so the callback is run here), with eager Celery built then."""
    with capture(execute=True):
        report = start_check_report(practice, period)
    report.refresh_from_db()
    return report


@pytest.fixture
def eager():
    """Celery runs the job in-process (as on the embedded default), whatever the environment says."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def practice(db):
    return load_practice_defaults(comparator=None)


def finding(rule: str, severity: str = "error") -> dict:
    return {"rule": rule, "severity": severity, "codes": [], "message": f"{rule} (test)", "reference": "test"}


def checked(
    practice, result_status: str, findings: list[dict], when: datetime, claim=None, payer="medicare", served=None
):
    """One stored check (through billing.claims.checks.store_checks) made at ``when`` for a service on ``served``
    (default: the same day)."""
    result = {
        "status": result_status,
        "date_of_service": (served or when.date()).isoformat(),
        "coding": [],
        "findings": findings,
        "payer": payer,
    }
    check = store_checks(practice.pk, [result], claims=[claim] if claim else None, source="test")[0]
    ClaimCheck.objects.filter(pk=check.pk).update(checked_at=when, date_of_service=served or when.date())
    return check


def on(year: int, month: int, day: int = 15) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=timezone.get_current_timezone())


def claim(practice, reference: str, payer_key: str = "medicare") -> DraftClaim:
    return DraftClaimFactory(
        practice=practice,
        reference=reference,
        payer=Payer.objects.get(key=payer_key),
        date_of_service=date(2025, 1, 15),
    )


@pytest.fixture
def checks(practice):
    """Claims checked over 2025 (one twice in a month, one in two months), checks without a claim, and checks
    that must not count: another practice's and one from December 2024."""
    a, b = claim(practice, "CLM-A"), claim(practice, "CLM-B")
    c = claim(practice, "CLM-C", "commercial-bcbs")
    checked(practice, "error", [finding("PAYER_REQUIRES_MODIFIER")], on(2025, 3, 3), a)
    checked(practice, "clean", [], on(2025, 3, 20), a)
    two = [finding("PAYER_REQUIRES_TRIAL_NUMBER"), finding("PAYER_REQUIRES_MODIFIER")]
    checked(practice, "error", two, on(2025, 2), b)
    checked(practice, "warning", [finding("TIMELY_FILING", "warning")], on(2025, 5), b)
    checked(practice, "error", [finding("PAYER_NOT_COVERED")], on(2025, 4), c, "commercial-bcbs")
    checked(practice, "clean", [finding("FEE_SCHEDULE_STATUS", "info")], on(2025, 4))
    checked(practice, "error", [finding("PAYER_REQUIRES_DIAGNOSIS"), finding("PAYER_REQUIRES_DIAGNOSIS")], on(2025, 4))
    checked(practice, "error", [finding("NPI_INVALID")], on(2024, 12))
    elsewhere = other_practice()
    checked(elsewhere, "error", [finding("NPI_INVALID")], on(2025, 6))
    return practice


def expected(practice, start: str, end: str) -> tuple[Counter, Counter, Counter, list[str]]:
    """(outcomes, rules, payer × month, claims) from the ClaimCheck rows and their result JSON, by brute force."""
    latest: dict[object, ClaimCheck] = {}
    for check in ClaimCheck.objects.filter(practice=practice).select_related("claim").order_by("id"):
        month = check.date_of_service.strftime("%Y-%m")
        if start <= month <= end:
            latest[check.claim_id or f"check-{check.pk}"] = check
    outcomes = Counter(c.status for c in latest.values())
    rules = Counter(rule for c in latest.values() for rule in {f["rule"] for f in c.result["findings"]})
    names = dict(Payer.objects.values_list("key", "name"))
    payer_month = Counter((names[c.payer_key], c.date_of_service.strftime("%Y-%m")) for c in latest.values())
    claims = sorted(c.claim.reference if c.claim else f"check #{c.pk}" for c in latest.values())
    return outcomes, rules, payer_month, claims


# ---- the records and the job ------------------------------------------------------------------------------------


def test_records_count_each_claim_once_by_its_latest_check_in_the_period(checks):
    year = list(check_records([checks.pk], Period("2025-01", "2025-12")))
    assert sorted(r.claim for r in year) == expected(checks, "2025-01", "2025-12")[3]
    by_claim = {r.claim: r for r in year}
    assert (by_claim["CLM-A"].status, by_claim["CLM-A"].rules) == ("clean", ())
    assert (by_claim["CLM-B"].status, by_claim["CLM-B"].month) == ("warning", "2025-05")
    diagnosis = next(r for r in year if r.rules == ("PAYER_REQUIRES_DIAGNOSIS",))  # two findings, one rule
    assert diagnosis.payer == "Medicare Part B (fee-for-service)"
    quarter = {r.claim: r for r in check_records([checks.pk], Period("2025-01", "2025-03"))}
    assert set(quarter) == {"CLM-A", "CLM-B"}
    assert quarter["CLM-B"].rules == ("PAYER_REQUIRES_TRIAL_NUMBER", "PAYER_REQUIRES_MODIFIER")


def test_the_job_writes_the_figures_of_the_checks(checks, eager, media, django_capture_on_commit_callbacks):
    report = started(django_capture_on_commit_callbacks, checks, Period("2025-01", "2025-12"))
    assert report.status == JobStatus.DONE, report.error
    assert report.progress == 100 and report.finished_at is not None
    assert report.file.name.endswith(".xlsx") and report.parameters["checks"] == 5
    outcomes, rules, payer_month, claims = expected(checks, "2025-01", "2025-12")
    with report.file.open("rb") as fh:
        wb = workbook(fh.read())
    summary = wb["Summary"]
    assert summary["A5"].value == "All checked claims"
    assert [summary.cell(5, col).value for col in range(2, 6)] == [
        sum(outcomes.values()),
        outcomes["error"],
        outcomes["warning"],
        outcomes["clean"],
    ]
    assert "Demo Spine & Pain Center" in summary["A2"].value and "2025-01 to 2025-12" in summary["A2"].value
    by_payer = {(r[0], r[1]): r[2] for r in wb["By payer"].iter_rows(min_row=5, values_only=True)}
    assert by_payer == dict(payer_month)
    by_rule = {r[0]: r[2] for r in wb["By rule"].iter_rows(min_row=5, values_only=True)}
    assert by_rule == dict(rules)
    titles = {r[0]: r[1] for r in wb["By rule"].iter_rows(min_row=5, values_only=True)}
    assert titles["PAYER_NOT_COVERED"]  # the rule's message, in billing-office words
    detail = sorted(r[0] for r in wb["Checked claims"].iter_rows(min_row=5, values_only=True))
    assert detail == claims
    top = {(r[0], r[3]) for r in wb["Top findings"].iter_rows(min_row=5, values_only=True)}
    assert ("TIMELY_FILING", "CLM-B") in top and ("PAYER_NOT_COVERED", "CLM-C") in top


def test_claims_count_in_the_month_of_their_date_of_service_not_of_the_check(practice):
    """A March service checked in May is March's; a May check of a 2024 service is not in 2025 at all."""
    march = claim(practice, "CLM-MARCH")
    checked(practice, "error", [finding("NPI_INVALID")], on(2025, 5), march, served=date(2025, 3, 10))
    checked(practice, "clean", [], on(2025, 5), served=date(2024, 12, 30))
    records = list(check_records([practice.pk], Period("2025-01", "2025-12")))
    assert [(r.claim, r.month) for r in records] == [("CLM-MARCH", "2025-03")]
    assert [r.claim for r in check_records([practice.pk], Period("2025-05", "2025-05"))] == []
    assert len(list(check_records([practice.pk], Period("2024-12", "2024-12")))) == 1


def test_notes_never_top_the_most_frequent_findings(practice, client, django_user_model):
    """Coding-not-loaded findings on every claim (a warning for diagnoses, info for the fee schedule) rank below an
    error and a warning on one claim each, and are listed apart."""
    for i in range(5):
        note = [finding("CODING_NOT_LOADED", "info"), finding("CODING_NOT_LOADED", "warning")]
        if i == 0:
            note.append(finding("PAYER_NOT_COVERED"))
        if i == 1:
            note.append(finding("TIMELY_FILING", "warning"))
        checked(practice, "error" if i == 0 else "warning", note, on(2025, 3), claim(practice, f"N-{i}"))
    records = list(check_records([practice.pk], Period("2025-03", "2025-03")))
    assert {r.claim: dict(zip(r.rules, r.severities)) for r in records}["N-0"] == {
        "CODING_NOT_LOADED": "warning",  # the worst of its two
        "PAYER_NOT_COVERED": "error",
    }
    client.force_login(user_in(django_user_model, "mgr", PRACTICE_MANAGERS, practice))
    page = client.get(reverse("billing-report-page"), {"period_from": "2025-03", "period_to": "2025-03"})
    figures = page.context["figures"]
    assert [(r.rule, r.claims) for r in figures.by_rule] == [
        ("PAYER_NOT_COVERED", 1),
        ("TIMELY_FILING", 1),
        ("CODING_NOT_LOADED", 5),
    ]
    assert [r.rule for r in figures.costly] == ["PAYER_NOT_COVERED", "TIMELY_FILING"]
    assert [r.rule for r in figures.notes] == ["CODING_NOT_LOADED"]
    html = page.content.decode()
    top = html[html.index('id="report-top"') : html.index('id="report-notes"')]
    assert "PAYER_NOT_COVERED" in top and "CODING_NOT_LOADED" not in top
    assert "CODING_NOT_LOADED" in html[html.index('id="report-notes"') :]


def test_the_job_streams_without_a_query_per_row(
    practice, eager, media, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    claims = [claim(practice, f"BULK-{i}") for i in range(300)]
    results = [
        {"status": "error", "date_of_service": "2025-01-15", "coding": [], "findings": [finding("NPI_INVALID")]}
    ] * 300
    store_checks(practice.pk, results, claims=claims, source="test")
    with django_assert_max_num_queries(75):  # at most 50 progress updates, whatever the number of rows
        report = started(django_capture_on_commit_callbacks, practice, Period("2025-01", "2025-01"))
    assert report.status == JobStatus.DONE and report.parameters["checks"] == 300


def test_a_failed_job_records_the_error(practice, media):
    report = ReportFile.objects.create(practice=practice, kind="report", parameters={"period_from": "2025-13"})
    outcome = run_check_report(report.pk)
    report.refresh_from_db()
    assert outcome["status"] == report.status == JobStatus.FAILED
    assert "2025-13" in report.error and not report.file
    assert run_check_report(10**9)["status"] == "missing"


def test_a_job_that_cannot_be_queued_stays_queued_for_the_sweeper(
    practice, monkeypatch, eager, media, settings, django_capture_on_commit_callbacks
):
    from kombu.exceptions import OperationalError

    from billing.sweep import sweep
    from config.jobs import JobNotQueued

    def broker_down(*args, **kwargs):
        raise OperationalError("broker unreachable")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.build_check_report, "delay", broker_down)
        with pytest.raises(JobNotQueued), django_capture_on_commit_callbacks(execute=True):
            start_check_report(practice, Period("2025-01", "2025-12"))  # queued once the report is committed
    report = ReportFile.objects.get()
    assert report.status == JobStatus.QUEUED
    settings.JOB_STALE_SECONDS = 0
    assert sweep()["reports"] == [report.pk]  # the broker is back: sent again, and built
    report.refresh_from_db()
    assert report.status == JobStatus.DONE and report.file


# ---- the pages and the download --------------------------------------------------------------------------------


def test_manager_sees_the_figures_generates_and_downloads_the_report(
    checks, eager, media, client, django_user_model, django_capture_on_commit_callbacks
):
    manager = user_in(django_user_model, "mgr", PRACTICE_MANAGERS, checks)
    client.force_login(manager)
    page = client.get(reverse("billing-report-page"), PERIOD)
    assert page.status_code == 200
    figures = page.context["figures"]
    outcomes, rules, payer_month, _ = expected(checks, "2025-01", "2025-12")
    assert (figures.total.checks, figures.total.errors) == (sum(outcomes.values()), outcomes["error"])
    assert {r.rule: r.claims for r in figures.by_rule} == dict(rules)
    assert {(pm.payer, pm.month): pm.counts.checks for pm in figures.by_payer_month} == dict(payer_month)
    html = page.content.decode()
    assert "CLM-C" in html and "PAYER_NOT_COVERED" in html

    with django_capture_on_commit_callbacks(execute=True):  # the job is queued once the report file is committed
        response = client.post(reverse("billing-report-page"), {"practice": checks.pk, **PERIOD})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:billing_reportfile_changelist")
    report = ReportFile.objects.get(practice=checks, kind="report")
    assert report.status == JobStatus.DONE and report.created_by == manager

    listing = client.get(reverse("admin:billing_reportfile_changelist"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert reverse("billing-report-download", args=[report.pk]) in text
    assert reverse("billing-guide-form") in text and reverse("billing-report-page") in text

    download = client.get(reverse("billing-report-download", args=[report.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = workbook(b"".join(download.streaming_content))
    assert wb["Summary"]["B5"].value == figures.total.checks
    assert {r[0]: r[2] for r in wb["By rule"].iter_rows(min_row=5, values_only=True)} == dict(rules)


def test_the_download_is_refused_to_billing_staff_and_other_practices(
    checks, eager, media, client, django_user_model, django_capture_on_commit_callbacks
):
    report = started(django_capture_on_commit_callbacks, checks, Period("2025-01", "2025-12"))
    url = reverse("billing-report-download", args=[report.pk])
    assert client.get(url).status_code == 302  # not logged in: to the login page
    client.force_login(user_in(django_user_model, "staff", BILLING_STAFF, checks))
    assert client.get(url).status_code == 403
    assert client.get(reverse("billing-report-page")).status_code == 403
    assert client.get(reverse("admin:billing_reportfile_changelist")).status_code == 403
    other = user_in(django_user_model, "mgr2", PRACTICE_MANAGERS, Practice.objects.get(key="other"))
    client.force_login(other)
    assert client.get(url).status_code == 404
    listing = client.get(reverse("admin:billing_reportfile_changelist"))
    assert listing.status_code == 200 and url not in listing.content.decode()
    page = client.get(reverse("billing-report-page"), {"practice": checks.pk, **PERIOD})
    assert page.status_code == 200 and page.context["practice"] != checks  # not theirs: their own is shown


def test_a_report_that_is_not_ready_is_a_404(checks, client, django_user_model):
    report = ReportFile.objects.create(practice=checks, kind="report", parameters=PERIOD)
    client.force_login(user_in(django_user_model, "mgr", PRACTICE_MANAGERS, checks))
    assert client.get(reverse("billing-report-download", args=[report.pk])).status_code == 404


def test_generating_needs_the_add_permission(checks, client, django_user_model):
    from django.contrib.auth.models import Permission

    user = user_in(django_user_model, "reader", None, checks)
    user.user_permissions.add(Permission.objects.get(codename="download_report"))
    client.force_login(user)
    assert client.get(reverse("billing-report-page")).status_code == 200
    assert client.post(reverse("billing-report-page"), {"practice": checks.pk, **PERIOD}).status_code == 403
    assert not ReportFile.objects.exists()


def test_period_defaults_and_validation():
    default = Period.last_months(12, today=date(2025, 3, 9))
    assert (default.start, default.end) == ("2024-04", "2025-03")
    assert Period("2025-02", "2025-02").text() == "2025-02"
    with pytest.raises(ValueError):
        Period("2025-13", None)
    with pytest.raises(ValueError):
        Period("2025-05", "2025-01")
