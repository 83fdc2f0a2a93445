"""POST /api/v1/claims/check and check_claims on the real default data: the contract's examples, bad input."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from billing.models import ClaimCheck, Finding
from codes import snapshot as k
from codes.loading import load_files
from tests.testdata import CMS, required_file
from tests.testdata import EXAMPLES as EXAMPLES_DIR

pytestmark = pytest.mark.django_db

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.json"))
REQUIRES = {
    "ncci-ptp-practitioner": k.PTP_PRACTITIONER,
    "mue-practitioner": k.MUE_PRACTITIONER,
}


@pytest.fixture
def billing_client(defaults_db) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.get(username="billing"))
    return client


def _load_requirements(example: dict) -> None:
    for requirement in example.get("requires", []):
        kind, path = required_file(requirement)
        load_files(REQUIRES.get(kind, kind), [path])


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_contract_example_through_the_api(path, billing_client):
    example = json.loads(path.read_text())
    _load_requirements(example)
    response = billing_client.post("/api/v1/claims/check", example["claim"], format="json")
    assert response.status_code == 200, response.content
    result = response.json()
    rules = {f["rule"] for f in result["findings"]}
    expect = example["expect"]
    assert set(expect["must"]) <= rules, result["findings"]
    assert not set(expect["must_not"]) & rules, result["findings"]
    if "status" in expect:
        assert result["status"] == expect["status"], result["findings"]
    assert result["date_of_service"] == example["claim"]["date_of_service"]
    for finding in result["findings"]:
        assert finding["reference"], finding
        assert finding["severity"] in ("error", "warning", "info")
    # the check is kept with its findings and the releases that answered
    check = ClaimCheck.objects.latest("id")
    assert check.status == result["status"] and check.source == "api"
    assert Finding.objects.filter(check_run=check).count() == len(result["findings"])
    assert check.coding == result["coding"]


def test_clean_claim_names_the_releases_used(billing_client):
    claim = json.loads(EXAMPLES[0].read_text())["claim"]
    result = billing_client.post("/api/v1/claims/check", claim, format="json").json()
    kinds = {c["kind"] for c in result["coding"]}
    assert {"icd10cm", "procedure-summaries", "modifiers", "pos"} <= kinds
    icd = next(c for c in result["coding"] if c["kind"] == "icd10cm")
    assert (icd["effective_from"], icd["effective_to"]) == ("2026-04-01", "2026-09-30")


BAD_INPUTS = [
    ("missing payer", lambda c: c.pop("payer"), "payer"),
    ("wrong type", lambda c: c["lines"][0].update(units="two"), "lines[0].units"),
    ("13 diagnoses", lambda c: c.update(diagnoses=["M48.062"] * 13), "diagnoses"),
    ("5 modifiers", lambda c: c["lines"][0].update(modifiers=["Q0", "59", "XS", "LT", "RT"]), "lines[0].modifiers"),
    ("bad date", lambda c: c.update(date_of_service="2026-13-01"), "date_of_service"),
    ("no lines", lambda c: c.update(lines=[]), "lines"),
]


@pytest.mark.parametrize(("label", "mutate", "field"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_400_with_the_field_and_nothing_stored(label, mutate, field, billing_client):
    claim = json.loads(EXAMPLES[0].read_text())["claim"]
    mutate(claim)
    response = billing_client.post("/api/v1/claims/check", claim, format="json")
    assert response.status_code == 400
    assert any(key.startswith(field) for key in response.json()), response.json()
    assert not ClaimCheck.objects.exists()


def test_malformed_json_is_400(billing_client):
    response = billing_client.post("/api/v1/claims/check", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert not ClaimCheck.objects.exists()


def test_queries_per_check_do_not_grow_with_the_claim(billing_client, django_assert_max_num_queries):
    load_files(k.PTP_PRACTITIONER, [CMS / "ccipra-v322r0-f1_excerpt.txt"])
    base = json.loads(EXAMPLES[0].read_text())["claim"]

    def claim_of(lines: int) -> dict:
        return {
            **base,
            "lines": [{**base["lines"][0], "code": c} for c in ["0275T", "0001U", "0030U", "G0276"][:lines]],
        }

    # warm the release caches: each release's rows are read once per process (the PFS 2025 starter release too)
    billing_client.post("/api/v1/claims/check", claim_of(4), format="json")

    def count(lines: int) -> int:
        claim = claim_of(lines)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert billing_client.post("/api/v1/claims/check", claim, format="json").status_code == 200
        return len(ctx.captured_queries)

    # one indexed PTP query once a claim has two codes; nothing more per line after that
    one, two, four = count(1), count(2), count(4)
    assert one <= two <= 10
    # the four codes' pairs were asked by the warm-up claim: kept by the release, no PTP query this time
    assert four == two - 1
    assert count(2) == two - 1  # and the two codes' pairs now too


def test_check_claims_command_prints_results_in_order(defaults_db, tmp_path):
    claims = [json.loads(p.read_text())["claim"] for p in EXAMPLES[:3]]
    path = tmp_path / "claims.json"
    path.write_text(json.dumps(claims))
    out = StringIO()
    call_command("check_claims", str(path), "--practice", "demo", stdout=out)
    results = json.loads(out.getvalue())
    assert [r["status"] for r in results] == ["clean", "error", "error"]


def test_check_claims_command_exit_2_on_malformed_input(defaults_db, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"payer": "medicare", "lines": "none"}))
    with pytest.raises(CommandError) as exc:
        call_command("check_claims", str(path), stdout=StringIO())
    assert exc.value.returncode == 2
    assert "lines" in str(exc.value) or "date_of_service" in str(exc.value)
    path.write_text("[{")
    with pytest.raises(CommandError) as exc:
        call_command("check_claims", str(path), stdout=StringIO())
    assert exc.value.returncode == 2 and "line 1" in str(exc.value)


def test_code_lookup_endpoint(billing_client):
    answer = billing_client.get("/api/v1/codes/icd10cm/M48.06?on=2026-05-04").json()
    assert answer["found"] and answer["in_effect"] and answer["billable"] is False
    answer = billing_client.get("/api/v1/codes/procedure/72275?on=2026-03-02").json()
    assert answer["found"] and not answer["in_effect"]
    assert billing_client.get("/api/v1/codes/icd10cm/M48.06?on=bad").status_code == 400
    assert billing_client.get("/api/v1/codes/nonsense/X").status_code == 400


def test_anonymous_is_refused(defaults_db):
    client = APIClient()
    claim = json.loads(EXAMPLES[0].read_text())["claim"]
    assert client.post("/api/v1/claims/check", claim, format="json").status_code in (401, 403)
    assert client.get("/api/v1/codes/icd10cm/M48.06").status_code in (401, 403)


def test_manager_cannot_check_claims(defaults_db):
    client = APIClient()
    client.force_authenticate(User.objects.get(username="manager"))
    claim = json.loads(EXAMPLES[0].read_text())["claim"]
    assert client.post("/api/v1/claims/check", claim, format="json").status_code == 403
