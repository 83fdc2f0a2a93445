"""The billing guide built from the database (billing.guide.build), exported by the command and downloaded by a
manager from the admin, read back with openpyxl. Amounts come from the real PFS 2025 (PPRRVU2025_Oct.csv) and GPCI
2025 files loaded through codes.loading.load_files."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.guide.build import GuideError, build_guide, parse_locality
from billing.guide.fees import CONVERSION_FACTORS, read_conversion_factors, table_conversion_factor
from billing.guide.workbook import write_billing_guide
from codes import snapshot as k
from codes.loading import load_files
from codes.selectors import clear_cache
from config.roles import BILLING_STAFF, PRACTICE_MANAGERS
from practice import services
from practice.models import PayerRule
from tests.billing.downloads_data import (
    headers,
    load_addendum_b,
    load_cms_2025,
    load_fixture_codesets,
    load_practice_defaults,
    money,
    other_practice,
    payment,
    table,
    user_in,
    workbook,
    write_cpt,
    write_gpci_2024,
    write_pfs_2024,
)
from tests.testdata import CLOCK

NATIONAL_NF, NATIONAL_F = "Physician national non-facility", "Physician national facility"
ALABAMA_NF, ALABAMA_F = "Physician 10112-00 non-facility", "Physician 10112-00 facility"


@pytest.fixture
def cms(db, cms_dir):
    clear_cache()
    load_cms_2025(cms_dir)
    load_fixture_codesets()
    yield cms_dir
    clear_cache()


@pytest.fixture
def practice(db):
    return load_practice_defaults()


@pytest.fixture
def exported(cms, practice, tmp_path):
    path = tmp_path / "mild-2025.xlsx"
    started, cpu = time.perf_counter(), time.process_time()
    call_command("export_billing_guide", "--procedure", "mild", "--year", "2025", "--locality", "10112-00",
                 "--output", str(path))  # fmt: skip
    return workbook(path), (time.perf_counter() - started, time.process_time() - cpu)


# ---- the command -----------------------------------------------------------------------------------------------


@CLOCK
def test_command_writes_amounts_from_the_real_2025_files(exported, clock):
    wb, (seconds, cpu) = exported
    print(f"\nexport_billing_guide (DB -> xlsx, cold caches): {seconds * 1000:.0f} ms ({cpu * 1000:.0f} ms CPU)")
    assert not clock or cpu < 2.0  # CPU time: SQLite runs in-process, and a busy machine does not make the test flaky
    assert wb.sheetnames == ["Overview", "Coverage", "Coding", "Claim fields", "Payment", "Changes", "Sources"]
    assert money(payment(wb, "G0276", NATIONAL_F)) == Decimal("353.87")
    assert money(payment(wb, "G0276", ALABAMA_F)) == Decimal("330.86")
    assert payment(wb, "G0276", NATIONAL_NF) == "NA in this setting"
    assert money(payment(wb, "64483", NATIONAL_NF)) == Decimal("236.13")
    assert money(payment(wb, "64483", NATIONAL_F)) == Decimal("107.71")
    assert money(payment(wb, "64483", ALABAMA_NF)) == Decimal("211.73")
    assert money(payment(wb, "64483", ALABAMA_F)) == Decimal("100.13")
    assert money(payment(wb, "77003", NATIONAL_NF)) == Decimal("99.63")
    assert money(payment(wb, "77003", NATIONAL_NF, "26")) == Decimal("27.17")
    assert money(payment(wb, "77003", NATIONAL_NF, "TC")) == Decimal("72.46")
    assert payment(wb, "72275", NATIONAL_F) == "not in the fee schedule"
    overview = {row[0]: row[1] for row in wb["Overview"].iter_rows(values_only=True) if row[0]}
    assert overview["Locality"] == "10112-00 ALABAMA"
    assert overview["PFS conversion factor"] == pytest.approx(32.3465)


def test_0275T_is_carrier_priced_and_opps_asc_not_loaded(exported):
    wb, _ = exported
    for header in (NATIONAL_NF, NATIONAL_F, ALABAMA_NF, ALABAMA_F):
        assert payment(wb, "0275T", header) == "carrier priced"
    assert payment(wb, "0275T", "PFS status") == "R: restricted coverage"
    for code in ("0275T", "G0276", "64483"):
        assert payment(wb, code, "OPPS national rate") == "not loaded"
        assert payment(wb, code, "ASC national rate") == "not loaded"
    for row in table(wb["Payment"]):  # never a false $0
        for header in (NATIONAL_NF, NATIONAL_F, ALABAMA_NF, ALABAMA_F, "OPPS national rate", "ASC national rate"):
            assert row[header] not in (0, None), (row["Code"], header)
    sources = {row["Kind"]: row for row in table(wb["Sources"])}
    assert sources["OPPS Addendum B"]["Release"] == "not loaded"
    assert sources["ASC Addendum AA"]["Release"] == "not loaded"


def test_coverage_cites_ncd_150_13(exported):
    wb, _ = exported
    rows = table(wb["Coverage"])
    medicare = [r for r in rows if r["Payer type"] == "Medicare fee-for-service"]
    assert medicare and all("NCD 150.13" in r["Reference"] for r in medicare)
    mild = next(r for r in medicare if "0275T" in r["Coverage"])
    assert mild["Coverage"].startswith("Covered only under Coverage with Evidence Development")
    assert mild["Modifiers"] == "Q0"
    assert "Z00.6 (secondary)" in mild["Diagnoses"]
    assert "NCT03072927" in mild["Clinical trial"]
    assert mild["Certainty"] == "sure"
    assert mild["Reference URL"].startswith("https://www.cms.gov/")
    assert mild["Effective from"].date() == date(2016, 12, 7)  # version 2 of the NCD, in force all of 2025
    blue = next(r for r in rows if r["Payer type"] == "Commercial")
    assert blue["Coverage"].startswith("Investigational")
    assert "7.01.126" in blue["Reference"]
    advantage = next(r for r in rows if r["Payer type"] == "Medicare Advantage")
    assert advantage["Certainty"] == "likely"


def test_coding_claim_fields_and_sources(exported, cms_dir):
    wb, _ = exported
    coding = {(row["Kind"], row["Code"]): row for row in table(wb["Coding"])}
    assert coding[("Procedure (CPT)", "0275T")]["Details"] == "Description: our summary"
    assert "[our summary]" not in coding[("Procedure (CPT)", "0275T")]["Description"]
    assert "last valid day 2024-12-31" in coding[("Procedure (CPT)", "72275")]["Notes"]
    assert coding[("Diagnosis", "M48.062")]["Details"] == "not checked (ICD-10-CM not loaded)"
    assert coding[("Modifier", "Q0")]["Description"].startswith("Investigational service")
    assert coding[("Place of service", "24")]["Details"] == "PFS facility rate"
    assert any("REF01 = P4" in row["837P (electronic)"] for row in table(wb["Claim fields"]))
    sources = {row["Kind"]: row for row in table(wb["Sources"])}
    pfs = sources["Physician fee schedule RVUs"]
    assert pfs["SHA-256"] == hashlib.sha256((cms_dir / "PPRRVU2025_Oct.csv").read_bytes()).hexdigest()
    assert pfs["Effective from"].date() == date(2025, 10, 1)  # the October file: the latest of the year
    assert "PPRRVU2025_Oct.csv" in pfs["Notes"]
    assert len(sources["GPCIs"]["SHA-256"]) == 64
    assert sources["CPT descriptors (licensed)"]["Release"] == "not loaded"
    assert any(row["Kind"] == "Payer rule" and "NCD 150.13" in row["Notes"] for row in table(wb["Sources"]))


def test_changes_without_a_previous_pfs_say_so(exported):
    wb, _ = exported
    rows = table(wb["Changes"])
    cf = next(r for r in rows if r["Subject"] == "Conversion factor")
    assert cf["Before (2024)"] == pytest.approx(33.2875)  # the project's table (fixtures/codesets)
    assert cf["Now (2025)"] == pytest.approx(32.3465)
    assert next(r for r in rows if r["Subject"] == "72275")["Now (2025)"] == "terminated"
    assert any(r["Kind"] == "Not compared" and "2024" in r["What changed"] for r in rows)


def test_command_national_only(cms, practice, tmp_path):
    path = tmp_path / "national.xlsx"
    call_command("export_billing_guide", procedure="mild", year=2025, output=str(path))
    wb = workbook(path)
    assert not any("10112" in h for h in headers(wb["Payment"]))
    assert money(payment(wb, "G0276", NATIONAL_F)) == Decimal("353.87")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"procedure": "nope", "year": 2025}, "--procedure"),
        ({"procedure": "mild", "year": 2025, "locality": "Alabama"}, "--locality"),
        ({"procedure": "mild", "year": 2025, "locality": "99999-99"}, "--locality"),
        ({"procedure": "mild", "year": 1492}, "--year"),
    ],
)
def test_command_errors_name_the_option(cms, practice, tmp_path, options, named):
    output = tmp_path / "x.xlsx"
    with pytest.raises(CommandError) as raised:
        call_command("export_billing_guide", output=str(output), **options)
    assert str(raised.value).startswith(named)
    assert not output.exists()


def test_command_refuses_an_output_that_is_not_xlsx(cms, practice, tmp_path):
    with pytest.raises(CommandError, match="--output"):
        call_command("export_billing_guide", procedure="mild", year=2025, output=str(tmp_path / "x.csv"))


# ---- build_guide ----------------------------------------------------------------------------------------------


def test_build_guide_uses_few_queries(cms, practice, django_assert_max_num_queries):
    clear_cache()
    with django_assert_max_num_queries(20):
        guide = build_guide("mild", 2025, "10112-00", practice.pk)
    assert len(guide.payments) == 8  # 0275T, G0276, 77003 (+26, TC), 72275, 0274T, 64483


def test_a_year_with_nothing_loaded_says_not_loaded(cms, practice):
    guide = build_guide("mild", 2030, "10112-00", practice.pk)
    assert guide.conversion_factor is None
    for row in guide.payments:
        assert (row.national_facility, row.locality_facility, row.opps_rate) == ("not loaded",) * 3
    assert guide.locality.code == "10112-00"  # no GPCI covers 2029-2030: the locality is kept, its amounts not loaded
    write_billing_guide(guide, io.BytesIO())  # a valid workbook without any amount


def test_changes_against_a_previous_year(cms, practice, tmp_path, cms_dir):
    """TEST DATA for 2024: the 2025 RVUs with the 2024 CF, and an Alabama PE GPCI of 0.870."""
    load_files(k.PFS_RVU, [write_pfs_2024(cms_dir, tmp_path)])
    load_files(k.GPCI, [write_gpci_2024(cms_dir, tmp_path)], effective_from=date(2024, 1, 1))
    guide = build_guide("mild", 2025, "10112-00", practice.pk)
    changes = {c.subject: c for c in guide.changes}
    g0276 = changes["G0276 facility, national"]
    assert (g0276.old, g0276.new) == (Decimal("364.17"), Decimal("353.87"))  # 10.94 RVUs × 33.2875 vs × 32.3465
    assert changes["G0276 facility, 10112-00"].new == Decimal("330.86")
    assert changes["64483 non-facility, national"].old == Decimal("243.00")  # 7.30 × 33.2875
    assert changes["Conversion factor"].old == Decimal("33.2875")
    assert changes["72275"].description == "Terminated: last valid day 2024-12-31"  # absent from both PFS files
    assert not any(c.kind == "Not compared" for c in guide.changes)
    assert {s.label for s in guide.sources if "Changes sheet" in s.notes} >= {"PFS RVU 2024 Oct", "GPCI 2024"}


def test_rule_versions_that_changed_in_the_year(cms, practice):
    rule = PayerRule.objects.get(payer__key="medicare-advantage", key="ncd-150-13", practice=None)
    new = services.new_version_from(rule, date(2025, 7, 1), reason="test: new MA policy")
    new.prior_auth_required = True
    services.save_rule(new, reason="test: prior authorisation from July")
    guide = build_guide("mild", 2025, None, practice.pk)
    advantage = [c for c in guide.coverage if c.payer_type == "Medicare Advantage"]
    assert [(c.effective_from, c.effective_to) for c in advantage] == [
        (date(2016, 12, 7), date(2025, 6, 30)),
        (date(2025, 7, 1), None),
    ]
    change = next(c for c in guide.changes if c.kind == "Payer rule")
    assert "prior authorisation: not required -> required" in change.description
    assert change.effective == date(2025, 7, 1)


def test_practice_override_wins_for_its_practice(cms, practice):
    rule = PayerRule.objects.get(payer__key="commercial-bcbs", key="bcbsa-7-01-126", practice=None)
    override = PayerRule.objects.get(pk=rule.pk)
    override.pk = override.id = None
    override._state.adding = True
    override.practice = practice
    override.coverage = "covered"
    override.reference = "Our contract with the plan (test)"
    services.save_rule(override, reason="test: practice contract")
    mine = {c.payer_type: c for c in build_guide("mild", 2025, None, practice.pk).coverage}
    assert mine["Commercial"].coverage == "Covered"
    shipped = {c.payer_type: c for c in build_guide("mild", 2025, None, None).coverage}
    assert shipped["Commercial"].coverage.startswith("Investigational")


def test_loaded_addendum_b_and_licensed_cpt(cms, practice, tmp_path):
    load_addendum_b(tmp_path)
    load_files(k.CPT, [write_cpt(tmp_path)], effective_from=date(2025, 1, 1), effective_to=date(2025, 12, 31))
    clear_cache()
    guide = build_guide("mild", 2025, None, practice.pk)
    rows = {(p.code, p.modifier): p for p in guide.payments}
    assert (rows[("0275T", "")].opps_indicator, rows[("0275T", "")].opps_rate) == ("J1", Decimal("12866.82"))
    assert rows[("77003", "")].opps_rate == "packaged (no separate payment)"
    assert rows[("G0276", "")].opps_rate == "not in Addendum B"
    assert rows[("0275T", "")].asc_rate == "not loaded"
    assert rows[("77003", "26")].opps_rate == "n/a (26/TC row)"
    procedures = {p.code: p for p in guide.procedures}
    assert procedures["0275T"].description == "LICENSED TEST DESCRIPTOR FOR 0275T"
    assert procedures["0275T"].text_source == "licensed CPT text"
    assert procedures["64483"].text_source == "our summary"  # not in the licensed file


def test_locality_parsing():
    assert parse_locality(" 10112-00 ") == ("10112", "00")
    for bad in ("10112", "1011200", "AL", "10112-0"):
        with pytest.raises(GuideError) as raised:
            parse_locality(bad)
        assert raised.value.option == "locality"


def test_conversion_factors_come_from_the_fixture_file():
    table_, sources = read_conversion_factors()
    assert table_ == CONVERSION_FACTORS
    assert table_conversion_factor(date(2025, 3, 1)) == Decimal("32.3465")
    assert table_conversion_factor(date(2026, 3, 1), qpp=True) == Decimal("33.5675")
    assert {s.certainty for s in sources} <= {"sure", "likely", "unverified"}


# ---- the admin page --------------------------------------------------------------------------------------------


@CLOCK
def test_manager_downloads_the_guide_from_the_admin(cms, practice, client, django_user_model, clock):
    manager = user_in(django_user_model, "mgr", PRACTICE_MANAGERS, practice)
    client.force_login(manager)
    page = client.get(reverse("billing-guide-form"))
    assert page.status_code == 200
    assert page.context["form"]["locality"].value() == "10112-00"  # the practice's location
    cpu = time.process_time()
    response = client.post(
        reverse("billing-guide-form"),
        {"practice": practice.pk, "procedure": "mild", "year": 2025, "locality": "10112-00"},
    )
    cpu = time.process_time() - cpu
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="mild-billing-guide-2025-10112-00.xlsx"' in response["Content-Disposition"]
    assert not clock or cpu < 2.0
    wb = workbook(b"".join(response.streaming_content))
    assert money(payment(wb, "G0276", ALABAMA_F)) == Decimal("330.86")
    assert payment(wb, "0275T", ALABAMA_F) == "carrier priced"


def test_guide_form_errors_are_shown_on_the_field(cms, practice, client, django_user_model):
    client.force_login(user_in(django_user_model, "mgr", PRACTICE_MANAGERS, practice))
    response = client.post(
        reverse("billing-guide-form"), {"practice": practice.pk, "procedure": "mild", "year": 2025, "locality": "77"}
    )
    assert response.status_code == 200
    assert "locality" in response.context["form"].errors


def test_guide_form_refuses_billing_staff_and_other_practices(cms, practice, client, django_user_model):
    client.force_login(user_in(django_user_model, "staff", BILLING_STAFF, practice))
    assert client.get(reverse("billing-guide-form")).status_code == 403
    assert client.post(reverse("billing-guide-form"), {"procedure": "mild", "year": 2025}).status_code == 403
    elsewhere = other_practice()
    client.force_login(user_in(django_user_model, "mgr2", PRACTICE_MANAGERS, elsewhere))
    response = client.post(reverse("billing-guide-form"), {"practice": practice.pk, "procedure": "mild", "year": 2025})
    assert response.status_code == 200 and "practice" in response.context["form"].errors  # not one of theirs
    client.force_login(user_in(django_user_model, "lonely", PRACTICE_MANAGERS, None))
    assert client.get(reverse("billing-guide-form")).status_code == 403  # works for no practice


def test_admin_index_shows_the_downloads_to_managers_only(cms, practice, client, django_user_model):
    client.force_login(user_in(django_user_model, "mgr", PRACTICE_MANAGERS, practice))
    page = client.get(reverse("admin:index")).content.decode()
    assert 'id="downloads"' in page
    assert reverse("billing-guide-form") in page and reverse("billing-report-page") in page
    client.force_login(user_in(django_user_model, "staff", BILLING_STAFF, practice))
    assert 'id="downloads"' not in client.get(reverse("admin:index")).content.decode()


def test_diagnoses_read_from_the_icd10cm_release_of_the_year(cms, practice):
    """TEST DATA: two small ICD-10-CM releases written straight to the tables (FY2025 and FY2026)."""
    from tests.factories import ReleaseFactory

    def release(label, start, end, rows):
        ReleaseFactory(kind=k.ICD10CM, label=label, effective_from=start, effective_to=end, rows=rows)

    stenosis = [("M4806", False, "Spinal stenosis, lumbar region"), ("M48062", True, "Lumbar stenosis, claudication")]
    release("ICD-10-CM FY2025 (test)", date(2024, 10, 1), date(2025, 9, 30), stenosis)
    z006 = ("Z006", True, "Encounter for examination for normal comparison and control in clinical research program")
    release("ICD-10-CM FY2026 (test)", date(2025, 10, 1), date(2026, 9, 30), [*stenosis, z006])
    clear_cache()
    guide = build_guide("mild", 2025, None, practice.pk)
    diagnoses = {d.code: d for d in guide.diagnoses}
    assert diagnoses["M48.062"].billable is True
    assert diagnoses["M48.06"].billable is False
    assert diagnoses["Z00.6"].billable is True
    assert diagnoses["M48.061"].details == "not a code in ICD-10-CM FY2026 (test)"
    change = next(c for c in guide.changes if c.subject == "Z00.6")  # end of 2024 (FY2025) vs end of 2025 (FY2026)
    assert (change.old, change.new, change.effective) == ("not a code", "billable", date(2025, 10, 1))
    labels = {s.label: s.notes for s in guide.sources if s.kind == "ICD-10-CM diagnoses"}
    assert "as of 2025-12-31" in labels["ICD-10-CM FY2026 (test)"]
    assert "Changes sheet" in labels["ICD-10-CM FY2025 (test)"]
