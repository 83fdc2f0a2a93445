"""The REST API: practice scoping of objects, the holes fixed in the serializers and views, tokens, CSRF, throttling
and the schema."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.test import APIClient
from rest_framework.views import APIView

from billing.models import ClaimCheck, ClaimLine, DraftClaim
from tests.security.helpers import claim_body, contract_claim, record_figures

# -- another practice's claims, checks and downloads --------------------------------------------------------


def test_other_practice_claim_is_404_everywhere(world, api_for):
    api = api_for("other_billing")
    theirs = world.claims_a[0]
    listed = {c["id"] for c in api.get("/api/v1/claims/").json()["results"]}
    assert listed == {c.pk for c in world.claims_b}
    assert api.get(f"/api/v1/claims/{theirs.pk}/").status_code == 404
    assert api.patch(f"/api/v1/claims/{theirs.pk}/", {"reference": "X", "version": 1}, format="json").status_code == 404
    assert api.put(f"/api/v1/claims/{theirs.pk}/", claim_body(version=1), format="json").status_code == 404
    assert api.post(f"/api/v1/claims/{theirs.pk}/check/").status_code == 404
    assert api.delete(f"/api/v1/claims/{theirs.pk}/").status_code == 404
    assert DraftClaim.objects.filter(pk=theirs.pk, reference="DEMO-0001").exists()
    assert not ClaimCheck.objects.filter(claim=theirs, checked_by=world.users["other_billing"]).exists()


def test_other_practice_checks_are_hidden(world, api_for):
    api = api_for("other_billing")
    listed = {c["id"] for c in api.get("/api/v1/checks/").json()["results"]}
    assert listed == {c.pk for c in world.checks_b}
    assert api.get(f"/api/v1/checks/{world.checks_a[0].pk}/").status_code == 404


def test_checks_filter_by_claim_does_not_reveal_other_practices_ids(world, api_for):
    api = api_for("other_billing")
    missing = DraftClaim.objects.order_by("-pk").first().pk + 1000
    theirs = api.get("/api/v1/checks/", {"claim": world.claims_a[0].pk})
    nothing = api.get("/api/v1/checks/", {"claim": missing})
    assert theirs.status_code == nothing.status_code == 400
    assert theirs.json() == nothing.json()
    mine = api.get("/api/v1/checks/", {"claim": world.claims_b[0].pk})
    assert mine.status_code == 200 and {c["claim"] for c in mine.json()["results"]} == {world.claims_b[0].pk}


def test_other_practice_upload_downloads_are_404(world, web_for):
    web = web_for("other_billing")
    assert web.get(f"/billing/uploads/{world.upload_a.pk}/progress").status_code == 404
    assert web.get(f"/billing/uploads/{world.upload_a.pk}/results.xlsx").status_code == 404
    assert web.get(f"/billing/uploads/{world.upload_b.pk}/results.xlsx").status_code == 200


# -- holes fixed in the draft-claim serializer ---------------------------------------------------------------


def test_payer_the_practice_does_not_bill_is_refused(world, api_for):
    # Practice B bills Medicare only.
    api = api_for("other_billing")
    response = api.post("/api/v1/claims/", claim_body(payer="commercial-bcbs"), format="json")
    assert response.status_code == 400
    assert "does not bill commercial-bcbs" in response.json()["payer"][0]
    mine = world.claims_b[0]
    response = api.patch(f"/api/v1/claims/{mine.pk}/", {"payer": "commercial-bcbs", "version": 1}, format="json")
    assert response.status_code == 400 and "payer" in response.json()
    assert api.post("/api/v1/claims/", claim_body(), format="json").status_code == 201
    # Practice A bills all three.
    assert (
        api_for("billing").post("/api/v1/claims/", claim_body(payer="commercial-bcbs"), format="json").status_code
        == 201
    )


def test_new_claim_belongs_to_the_users_practice_whatever_the_body_says(world, api_for):
    api = api_for("other_billing")
    response = api.post("/api/v1/claims/", {**claim_body(), "practice": world.a.pk, "id": 1}, format="json")
    assert response.status_code == 201
    claim = DraftClaim.objects.get(pk=response.json()["id"])
    assert claim.practice == world.b and claim.created_by == world.users["other_billing"]
    # ?practice=KEY of a practice the user does not work for
    response = api.post("/api/v1/claims/?practice=demo", claim_body(), format="json")
    assert response.status_code == 403


def test_a_line_of_another_claim_cannot_be_taken_or_changed(world, api_for):
    api = api_for("billing")
    mine, theirs = world.claims_a[0], world.claims_b[0]
    their_line = theirs.lines.get()
    before = (their_line.pk, their_line.claim_id, their_line.code, their_line.modifiers)
    body = {
        "version": mine.version,
        "lines": [
            {"id": their_line.pk, "claim": theirs.pk, "number": 1, "code": "0274T", "modifiers": [], "units": 1},
        ],
    }
    response = api.patch(f"/api/v1/claims/{mine.pk}/", body, format="json")
    assert response.status_code == 200, response.json()
    assert [line["code"] for line in response.json()["lines"]] == ["0274T"]
    their_line.refresh_from_db()
    assert (their_line.pk, their_line.claim_id, their_line.code, their_line.modifiers) == before
    assert list(ClaimLine.objects.filter(claim=mine).values_list("code", flat=True)) == ["0274T"]


def test_duplicate_line_numbers_are_a_400_not_a_500(world, api_for):
    line = {"number": 1, "code": "0275T", "modifiers": ["Q0"], "units": 1}
    response = api_for("billing").post("/api/v1/claims/", claim_body(lines=[line, line]), format="json")
    assert response.status_code == 400
    assert "unique" in str(response.json()["lines"])


def test_check_uses_the_users_own_practice_and_its_overrides_only(world, api_for):
    # Practice A's override asks for modifier KX on 0275T; practice B's checks must not see it.
    a = api_for("billing").post("/api/v1/claims/check", contract_claim(), format="json")
    b = api_for("other_billing").post("/api/v1/claims/check", contract_claim(), format="json")
    assert a.status_code == b.status_code == 200
    assert any("KX" in f["codes"] for f in a.json()["findings"] if f["rule"] == "PAYER_REQUIRES_MODIFIER")
    assert not any("KX" in f.get("codes", []) for f in b.json()["findings"])
    latest = ClaimCheck.objects.order_by("-id")
    assert latest[0].practice == world.b and latest[0].checked_by == world.users["other_billing"]
    assert latest[1].practice == world.a and latest[1].checked_by == world.users["billing"]
    # the practice can only be chosen among the user's own
    response = api_for("other_billing").post("/api/v1/claims/check?practice=demo", contract_claim(), format="json")
    assert response.status_code == 403
    body = {**contract_claim(), "practice": world.a.pk, "practice_id": world.a.pk}
    api_for("other_billing").post("/api/v1/claims/check", body, format="json")
    assert ClaimCheck.objects.order_by("-id")[0].practice == world.b


# -- authentication -------------------------------------------------------------------------------------------


def test_create_api_token_command(world):
    out = io.StringIO()
    call_command("create_api_token", "billing", stdout=out)
    key = out.getvalue().strip()
    assert key == Token.objects.get(user=world.users["billing"]).key
    call_command("create_api_token", "billing", "--reset", stdout=(out := io.StringIO()))
    new_key = out.getvalue().strip()
    assert new_key != key and len(new_key) == 40
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {new_key}")
    assert client.get("/api/v1/claims/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")  # replaced: refused
    assert client.get("/api/v1/claims/").status_code == 401
    with pytest.raises(CommandError, match="no user"):
        call_command("create_api_token", "nobody")
    world.users["manager"].is_active = False
    world.users["manager"].save()
    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "manager")


def test_unauthenticated_and_bad_tokens_are_refused(world):
    client = APIClient()
    response = client.get("/api/v1/claims/")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/v1/claims/").status_code == 401


def test_session_authentication_enforces_csrf(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["billing"], backend="django.contrib.auth.backends.ModelBackend")
    assert client.get("/api/v1/claims/").status_code == 200
    response = client.post("/api/v1/claims/check", contract_claim(), content_type="application/json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]


# -- throttling ------------------------------------------------------------------------------------------------


LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle-test"}}


def _rates(**rates):
    return {**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": {**api_settings.DEFAULT_THROTTLE_RATES, **rates}}


def test_claim_checks_are_throttled_with_429(world, api_for):
    # Its own cache: a shared Redis (CI) must not mix these counts with another test process's.
    with override_settings(CACHES=LOCMEM, REST_FRAMEWORK=_rates(**{"claims-check": "3/min"})):
        api = api_for("billing")
        codes = [api.post("/api/v1/claims/check", contract_claim(), format="json").status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        response = api.post(f"/api/v1/claims/{world.claims_a[0].pk}/check/")
        assert response.status_code == 429  # the same budget covers checks of stored drafts
        assert int(response["Retry-After"]) > 0
        assert "throttled" in response.json()["detail"].lower()
        # per user: another user still has their budget; reads are not counted
        assert api_for("other_billing").post("/api/v1/claims/check", contract_claim(), format="json").status_code == 200
        assert api.get("/api/v1/claims/").status_code == 200
    record_figures("throttle", {"rate": "3/min", "answers": codes})


class _PublicView(APIView):
    """A public endpoint (the project has none left: the schema needs a login), for the anonymous throttle."""

    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("public/", _PublicView.as_view()), path("", include("config.urls"))]


@pytest.mark.urls("tests.security.test_api_security")
def test_anonymous_rate_throttles_with_429(world):
    with override_settings(CACHES=LOCMEM, REST_FRAMEWORK=_rates(anon="2/min")):
        from rest_framework.throttling import AnonRateThrottle

        # DRF binds THROTTLE_RATES at import: give the anonymous throttle the low rate for this test
        original = AnonRateThrottle.THROTTLE_RATES
        AnonRateThrottle.THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES
        try:
            # a public endpoint (protected ones answer 401 before any throttle is consulted)
            codes = [APIClient().get("/public/").status_code for _ in range(4)]
        finally:
            AnonRateThrottle.THROTTLE_RATES = original
    assert codes == [200, 200, 429, 429]


# -- schema ----------------------------------------------------------------------------------------------------


def test_openapi_schema_is_served_and_valid_without_warnings(world, tmp_path):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens['billing']}")
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/claims/check" in paths and "/api/v1/claims/{id}/" in paths
    assert {"tokenAuth", "cookieAuth"} <= set(response.json()["components"]["securitySchemes"])
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))
