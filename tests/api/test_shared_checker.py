"""The API keeps one Checker per process (billing.claims.checker.Checker.shared): a change to what it read -- a payer,
a payer rule, a release loaded -- is seen by the very next call."""

import copy
import json

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from billing.claims.checker import Checker
from codes import snapshot as k
from codes.loading import load_files
from practice.models import Payer, PayerRule
from tests.billing.upload_data import EXAMPLES_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(defaults_db) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(username="billing"))
    return client


def rules(api, claim) -> set[str]:
    response = api.post("/api/v1/claims/check", claim, format="json")
    assert response.status_code == 200, response.content
    return {f["rule"] for f in response.json()["findings"]}


def example(name: str) -> dict:
    return json.loads((EXAMPLES_DIR / f"{name}.json").read_text())["claim"]


def test_the_checker_is_kept_while_nothing_changes(api):
    rules(api, example("01-medicare-ced-clean"))
    first = Checker.shared()
    rules(api, example("02-medicare-missing-q0"))
    assert Checker.shared() is first


def test_a_payer_rule_edit_is_seen_at_once(api):
    claim = example("02-medicare-missing-q0")
    assert "PAYER_REQUIRES_MODIFIER" in rules(api, claim)
    for rule in PayerRule.objects.filter(payer__key="medicare"):
        if "Q0" in rule.required_modifiers:
            rule.required_modifiers = []
            rule.save()
    assert "PAYER_REQUIRES_MODIFIER" not in rules(api, claim)


def test_a_payer_edit_is_seen_at_once(api):
    claim = copy.deepcopy(example("01-medicare-ced-clean"))
    claim["submitted_on"] = "2027-09-30"  # 17 months after the date of service
    assert "TIMELY_FILING" in rules(api, claim)
    medicare = Payer.objects.get(key="medicare")
    medicare.filing_limit_days = 1000
    medicare.save()
    assert "TIMELY_FILING" not in rules(api, claim)


def test_a_release_loaded_is_seen_at_once(api, cms_dir):
    claim = example("11-ptp-active-pair")
    assert "NCCI_PTP_CONFLICT" not in rules(api, claim)
    load_files(k.PTP_PRACTITIONER, [cms_dir / "ccipra-v322r0-f1_excerpt.txt"])
    assert "NCCI_PTP_CONFLICT" in rules(api, claim)
