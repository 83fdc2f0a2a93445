"""Fixtures for the practice tests: a few code-set releases written straight to the codes tables, payers, rules."""

from datetime import date

import pytest

from codes import models as cm
from codes import selectors as code_selectors
from codes import snapshot as k
from practice import policy, services
from practice.models import Payer, PayerRule
from tests.factories import ReleaseFactory

RULE_2026 = date(2026, 1, 1)


def _release(kind, start, end=None):
    return ReleaseFactory(kind=kind, label=f"test {kind} {start}", effective_from=start, effective_to=end)


@pytest.fixture
def codesets(db):
    """Code sets covering 2025-2026: procedure summaries, modifiers, places of service and ICD-10-CM rows."""
    code_selectors.clear_cache()
    rel = _release(k.PROCEDURE_SUMMARIES, date(2025, 1, 1), date(2026, 12, 31))
    for code, system, start, end in [
        ("0275T", "CPT", date(2011, 7, 1), None),
        ("G0276", "HCPCS", date(2015, 1, 1), None),
        ("72275", "CPT", None, date(2024, 12, 31)),
        # the codes of the other procedure profiles' rules (WISeR, LCD frequency limits)
        *(
            (code, "CPT", None, None)
            for code in [
                "62320",
                "62321",
                "62322",
                "62323",
                "64479",
                "64480",
                "64483",
                "64484",
                "64490",
                "64491",
                "64492",
                "64493",
                "64494",
                "64495",
                "64633",
                "64634",
                "64635",
                "64636",
                "63655",
                "22510",
                "22511",
                "22512",
                "22513",
                "22514",
                "22515",
            ]
        ),
    ]:
        cm.ProcedureSummary.objects.create(
            release=rel, code=code, code_system=system, summary="s", effective_from=start, effective_to=end
        )
    rel = _release(k.MODIFIERS, date(2008, 1, 1))
    for code in ("Q0", "GA", "59"):
        cm.ModifierCode.objects.create(release=rel, code=code, code_system="HCPCS", description="m")
    cm.ModifierCode.objects.create(
        release=rel, code="XS", code_system="HCPCS", description="m", effective_from=date(2015, 1, 1)
    )
    rel = _release(k.POS, date(2003, 1, 1))
    for code in ("11", "22", "24"):
        cm.PlaceOfService.objects.create(release=rel, code=code, name="p", facility=code != "11")
    rel = _release(k.ICD10CM, date(2025, 10, 1), date(2026, 9, 30))
    for code, billable in [("M48062", True), ("M48061", True), ("M4806", False), ("Z006", True), ("M48", False)]:
        cm.IcdCode.objects.create(release=rel, code=code, billable=billable, description="d")
    yield
    code_selectors.clear_cache()


@pytest.fixture
def no_codesets(db):
    code_selectors.clear_cache()
    yield
    code_selectors.clear_cache()


@pytest.fixture
def payers(db):
    return {
        "medicare": Payer.objects.create(key="medicare", name="Medicare Part B", payer_type=policy.MEDICARE_FFS),
        "commercial-bcbs": Payer.objects.create(key="commercial-bcbs", name="BCBS", payer_type=policy.COMMERCIAL),
    }


@pytest.fixture
def make_rule(payers):
    def make(**overrides) -> PayerRule:
        values = {
            "payer": payers["medicare"],
            "key": "ncd-150-13",
            "name": "Medicare NCD 150.13",
            "version": 1,
            "effective_from": RULE_2026,
            "codes": ["0275T"],
            "coverage": policy.COVERED_CED,
            "required_modifiers": ["Q0"],
            "required_diagnoses": [{"codes": ["Z00.6"], "position": "secondary"}],
            "trial_number_required": True,
            "approved_trials": ["NCT03072927"],
            "allowed_places_of_service": ["22", "24"],
            "place_of_service_severity": "warning",
            "reference": "NCD 150.13",
        }
        values.update(overrides)
        return services.save_rule(PayerRule(**values), reason="test")

    return make


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw")
