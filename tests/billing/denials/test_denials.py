"""Denials: the 835 denying the claim without its trial number shows mapped to PAYER_REQUIRES_TRIAL_NUMBER,
caught before; the NCCI denial to NCCI_PTP_CONFLICT; posting twice changes nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from billing.denials.summary import PaymentFacts, rule_for, summarise
from billing.x12.importing import import_835, import_837
from tests.billing.x12.x12_data import DATA, ROUND_TRIP_837, load_ptp, x12_practice

pytestmark = pytest.mark.django_db
REMIT_835 = DATA / "835_mild_denial.txt"


def _summary():
    out = io.StringIO()
    call_command("denial_summary", "--practice", "demo", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_denial_summary_maps_and_says_caught_before(defaults_db, tmp_path):
    practice = x12_practice()
    load_ptp(tmp_path)
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    import_835(open(REMIT_835, encoding="latin-1"), practice)  # noqa: SIM115
    rows = _summary()
    trial = next(r for r in rows if r["carc"] == "16")
    assert {k: trial[k] for k in ("payer", "carc", "rarc", "code", "count", "amount", "rule", "caught_before")} == {
        "payer": "medicare",
        "carc": "16",
        "rarc": ["MA50"],
        "code": "0275T",
        "count": 1,
        "amount": "9500.00",
        "rule": "PAYER_REQUIRES_TRIAL_NUMBER",
        "caught_before": True,
    }
    ncci = next(r for r in rows if r["carc"] == "97")
    assert (ncci["code"], ncci["rule"], ncci["caught_before"], ncci["rarc"]) == (
        "77003",
        "NCCI_PTP_CONFLICT",
        True,
        ["M80"],
    )
    assert not any(r["carc"] == "45" for r in rows)  # a contractual write-down is not a denial
    # the same 835 again: the summary is unchanged
    import_835(open(REMIT_835, encoding="latin-1"), practice)  # noqa: SIM115
    assert _summary() == rows


def _facts(**kw):
    base = {"payer": "bcbs", "month": "2026-03", "claim_ref": "A", "claim_codes": ["64483"], "adjustments": [],
            "remarks": [], "lines": [], "check_rules": set()}  # fmt: skip
    return PaymentFacts(**{**base, **kw})


def test_rule_mapping_prefers_the_rarc_and_what_the_check_found():
    assert rule_for("16", ["MA50"], set()) == "PAYER_REQUIRES_TRIAL_NUMBER"
    assert rule_for("16", [], set()) is None  # CO-16 alone says too little
    assert rule_for("197", [], set()) == "PAYER_REQUIRES_PRIOR_AUTH"
    assert rule_for("4", [], {"MODIFIER_NOT_APPLICABLE"}) == "MODIFIER_NOT_APPLICABLE"
    assert rule_for("4", [], set()) == "PAYER_REQUIRES_MODIFIER"


def test_rate_and_not_caught():
    line = {"code": "64483", "adjustments": [{"group": "CO", "carc": "197", "amount": "1200.00"}], "remarks": []}
    paid = {"code": "64483", "adjustments": [{"group": "CO", "carc": "45", "amount": "100.00"}], "remarks": []}
    rows = summarise(
        [_facts(claim_ref="A", lines=[line]), _facts(claim_ref="B", lines=[paid]), _facts(claim_ref="C", lines=[paid])],
        by_month=True,
    )
    assert len(rows) == 1
    row = rows[0]
    assert (row["carc"], row["rule"], row["caught_before"], row["count"], row["rate"], row["month"]) == (
        "197", "PAYER_REQUIRES_PRIOR_AUTH", False, 1, round(1 / 3, 4), "2026-03"
    )  # fmt: skip
    assert row["claims"] == ["A"]


def test_denial_report_page_and_workbook(defaults_db, client, tmp_path):
    from django.contrib.auth import get_user_model
    from openpyxl import load_workbook

    practice = x12_practice()
    load_ptp(tmp_path)
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    import_835(open(REMIT_835, encoding="latin-1"), practice)  # noqa: SIM115
    from billing.denials.adjustment_codes import load_code_lists

    load_code_lists()
    users = get_user_model().objects
    client.force_login(users.get(username="billing"))
    assert client.get("/billing/denials/").status_code == 403  # billing staff: no report permission
    client.force_login(users.get(username="manager"))
    page = client.get("/billing/denials/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "PAYER_REQUIRES_TRIAL_NUMBER" in text and "CO-16" in text and "MA50" in text
    download = client.get("/billing/denials/?format=xlsx")
    assert download.status_code == 200
    wb = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    rows = [[c.value for c in row] for row in wb["Denials"].iter_rows(min_row=4)]
    trial = next(r for r in rows if r[2] == "16")
    assert trial[0] == "medicare" and trial[4] == "MA50" and trial[6] == "0275T" and trial[7] == "2026-03"
    assert trial[8] == 1 and trial[9] == 9500 and trial[11] == "PAYER_REQUIRES_TRIAL_NUMBER" and trial[12] == "yes"
    assert "clinical-trial" in trial[5]
    listing = client.get("/admin/billing/claimpayment/?matched=no")
    assert listing.status_code == 200 and "OTHER-0099" in listing.content.decode()
    assert "MILD-0001" not in listing.content.decode()


BCBS_835 = """ISA*00*          *00*          *ZZ*BCBS           *ZZ*DEMOSUBMIT     *260501*0900*^*00501*000000888*0*T*:~
GS*HP*BCBS*DEMOSUBMIT*20260501*0900*888*X*005010X221A1~
ST*835*0001~
BPR*H*0*C*NON************20260501~
TRN*1*BCBS0000888*1999999999~
N1*PR*BLUE PLAN~
REF*2U*00510~
PER*BL*PROVIDER SERVICES*TE*8005550199~
N1*PE*DEMO SPINE AND PAIN CENTER*XX*1000000004~
LX*1~
CLP*ESI-0100*4*1200*0*0*BL*BC26050100*24*1~
NM1*QC*1*PERSON*SOME~
SVC*HC:64483*1200*0**1~
DTM*472*20260402~
CAS*CO*197*1200~
REF*6R*ESI-0100-1~
SE*15*0001~
GE*1*888~
IEA*1*000000888~
"""


def test_unforeseen_denial_becomes_a_proposal_accepted_as_an_audited_rule(defaults_db):
    from billing.claims.checker import Checker
    from billing.denials.rule_proposals import accept
    from billing.models import DraftClaim, ProposedPayerRule
    from practice.models import PayerRule

    practice = x12_practice()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="manager")
    text = ROUND_TRIP_837.read_text()
    bcbs = (
        text.replace("PI*10112~\nCLM*ESI-0003", "PI*00510~\nCLM*ESI-0100")
        .replace("20260302", "20260402")
        .replace("ESI-0003", "ESI-0100")
    )
    import_837(io.StringIO(bcbs), practice)
    claim = DraftClaim.objects.get(practice=practice, reference="ESI-0100")
    assert claim.payer.key == "commercial-bcbs"
    import_835(io.StringIO(BCBS_835), practice)
    (proposal,) = ProposedPayerRule.objects.filter(practice=practice)
    assert (proposal.payer.key, proposal.code, proposal.kind, proposal.changes) == (
        "commercial-bcbs", "64483", "prior-auth", {"prior_auth_required": True}
    )  # fmt: skip
    assert proposal.evidence == [
        {"claim_ref": "ESI-0100", "date_of_service": "2026-04-02", "group": "CO", "carc": "197", "rarc": [],
         "amount": "1200.00"}
    ]  # fmt: skip
    # the same 835 again: no new evidence, no second proposal
    import_835(io.StringIO(BCBS_835), practice)
    assert ProposedPayerRule.objects.filter(practice=practice).count() == 1
    rule = accept(proposal, user)
    assert (rule.practice_id, rule.payer.key, rule.codes, rule.prior_auth_required) == (
        practice.pk, "commercial-bcbs", ["64483"], True
    )  # fmt: skip
    assert str(rule.effective_from) == "2026-04-02"
    history = PayerRule.history.filter(id=rule.pk).first()
    assert history.history_user == user and "ESI-0100" in history.history_change_reason
    # the checker now says it before the next claim goes out
    result = Checker.create().check(
        {"payer": "commercial-bcbs", "place_of_service": "24", "date_of_service": "2026-04-10",
         "diagnoses": ["M54.16"], "lines": [{"code": "64483", "diagnosis_pointers": [1]}]},
        practice.pk,
    )  # fmt: skip
    assert "PAYER_REQUIRES_PRIOR_AUTH" in {f["rule"] for f in result["findings"]}


def test_denial_summary_since_and_refusals(defaults_db):
    from django.core.management import CommandError

    practice = x12_practice()
    import_837(open(ROUND_TRIP_837, encoding="latin-1"), practice)  # noqa: SIM115
    import_835(open(REMIT_835, encoding="latin-1"), practice)  # noqa: SIM115
    out = io.StringIO()
    call_command("denial_summary", "--practice", "demo", "--since", "2026-03-03", stdout=out)
    assert out.getvalue() == ""  # every denial is for 2026-03-02
    out = io.StringIO()
    call_command("denial_summary", "--practice", "demo", "--since", "2026-03-02", stdout=out)
    assert len(out.getvalue().splitlines()) == 2
    with pytest.raises(CommandError, match="--since") as refused:
        call_command("denial_summary", "--practice", "demo", "--since", "March")
    assert refused.value.returncode == 2
    with pytest.raises(CommandError, match="no practice"):
        call_command("denial_summary", "--practice", "nowhere")


def test_manager_accepts_and_rejects_proposals_in_the_admin(defaults_db, client):
    from django.contrib.auth import get_user_model

    from billing.models import ProposedPayerRule
    from practice.models import PayerRule

    practice = x12_practice()
    text = ROUND_TRIP_837.read_text()
    bcbs = (
        text.replace("PI*10112~\nCLM*ESI-0003", "PI*00510~\nCLM*ESI-0100")
        .replace("20260302", "20260402")
        .replace("ESI-0003", "ESI-0100")
    )
    import_837(io.StringIO(bcbs), practice)
    import_835(io.StringIO(BCBS_835), practice)
    proposal = ProposedPayerRule.objects.get(practice=practice)
    users = get_user_model().objects
    client.force_login(users.get(username="billing"))
    assert client.get("/admin/billing/proposedpayerrule/").status_code == 403  # billing staff do not decide
    client.force_login(users.get(username="manager"))
    listing = client.get("/admin/billing/proposedpayerrule/")
    assert listing.status_code == 200 and "ESI-0100 2026-04-02 CO-197" in listing.content.decode()
    answer = client.post(
        "/admin/billing/proposedpayerrule/",
        {"action": "accept_selected", "_selected_action": [proposal.pk]},
        follow=True,
    )
    assert "rule denials-64483-prior-auth version 1 written" in answer.content.decode()
    proposal.refresh_from_db()
    assert proposal.status == "accepted" and proposal.decided_by.username == "manager"
    assert PayerRule.objects.get(pk=proposal.rule_id).prior_auth_required
    # a decided proposal is not decided again
    client.post("/admin/billing/proposedpayerrule/", {"action": "reject_selected", "_selected_action": [proposal.pk]})
    proposal.refresh_from_db()
    assert proposal.status == "accepted"
