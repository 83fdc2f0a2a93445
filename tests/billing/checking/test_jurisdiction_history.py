"""Issue 16 on the real default data (load_defaults --demo): the same claim judged by place (WISeR in Texas, not
Alabama), add-on codes without their primary, and frequency limits counted from the patient's history."""

import copy
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.checking.claim import ClaimInputError
from billing.claims.checker import Checker
from billing.claims.checks import check_payload
from billing.models import ClaimCheck
from practice.models import Location, Practice

pytestmark = pytest.mark.django_db

ESI = {
    "payer": "medicare",
    "claim_type": "professional",
    "place_of_service": "24",
    "date_of_service": "2026-02-10",
    "rendering_npi": "1234567893",
    "diagnoses": ["M54.16"],
    "prior_authorization_number": None,
    "lines": [{"code": "62323", "units": 1, "diagnosis_pointers": [1], "charge": "850.00"}],
}


def claim(**changes) -> dict:
    out = copy.deepcopy(ESI)
    lines = changes.pop("lines", None)
    out.update(changes)
    if lines is not None:
        out["lines"] = [{"units": 1, "diagnosis_pointers": [1], **line} for line in lines]
    return out


def rules(result: dict, rule: str) -> list[dict]:
    return [f for f in result["findings"] if f["rule"] == rule]


@pytest.fixture
def demo(defaults_db) -> Practice:
    return Practice.objects.get(key="demo")


def test_demo_locations_come_from_the_zip_crosswalk(demo):
    tx = Location.objects.get(practice=demo, key="tx-asc")
    al = Location.objects.get(practice=demo, key="al-asc")
    assert (tx.zip_code, tx.mac, tx.locality, tx.state, tx.place_of_service) == ("75201", "04412", "11", "TX", "24")
    assert (al.mac, al.locality, al.state, al.is_main) == ("10112", "00", "AL", True)


def test_wiser_prior_auth_in_texas_not_in_alabama(demo):
    checker = Checker.create()
    texas = checker.check(claim(location="tx-asc"), demo.pk)
    (finding,) = rules(texas, "PAYER_REQUIRES_PRIOR_AUTH")
    assert finding["severity"] == "error" and finding["codes"] == ["62323"]
    assert "only in states AZ, NJ, OH, OK, TX, WA" in finding["reference"] and "WISeR" in finding["reference"]
    assert texas["status"] == "error"
    assert not rules(checker.check(claim(location="al-asc"), demo.pk), "PAYER_REQUIRES_PRIOR_AUTH")
    assert not rules(checker.check(claim(), demo.pk), "PAYER_REQUIRES_PRIOR_AUTH")  # main location: Alabama
    # with an authorisation number, or before the model began, or for Medicare Advantage: nothing
    authorised = checker.check(claim(location="tx-asc", prior_authorization_number="WSR123"), demo.pk)
    assert not rules(authorised, "PAYER_REQUIRES_PRIOR_AUTH")
    assert not rules(
        checker.check(claim(location="tx-asc", date_of_service="2025-12-31"), demo.pk), "PAYER_REQUIRES_PRIOR_AUTH"
    )
    assert not rules(
        checker.check(claim(location="tx-asc", payer="medicare-advantage"), demo.pk), "PAYER_REQUIRES_PRIOR_AUTH"
    )


def test_wiser_pild_is_unverified_so_a_warning_and_on_hold_from_april_2026(demo):
    checker = Checker.create()
    mild = [{"code": "0275T", "modifiers": ["Q0"]}]
    february = checker.check(claim(location="tx-asc", lines=mild, diagnoses=["M48.062", "Z00.6"]), demo.pk)
    (finding,) = rules(february, "PAYER_REQUIRES_PRIOR_AUTH")
    assert finding["severity"] == "warning" and "unverified" in finding["message"]
    may = checker.check(claim(location="tx-asc", date_of_service="2026-05-04", lines=mild), demo.pk)
    assert not rules(may, "PAYER_REQUIRES_PRIOR_AUTH")


def test_an_unknown_location_is_an_input_error_naming_the_field(demo):
    with pytest.raises(ClaimInputError) as caught:
        Checker.create().check(claim(location="nowhere"), demo.pk)
    assert "location" in caught.value.errors and "al-asc, tx-asc" in caught.value.errors["location"]


