"""The read-only REST API: payers, payer rules (filter by payer, code, date), procedure profiles."""

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from config.roles import BILLING_STAFF
from practice.defaults import load_defaults
from practice.models import PayerRule, Practice, PracticeMembership

pytestmark = pytest.mark.urls("tests.practice.urls_practice_api")


@pytest.fixture
def api(no_codesets, django_user_model):
    load_defaults(demo=True)
    user = django_user_model.objects.create_user("billing", password="pw")
    user.groups.add(Group.objects.get(name=BILLING_STAFF))  # the API needs the role's view permissions
    PracticeMembership.objects.create(user=user, practice=Practice.objects.get(key="demo"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_authentication_required(no_codesets):
    assert APIClient().get("/api/v1/payers/").status_code in (401, 403)
    assert APIClient().get("/api/v1/payer-rules/").status_code in (401, 403)


def test_payers(api):
    body = api.get("/api/v1/payers/").json()
    assert {p["key"] for p in body["results"]} == {"medicare", "medicare-advantage", "commercial-bcbs"}
    medicare = api.get("/api/v1/payers/medicare/").json()
    assert medicare["filing_limit_days"] == 365 and medicare["payer_type"] == "medicare"


def test_rules_filter_by_payer_code_and_date(api):
    body = api.get("/api/v1/payer-rules/", {"payer": "medicare", "code": "0275T"}).json()
    assert [(r["key"], r["version"]) for r in body["results"]] == [
        ("ncd-150-13", 1),
        ("ncd-150-13", 2),
        ("wiser-pild", 1),
        ("wiser-pild", 2),
    ]
    wiser = next(r for r in body["results"] if r["key"] == "wiser-pild")
    assert wiser["states"] == ["AZ", "NJ", "OH", "OK", "TX", "WA"] and wiser["certainty"] == "unverified"

    (v1,) = api.get("/api/v1/payer-rules/", {"payer": "medicare", "code": "0275T", "on": "2015-06-01"}).json()[
        "results"
    ]
    assert v1["version"] == 1 and v1["effective_to"] == "2016-12-06"
    (v2,) = [
        r
        for r in api.get("/api/v1/payer-rules/", {"payer": "medicare", "code": "0275T", "on": "2026-03-02"}).json()[
            "results"
        ]
        if r["key"] == "ncd-150-13"
    ]
    assert v2["version"] == 2 and v2["coverage"] == "ced"
    assert v2["required_diagnoses"][0] == {"codes": ["M48.062"], "position": "primary", "certainty": "likely"}
    assert v2["approved_trials"] == ["NCT03072927", "NCT02093520", "NCT02079038"]
    assert v2["payer"] == "medicare" and v2["practice"] is None

    body = api.get("/api/v1/payer-rules/", {"code": "G0276", "on": "2026-03-02"}).json()
    # the Blue plan's BCBSA 7.01.126 names G0276 too (issue 13 point 3)
    assert {r["payer"] for r in body["results"]} == {"medicare", "medicare-advantage", "commercial-bcbs"}
    assert api.get("/api/v1/payer-rules/", {"on": "not-a-date"}).status_code == 400


def test_other_practices_overrides_are_hidden(api):
    other = Practice.objects.create(key="other", name="Other", npi="1000000004")
    rule = PayerRule.objects.get(payer__key="commercial-bcbs")
    rule.pk, rule.practice = None, other
    rule.save()
    body = api.get("/api/v1/payer-rules/", {"payer": "commercial-bcbs"}).json()
    assert [r["practice"] for r in body["results"]] == [None]


def test_read_only(api):
    assert api.post("/api/v1/payers/", {"key": "x"}).status_code == 405
    rule = PayerRule.objects.first()
    assert api.patch(f"/api/v1/payer-rules/{rule.pk}/", {"notes": "x"}).status_code == 405
    assert api.delete(f"/api/v1/payer-rules/{rule.pk}/").status_code == 405


def test_procedure_profile(api):
    body = api.get("/api/v1/procedure-profiles/mild/").json()
    assert body["name"] == "mild® (percutaneous image-guided lumbar decompression)"
    codes = {(c["system"], c["code"]): c["role"] for c in body["codes"]}
    assert codes[("procedure", "0275T")] == "primary"
    assert codes[("icd10cm", "Z00.6")] == "usual"
