"""The API schema describes every field of the contract's claim and result: no free-form object anywhere in them,
every key the examples' claims and the checker's results carry is named, and the endpoints point at them."""

import json
from datetime import date

import pytest
from drf_spectacular.generators import SchemaGenerator

from billing.checking.findings import CheckResult, Finding
from codes.snapshot import ReleaseRef
from tests.testdata import EXAMPLES as EXAMPLES_DIR

CONTRACT = ["ClaimInput", "ClaimLineInput", "PatientInput", "CheckResultOutput", "FindingOutput", "CodingEntry"]


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def free_form(node, where: str) -> list[str]:
    """Places in a schema node that say nothing about their content (a bare object, an untyped value)."""
    if "$ref" in node or "enum" in node:
        return []
    if "allOf" in node:
        return [p for i, sub in enumerate(node["allOf"]) for p in free_form(sub, f"{where}.allOf[{i}]")]
    kind = node.get("type")
    if kind is None:
        return [where]
    if kind == "array":
        return free_form(node.get("items", {}), f"{where}[]")
    if kind == "object":
        if node.get("properties"):
            return [p for name, sub in node["properties"].items() for p in free_form(sub, f"{where}.{name}")]
        extra = node.get("additionalProperties")
        return free_form(extra, f"{where}.*") if isinstance(extra, dict) and extra else [where]
    return []


def test_the_contract_components_have_no_free_form_field(schema):
    components = schema["components"]["schemas"]
    loose = [p for name in CONTRACT for p in free_form(components[name], name)]
    assert loose == []


def test_every_key_of_the_examples_claims_is_described(schema):
    components = schema["components"]["schemas"]
    claim_fields = set(components["ClaimInput"]["properties"])
    line_fields = set(components["ClaimLineInput"]["properties"])
    examples = [json.loads(p.read_text())["claim"] for p in sorted(EXAMPLES_DIR.glob("*.json"))]
    assert examples
    for claim in examples:
        if not isinstance(claim, dict):
            continue
        assert set(claim) <= claim_fields | {"location", "patient"}, set(claim) - claim_fields
        for line in claim.get("lines") or []:
            if isinstance(line, dict):
                assert set(line) <= line_fields, set(line) - line_fields
    assert {"location", "patient"} <= claim_fields  # the contract's optional fields
    assert components["ClaimInput"]["properties"]["lines"]["items"] == {"$ref": "#/components/schemas/ClaimLineInput"}


def test_every_key_of_a_result_is_described(schema):
    components = schema["components"]["schemas"]
    coding = ReleaseRef(1, "ncci-ptp-practitioner", "NCCI PTP 2026 Q1", date(2026, 1, 1), date(2026, 3, 31))
    finding = Finding("NCCI_PTP_CONFLICT", "error", "conflict", 2, ("0275T", "77003"), "NCCI 2026 Q1", "use 59")
    result = CheckResult(date(2026, 3, 2), (coding.as_coding(),), (finding,)).to_dict()
    assert set(result) == set(components["CheckResultOutput"]["properties"])
    assert set(result["findings"][0]) == set(components["FindingOutput"]["properties"])
    assert set(result["coding"][0]) == set(components["CodingEntry"]["properties"])


def test_the_endpoints_point_at_the_claim_and_the_result(schema):
    def ref(name):
        return {"$ref": f"#/components/schemas/{name}"}

    check = schema["paths"]["/api/v1/claims/check"]["post"]
    assert check["requestBody"]["content"]["application/json"]["schema"] == ref("ClaimInput")
    assert check["responses"]["200"]["content"]["application/json"]["schema"] == ref("CheckResultOutput")
    errors = check["responses"]["400"]["content"]["application/json"]["schema"]
    assert errors["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
    draft_check = next(p for path, p in schema["paths"].items() if path.endswith("/check/"))["post"]
    assert draft_check["responses"]["200"]["content"]["application/json"]["schema"] == ref("CheckResultOutput")
    stored = schema["components"]["schemas"]["ClaimCheck"]["properties"]
    assert stored["result"].get("allOf", [stored["result"]])[0] == ref("CheckResultOutput")
    assert stored["coding"]["items"] == ref("CodingEntry")