def test_addon_without_its_primary(demo):
    checker = Checker.create()
    alone = checker.check(claim(lines=[{"code": "64484"}]), demo.pk)
    (finding,) = rules(alone, "ADDON_WITHOUT_PRIMARY")
    assert finding["severity"] == "error" and finding["line"] == 1 and finding["codes"] == ["64484", "64483"]
    assert "add-on code 64484, type 1" in finding["reference"]
    assert not rules(
        checker.check(claim(lines=[{"code": "64483"}, {"code": "64484"}]), demo.pk), "ADDON_WITHOUT_PRIMARY"
    )
    (cervical,) = rules(
        checker.check(claim(lines=[{"code": "64480"}, {"code": "64483"}]), demo.pk), "ADDON_WITHOUT_PRIMARY"
    )
    assert cervical["codes"] == ["64480", "64479"]
    # 64492 may follow 64490 or 64491; but 64491 is itself an add-on of 64490
    three = claim(lines=[{"code": "64490"}, {"code": "64491"}, {"code": "64492"}])
    assert not rules(checker.check(three, demo.pk), "ADDON_WITHOUT_PRIMARY")
    two = checker.check(claim(lines=[{"code": "64491"}, {"code": "64492"}]), demo.pk)
    assert [(f["line"], f["codes"]) for f in rules(two, "ADDON_WITHOUT_PRIMARY")] == [(1, ["64491", "64490"])]
    # a primary on another date does not count
    split = claim(lines=[{"code": "64483"}, {"code": "64484", "date_of_service": "2026-02-11"}])
    assert [f["line"] for f in rules(checker.check(split, demo.pk), "ADDON_WITHOUT_PRIMARY")] == [2]


FIVE_DATES = ["2025-04-01", "2025-06-02", "2025-08-04", "2025-11-03", "2026-02-10"]


def test_fifth_esi_session_in_twelve_months_names_the_earlier_four(demo):
    for on in FIVE_DATES[:4]:
        result, _ = check_payload(claim(date_of_service=on, patient={"account": "A-1001"}), demo.pk)
        assert not rules(result, "FREQUENCY_LIMIT")
    fifth, check = check_payload(claim(patient={"account": " a-1001 "}), demo.pk)
    (finding,) = rules(fifth, "FREQUENCY_LIMIT")
    assert finding["severity"] == "error" and finding["line"] == 1
    assert "2025-04-01, 2025-06-02, 2025-08-04 and 2025-11-03" in finding["message"]
    assert "lumbar/sacral" in finding["message"] and "4 sessions per 365 days" in finding["message"]
    # stored hashed with the practice's key: the account number is nowhere in the stored check
    assert check.patient_hash and len(check.patient_hash) == 64 and "1001" not in str(check.result)
    assert check.services == [{"on": "2026-02-10", "code": "62323", "modifiers": []}]
    # a cervical session is another region; a check of the same day again is the same session
    other_region = check_payload(claim(patient={"account": "A-1001"}, lines=[{"code": "62321"}]), demo.pk)[0]
    assert not rules(other_region, "FREQUENCY_LIMIT")
    # the same account number at another practice is another patient
    other = Practice.objects.create(key="other", name="Other Practice", npi="1000000004")
    assert not rules(check_payload(claim(patient={"account": "A-1001"}), other.pk)[0], "FREQUENCY_LIMIT")
    assert ClaimCheck.objects.filter(practice=other).get().patient_hash != check.patient_hash


def test_a_session_older_than_twelve_months_does_not_count(demo):
    for on in ["2025-02-10", *FIVE_DATES[1:4]]:  # 2025-02-10 is 365 days before 2026-02-10: outside the window
        check_payload(claim(date_of_service=on, patient={"account": "B-7"}), demo.pk)
    assert not rules(check_payload(claim(patient={"account": "B-7"}), demo.pk)[0], "FREQUENCY_LIMIT")


