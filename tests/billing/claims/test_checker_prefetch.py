"""A batch's NCCI pairs read with one query (Checker.prefetch): the same results as claim by claim, and no query
left for the checks themselves."""

import copy
import json

import pytest

from billing.claims.checker import Checker
from codes import snapshot as k
from codes.loading import load_files
from practice.models import Practice
from tests.billing.upload_data import EXAMPLES_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture
def claims(defaults_db, cms_dir) -> list[dict]:
    load_files(k.PTP_PRACTITIONER, [cms_dir / "ccipra-v322r0-f1_excerpt.txt"])
    base = json.loads((EXAMPLES_DIR / "11-ptp-active-pair.json").read_text())["claim"]
    out = []
    pairs = [("0001U", "0030U"), ("0001U", "0029U"), ("0001U", "81105"), ("0001A", "99213"), ("0275T", "99213")]
    dates = ["2026-07-15", "2018-08-01", "2025-03-03", "2023-06-30"]
    for n in range(20):
        claim = copy.deepcopy(base)
        first, second = pairs[n % len(pairs)]
        claim["lines"][0]["code"], claim["lines"][1]["code"] = first, second
        claim["date_of_service"] = dates[n % len(dates)]
        if n % 3 == 0:
            claim["lines"][1]["modifiers"] = ["XS"]
        out.append(claim)
    return out


def test_prefetched_checks_give_the_same_results_without_a_query(claims, django_assert_num_queries):
    practice = Practice.objects.get(key="demo").pk
    one_by_one = Checker.create()
    expected = [one_by_one.check(claim, practice) for claim in claims]
    assert any(f["rule"] == "NCCI_PTP_CONFLICT" for r in expected for f in r["findings"])

    batch = Checker.create()
    batch.prefetch([*claims, {"lines": "not a list"}, "not a claim"])  # malformed ones are skipped
    with django_assert_num_queries(0):
        got = [batch.check(claim, practice) for claim in claims]
    assert got == expected


def test_a_claim_outside_the_prefetched_codes_still_asks_the_database(claims):
    practice = Practice.objects.get(key="demo").pk
    batch = Checker.create()
    batch.prefetch(claims[:1])
    other = copy.deepcopy(claims[1])
    expected = Checker.create().check(other, practice)
    assert batch.check(other, practice) == expected
