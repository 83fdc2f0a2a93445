"""Small leaks (issue 14 item 8): list filters enumerate only the user's own practices' values; the API schema and
docs page for logged-in users only, served without a CDN; the API still answers with the Redis cache down."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client, override_settings
from rest_framework.test import APIClient

from billing.models import ClaimCheck, DraftClaim, Finding
from practice.models import Payer
from tests.factories import PracticePayerFactory
from tests.security.helpers import MODEL_BACKEND, contract_claim, record_figures

SECRET_RULE = "B_ONLY_RULE_7Q"
SECRET_PAYER_KEY = "bcheckpayer7q"  # a payer key typed on one of B's checks
SECRET_PAYER_NAME = "B Only Health Plan 7Q"  # a payer only B bills


@pytest.fixture
def secrets_of_b(world):
    """Values found only in practice B's rows: a finding's rule id, a check's payer key, and a payer only B bills
    (with a claim of B's). Payers themselves are the shared list every practice picks from (the payers admin shows
    them all, by design): only lists of practice-owned rows must not name this one."""
    check_b = world.checks_b[0]
    Finding.objects.create(check_run=check_b, rule=SECRET_RULE, severity="error", message="only in B")
    ClaimCheck.objects.filter(pk=check_b.pk).update(payer_key=SECRET_PAYER_KEY)
    payer = PracticePayerFactory(practice=world.b, payer__key="bonly7q", payer__name=SECRET_PAYER_NAME).payer
    DraftClaim.objects.filter(pk=world.claims_b[0].pk).update(payer=payer)
    return [SECRET_RULE, SECRET_PAYER_KEY, SECRET_PAYER_NAME]


def _filter_sidebar(html: str) -> str:
    match = re.search(r'<div id="changelist-filter".*?</nav>', html, re.S) or re.search(
        r'id="changelist-filter".*', html, re.S
    )
    return match.group(0) if match else ""


def test_the_findings_rule_filter_lists_only_own_rules(world, secrets_of_b):
    web = Client()
    web.force_login(world.users["billing"], backend=MODEL_BACKEND)
    html = web.get("/admin/billing/claimcheck/").content.decode()
    sidebar = _filter_sidebar(html)
    own_rules = set(Finding.objects.filter(check_run__practice=world.a).values_list("rule", flat=True))
    assert own_rules and all(f"findings__rule={rule}" in html for rule in own_rules)
    assert SECRET_RULE not in html and SECRET_PAYER_KEY not in sidebar
    # practice B's own staff see it
    web_b = Client()
    web_b.force_login(world.users["other_billing"], backend=MODEL_BACKEND)
    assert SECRET_RULE in web_b.get("/admin/billing/claimcheck/").content.decode()


def test_no_admin_list_shows_another_practices_values(world, secrets_of_b):
    """Every registered list the billing user may open, with every filter: no value found only in practice B."""
    web = Client()
    web.force_login(world.users["billing"], backend=MODEL_BACKEND)
    opened = 0
    for model in admin.site._registry:
        if model is Payer:
            continue  # the shared list of payers (see secrets_of_b)
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        response = web.get(url)
        if response.status_code != 200:
            continue
        opened += 1
        html = response.content.decode()
        leaked = [s for s in secrets_of_b if s in html]
        assert not leaked, f"{url} shows {leaked}"
    record_figures("admin_filter_leaks", {"lists_opened_as_billing_staff": opened, "values_of_b_shown": 0})
    assert opened >= 4


# -- the schema and the docs page -------------------------------------------------------------------------------


def test_schema_and_docs_need_a_login(world):
    anonymous = APIClient()
    assert anonymous.get("/api/schema/").status_code == 401
    docs = Client().get("/api/docs/")
    assert docs.status_code == 302 and docs["Location"].startswith(settings.LOGIN_URL)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens['billing']}")
    assert api.get("/api/schema/").status_code == 200


def test_docs_page_is_served_from_our_own_static_files(world, web_for):
    response = web_for("billing").get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in s for s in sources)
    assert all(not s.startswith(("http:", "https:", "//")) for s in sources), sources
    assert not re.search(r"cdn|unpkg|jsdelivr|cdnjs", html, re.I)


def test_no_product_file_loads_from_a_cdn():
    """The house check: no cdn/unpkg/cdnjs address in the product's .py and .html files."""
    root = settings.BASE_DIR
    found = []
    for folder in ("billing", "codes", "practice", "config", "templates"):
        for path in (root / folder).rglob("*"):
            if path.suffix in {".py", ".html"} and re.search(
                r"https?://[^\s\"']*(cdn|unpkg|cdnjs)", path.read_text(errors="replace"), re.I
            ):
                found.append(str(path.relative_to(root)))
    assert not found, found


# -- the API with the Redis cache down ----------------------------------------------------------------------------

CLOSED_REDIS = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"},
}


@pytest.fixture
def redis_down():
    """The cache on a closed Redis port; before and after, the throttles forget any failure and their counts."""
    from config import throttling

    throttling.redis_back()
    with override_settings(CACHES=CLOSED_REDIS):
        yield
    throttling.redis_back()


def test_api_answers_with_the_redis_cache_down(world, api_for, faults, redis_down):
    api = api_for("billing")
    listed = api.get("/api/v1/claims/")
    checked = api.post("/api/v1/claims/check", contract_claim(), format="json")
    looked_up = api.get("/api/v1/codes/cpt/0275T?on=2026-03-02")
    faults.append("redis closed port (cache) under the API's throttles")
    assert listed.status_code == 200 and listed.json()["count"] == len(world.claims_a)
    assert checked.status_code == 200 and checked.json()["status"] in {"clean", "warning", "error"}
    assert looked_up.status_code in (200, 404)


def test_throttles_still_hold_with_the_redis_cache_down(world, api_for, redis_down):
    from rest_framework.settings import api_settings

    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "claims-check": "2/min"}
    with override_settings(REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}):
        api = api_for("billing")
        codes = [api.post("/api/v1/claims/check", contract_claim(), format="json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # counted in the process while Redis is away


def test_redis_is_tried_again_after_a_while(world, api_for, redis_down, monkeypatch):
    """After a failure the throttles skip Redis for RETRY_REDIS_AFTER_SECONDS (a Redis that does not answer is not
    waited for on every call), then try it again."""
    from django.core.cache.backends.redis import RedisCache

    from config import throttling

    calls = []
    real_get = RedisCache.get

    def counting(self, *args, **kwargs):
        calls.append(args[0])
        return real_get(self, *args, **kwargs)

    monkeypatch.setattr(RedisCache, "get", counting)
    api = api_for("billing")
    assert api.get("/api/v1/claims/").status_code == 200  # Redis refused: the fallback from now on
    tried = len(calls)
    assert tried >= 1
    assert api.get("/api/v1/claims/").status_code == 200
    assert len(calls) == tried  # Redis not even asked meanwhile
    now = time.monotonic()
    monkeypatch.setattr(throttling.time, "monotonic", lambda: now + throttling.RETRY_REDIS_AFTER_SECONDS + 1)
    assert api.get("/api/v1/claims/").status_code == 200
    assert len(calls) > tried  # tried again (refused again: answered from the fallback)
