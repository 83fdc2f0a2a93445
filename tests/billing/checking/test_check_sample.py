"""The check gives, word for word, the results it gave before the checker was made faster (issue 18).

tests/data/check_sample/claims.csv: 33 claims of bench/gen_claims.py (seed 1; 3,000 generated, those that between
them bring out every rule, severity and status the 3,000 did, and the first 24), as a batch upload has them.
results.json: each claim's result from the pure engine over the tests' in-memory coding and payer rules
(tests/billing/claimcheck_data.py), written by the code before the speed-ups (commit 0a7cebf). Any change of a
status, a finding, its order or a word of its message fails here; change results.json only with a change of the
results that is meant. bench/check_same.py compares all 3,000 claims, through the chunks as well.
"""

from __future__ import annotations

import json

import pytest

from billing.checking.claim import ClaimInputError
from billing.uploads import reading, workfile
from billing.uploads.payloads import claim_payload
from tests.billing.claimcheck_data import run
from tests.testdata import DATA

SAMPLE = DATA / "check_sample"


def sample_claims():
    with open(SAMPLE / "claims.csv", "rb") as fh:
        return workfile.group_claims(reading.read_rows(fh, "claims.csv"))


EXPECTED = json.loads((SAMPLE / "results.json").read_text(encoding="utf-8"))


def result_of(claim) -> dict:
    """As bench/check_same.py writes it: the result, the payload's errors, or the claim's input errors."""
    payload, errors = claim_payload(claim)
    if errors:
        return {"errors": errors}
    try:
        return run(payload).to_dict()
    except ClaimInputError as exc:
        return {"input": exc.errors}


def test_the_sample_is_the_committed_one():
    claims = sample_claims()
    assert [c.ref for c in claims] == [e["claim_ref"] for e in EXPECTED]
    rules = {f["rule"] for e in EXPECTED for f in e["result"].get("findings", ())}
    assert len(claims) == 33 and len(rules) >= 12  # many rules, not one kind of claim


@pytest.mark.parametrize("index", range(len(EXPECTED)), ids=[e["claim_ref"] for e in EXPECTED])
def test_each_claim_gives_the_same_result(index):
    claim = sample_claims()[index]
    # through JSON, as stored (dates as text, tuples as lists)
    assert json.loads(json.dumps(result_of(claim), default=str)) == EXPECTED[index]["result"]
