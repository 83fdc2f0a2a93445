"""The audit trail, viewable in the admin: who checked a claim and when, who uploaded a batch and when, who changed a
payer rule, when and why."""

from __future__ import annotations

from billing.models import BatchUpload, ClaimCheck
from practice.models import PayerRule
from tests.security.forms import form_data
from tests.security.helpers import contract_claim


def test_claim_checks_record_who_and_when_and_the_admin_shows_it(world, api_for, web_for):
    response = api_for("billing").post("/api/v1/claims/check", contract_claim(), format="json")
    assert response.status_code == 200
    check = ClaimCheck.objects.order_by("-id").first()
    assert check.checked_by == world.users["billing"] and check.checked_at is not None and check.source == "api"
    web_for("billing").post(f"/admin/billing/draftclaim/{world.claims_a[1].pk}/check/")
    admin_check = ClaimCheck.objects.filter(claim=world.claims_a[1]).order_by("-id").first()
    assert admin_check.checked_by == world.users["billing"] and admin_check.source == "admin"

    page = web_for("superuser").get("/admin/billing/claimcheck/")
    assert page.status_code == 200
    assert "checked_by" in page.context["cl"].list_display and "checked_at" in page.context["cl"].list_display
    html = page.content.decode()
    assert "billing" in html and "other_billing" in html  # the superuser sees every practice's checks
    detail = web_for("manager").get(f"/admin/billing/claimcheck/{check.pk}/change/")
    assert detail.status_code == 200 and "billing" in detail.content.decode()
    # another practice's staff do not see practice A's trail
    listed = web_for("other_billing").get("/admin/billing/claimcheck/").context["cl"].result_list
    assert {c.practice_id for c in listed} == {world.b.pk}


def test_uploads_record_who_and_when_and_the_admin_shows_it(world, web_for):
    page = web_for("billing").get("/admin/billing/batchupload/")
    assert page.status_code == 200
    rows = list(page.context["cl"].result_list)
    assert rows == [world.upload_a]
    assert rows[0].created_by == world.users["billing"] and rows[0].created_at is not None
    assert "created_by" in page.context["cl"].list_display and "created_at" in page.context["cl"].list_display
    assert world.users["billing"].username in page.content.decode()
    everything = web_for("superuser").get("/admin/billing/batchupload/").context["cl"].result_list
    assert set(everything) == set(BatchUpload.objects.all())


def test_rule_changes_record_who_when_and_why_and_the_history_shows_it(world, web_for):
    web = web_for("codeset_admin")
    rule = world.rule_a
    url = f"/admin/practice/payerrule/{rule.pk}/change/"
    form = form_data(web.get(url).content, "payerrule_form")
    response = web.post(url, {**form, "notes": "checked against the 2026 policy", "change_reason": "annual review"})
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    latest = PayerRule.history.filter(id=rule.pk).order_by("-history_id").first()
    assert latest.history_user == world.users["codeset_admin"]
    assert latest.history_change_reason == "annual review" and latest.history_date is not None
    history = web.get(f"/admin/practice/payerrule/{rule.pk}/history/")
    assert history.status_code == 200
    html = history.content.decode()
    assert "codeset_admin" in html and "annual review" in html
    # billing staff read the history of the rules they may see; another practice's staff cannot
    assert web_for("billing").get(f"/admin/practice/payerrule/{rule.pk}/history/").status_code == 200
    assert web_for("other_billing").get(f"/admin/practice/payerrule/{rule.pk}/history/").status_code == 404
    version = f"/admin/practice/payerrule/{rule.pk}/history/{latest.history_id}/"
    assert web_for("other_billing").get(version).status_code == 404
    assert web_for("billing").get(version).status_code == 200
