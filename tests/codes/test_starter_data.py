"""The starter data shipped in fixtures/codesets (load_defaults): every CPT and HCPCS Level II modifier of
2020-2026 with its dates, and the CY2025 PFS relative values, GPCIs and localities, enough for a manager's 2025
guide with real amounts on a machine that never reached CMS."""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from billing.claims.checker import Checker
from codes import snapshot as k
from codes.defaults import CMS_STARTER_SETS, FIXTURES
from codes.models import RvuValue
from codes.selectors import snapshot_on
from practice.models import Practice
from tests.billing.downloads_data import money, payment, workbook

pytestmark = pytest.mark.django_db

PROBED = [
    "GC",
    "95",
    "93",
    "FS",
    "FT",
    "73",
    "74",
    "PT",
    "JZ",
    "JW",
    "AI",
    "KS",
    "CR",
    "GW",
    "GV",
    "PO",
    "PN",
    "CS",
    "AQ",
    "QK",
    "QX",
    "QZ",
    "AA",
    "QS",
    "23",
    "47",
    "54",
    "55",
    "56",
    "81",
]

CLAIM_2026 = {
    "payer": "medicare",
    "claim_type": "professional",
    "place_of_service": "22",
    "date_of_service": "2026-05-04",
    "submitted_on": "2026-06-01",
    "rendering_npi": "1234567893",
    "diagnoses": ["M48.062"],
    "clinical_trial_number": None,
    "prior_authorization_number": None,
    "condition_codes": [],
    "lines": [],
}


def _snapshot(on: date):
    return snapshot_on(on)


def test_every_probed_modifier_is_known_in_2026_with_its_flags(defaults_db):
    snapshot = _snapshot(date(2026, 5, 4))
    for code in PROBED:
        info = snapshot.modifier(code)
        assert info is not None, code
        assert info.effective_to is None, code
        assert (info.ncci_associated, info.anatomic) == (False, False), code
    assert snapshot.modifier("59").ncci_associated and not snapshot.modifier("59").anatomic
    assert snapshot.modifier("RT").anatomic and snapshot.modifier("XS").ncci_associated


@pytest.mark.parametrize(
    ("code", "system", "added"),
    [
        ("GC", "HCPCS", date(1997, 1, 1)),
        ("JZ", "HCPCS", date(2022, 7, 1)),
        ("FS", "HCPCS", date(2022, 1, 1)),
        ("PO", "HCPCS", date(2015, 1, 1)),
        ("PN", "HCPCS", date(2017, 1, 1)),
        ("CR", "HCPCS", date(2005, 8, 21)),
        ("95", "CPT", date(2017, 1, 1)),
        ("93", "CPT", date(2022, 1, 1)),
    ],
)
def test_added_dates(defaults_db, code, system, added):
    info = _snapshot(date(2026, 5, 4)).modifier(code)
    assert (info.system, info.effective_from) == (system, added)


def test_terminated_modifiers_end_on_their_day(defaults_db):
    assert _snapshot(date(2024, 12, 31)).modifier("JG").effective_to == date(2024, 12, 31)
    assert _snapshot(date(2019, 6, 1)).modifier("GD").effective_to == date(2019, 12, 31)


def _check(modifiers_by_line: list[tuple[str, list[str]]], on: str = "2026-05-04") -> dict:
    claim = copy.deepcopy(CLAIM_2026)
    claim["date_of_service"] = on
    claim["lines"] = [
        {"code": code, "modifiers": mods, "units": 1, "diagnosis_pointers": [1], "charge": "100.00"}
        for code, mods in modifiers_by_line
    ]
    return Checker.create().check(claim, Practice.objects.get(key="demo").pk)


def test_a_2026_claim_with_real_modifiers_has_no_unknown_modifier(defaults_db):
    result = _check([("99213", ["GC", "95"]), ("J1040", ["JZ"]), ("99214", ["FT", "PO"]), ("64483", ["74"])])
    rules = [f["rule"] for f in result["findings"]]
    assert "MODIFIER_UNKNOWN" not in rules
    assert "MODIFIER_NOT_IN_EFFECT" not in rules


def test_a_made_up_and_a_not_yet_added_modifier_are_still_caught(defaults_db):
    result = _check([("99213", ["ZZ"]), ("J1040", ["JZ"])], on="2022-03-01")
    found = {(f["rule"], tuple(f.get("codes") or ())) for f in result["findings"]}
    assert any(rule == "MODIFIER_UNKNOWN" and "ZZ" in codes for rule, codes in found)
    assert any(rule == "MODIFIER_NOT_IN_EFFECT" and "JZ" in codes for rule, codes in found)


def test_2025_pfs_gpci_and_localities_are_loaded(defaults_db):
    snapshot = _snapshot(date(2025, 12, 1))
    for kind in (k.PFS_RVU, k.GPCI, k.LOCALITY):
        assert snapshot.release(kind) is not None, kind
    g0276 = snapshot.rvu("G0276")
    assert (g0276.status, g0276.work_rvu, g0276.pe_facility_rvu, g0276.mp_rvu) == (
        "R",
        Decimal("7.17"),
        Decimal("3.03"),
        Decimal("0.74"),
    )
    assert g0276.conversion_factor == Decimal("32.3465")
    assert RvuValue.objects.filter(release__kind=k.PFS_RVU).count() == 19090
    assert not RvuValue.objects.exclude(description="").exists()  # no descriptive text ships


def test_the_starter_files_are_small():
    sizes = {name: (FIXTURES / name).stat().st_size for _, name in CMS_STARTER_SETS}
    assert sum(sizes.values()) < 400_000, sizes
    assert (FIXTURES / "modifiers.csv").stat().st_size < 60_000


def test_the_demo_managers_2025_guide_has_real_amounts(defaults_db, client):
    """What `make run` gives: the demo manager downloads the 2025 guide for the demo location's locality."""
    client.force_login(User.objects.get(username="manager"))
    practice = Practice.objects.get(key="demo")
    form = client.get(reverse("billing-guide-form"))
    assert form.context["form"]["locality"].value() == "10112-00"
    response = client.post(
        reverse("billing-guide-form"),
        {"practice": practice.pk, "procedure": "mild", "year": 2025, "locality": "10112-00"},
    )
    assert response.status_code == 200, response.content[:300]
    wb = workbook(b"".join(response.streaming_content))
    assert money(payment(wb, "G0276", "Physician 10112-00 facility")) == Decimal("330.86")
    assert money(payment(wb, "G0276", "Physician national facility")) == Decimal("353.87")
    assert payment(wb, "0275T", "Physician 10112-00 facility") == "carrier priced"


def test_loading_the_defaults_again_changes_nothing(defaults_db):
    from codes.defaults import load_default_codesets

    results = {result.kind: result.status for result in load_default_codesets()}
    assert set(results.values()) == {"unchanged"}
    assert {k.PFS_RVU, k.GPCI, k.LOCALITY, k.MODIFIERS} <= set(results)