def test_earlier_claims_in_the_same_batch_count(demo):
    checker = Checker.create()
    results = [checker.check(claim(date_of_service=on, patient={"account": "C-3"}), demo.pk) for on in FIVE_DATES]
    assert [bool(rules(r, "FREQUENCY_LIMIT")) for r in results] == [False, False, False, False, True]
    assert not ClaimCheck.objects.filter(practice=demo).exists()  # counted from the batch, nothing stored


def test_rfa_sessions_are_counted_per_side(demo):
    checker = Checker.create()
    rfa = [("2025-05-05", "RT"), ("2025-09-08", "RT"), ("2026-01-12", "LT")]
    for on, side in rfa:
        checker.check(
            claim(date_of_service=on, patient={"account": "D-9"}, lines=[{"code": "64635", "modifiers": [side]}]),
            demo.pk,
        )
    right = checker.check(claim(patient={"account": "D-9"}, lines=[{"code": "64635", "modifiers": ["RT"]}]), demo.pk)
    (finding,) = rules(right, "FREQUENCY_LIMIT")
    assert "right side" in finding["message"] and "2025-05-05 and 2025-09-08" in finding["message"]
    left = checker.check(
        claim(date_of_service="2026-02-11", patient={"account": "D-9"}, lines=[{"code": "64635", "modifiers": ["LT"]}]),
        demo.pk,
    )
    assert not rules(left, "FREQUENCY_LIMIT")


def test_without_a_patient_key_frequency_is_said_once_not_checked(demo):
    result = Checker.create().check(claim(lines=[{"code": "64483"}, {"code": "64484"}]), demo.pk)
    (finding,) = rules(result, "FREQUENCY_NOT_CHECKED")
    assert finding["severity"] == "info" and finding["codes"] == ["64483", "64484"]
    assert not rules(result, "FREQUENCY_LIMIT")
    mild = Checker.create().check(claim(lines=[{"code": "99213"}]), demo.pk)
    assert not rules(mild, "FREQUENCY_NOT_CHECKED")  # no frequency rule for the code: nothing to say


def test_queries_per_check_do_not_grow_with_lines(demo):
    checker = Checker.create()
    checker.check(claim(patient={"account": "E-1"}), demo.pk)  # warm the per-process caches

    def count(lines):
        with CaptureQueriesContext(connection) as ctx:
            checker.check(claim(patient={"account": "E-1"}, lines=lines), demo.pk)
        return len(ctx.captured_queries)

    one = count([{"code": "62323"}])
    many = count([{"code": code} for code in ["62323", "64483", "64484", "64635", "64636", "64493", "64494", "64495"]])
    assert many == one <= 2


def test_a_prefetched_batch_reads_the_locations_once(demo, django_assert_num_queries):
    claims = [claim(location=key) for key in ("tx-asc", "al-asc", "tx-asc")]
    expected = [Checker.create().check(c, demo.pk) for c in claims]  # also reads the releases' rows once per process
    batch = Checker.create()
    batch.prefetch(claims)
    with django_assert_num_queries(0):
        results = [batch.check(c, demo.pk) for c in claims]
    assert results == expected
    assert [bool(rules(r, "PAYER_REQUIRES_PRIOR_AUTH")) for r in results] == [True, False, True]


def test_a_draft_claim_keeps_its_location(demo):
    from billing.claims.checks import check_drafts
    from practice.models import Payer
    from tests.factories import DraftClaimFactory

    draft = DraftClaimFactory(
        practice=demo,
        payer=Payer.objects.get(key="medicare"),
        date_of_service=date(2026, 2, 10),
        rendering_npi="1234567893",
        diagnoses=["M54.16"],
        location="tx-asc",
        lines=[{"code": "62323"}],
    )
    (check,) = check_drafts([draft])
    assert any(f["rule"] == "PAYER_REQUIRES_PRIOR_AUTH" for f in check.result["findings"])
    draft.location = "al-asc"
    draft.save()
    (check,) = check_drafts([draft])
    assert not any(f["rule"] == "PAYER_REQUIRES_PRIOR_AUTH" for f in check.result["findings"])
    draft.location = "gone"
    draft.save()
    (check,) = check_drafts([draft])
    assert [f["rule"] for f in check.result["findings"]] == ["CLAIM_INPUT_INVALID"]
    assert check.result["findings"][0]["message"].startswith("location: ")
