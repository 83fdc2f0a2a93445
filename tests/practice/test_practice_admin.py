"""The admin, driven through the Django test client as a superuser and as billing staff."""

from datetime import date

import pytest
from django.urls import reverse

from practice.defaults import load_defaults
from practice.models import Payer, PayerRule, Practice, PracticeMembership


@pytest.fixture
def admin_client_(client, superuser, no_codesets):
    load_defaults(demo=True)
    client.force_login(superuser)
    return client


def _rule(version=2, key="ncd-150-13", payer="medicare"):
    return PayerRule.objects.get(payer__key=payer, key=key, version=version)


def test_changelist_search_by_code(admin_client_):
    url = reverse("admin:practice_payerrule_changelist")
    response = admin_client_.get(url, {"q": "0275T"})
    assert response.status_code == 200
    shown = {r.pk for r in response.context["cl"].result_list}
    assert shown == set(PayerRule.objects.for_code("0275T").values_list("pk", flat=True))
    assert _rule().pk in shown and _rule(key="ncd-150-13-g0276").pk not in shown
    # "the Medicare rule for 0275T"
    response = admin_client_.get(url, {"q": "medicare 0275T", "in_force": "today", "scope": "global"})
    names = {(r.payer.key, r.version) for r in response.context["cl"].result_list}
    assert names == {("medicare", 2), ("medicare-advantage", 1)}
    content = response.content.decode()
    assert "Medicare NCD 150.13 (Pub 100-03 §150.13), version 2" in content


def test_changelist_filters(admin_client_):
    url = reverse("admin:practice_payerrule_changelist")
    medicare = Payer.objects.get(key="medicare")
    for params, expected in [
        # 4 mild® rule versions, and (issue 16) WISeR: ESI, PVA, 63655, PILD v1 and v2; LCDs: ESI, RFA, facet
        ({"payer__id__exact": medicare.pk}, 12),
        ({"coverage__exact": "investigational"}, 1),
        ({"certainty__exact": "likely"}, 6),
        ({"in_force": "today"}, 11),
        ({"in_force": "past"}, 3),
    ]:
        response = admin_client_.get(url, params)
        assert response.status_code == 200
        assert response.context["cl"].result_count == expected, params


def test_change_page_of_the_version_in_force(admin_client_):
    rule = _rule()
    response = admin_client_.get(reverse("admin:practice_payerrule_change", args=[rule.pk]))
    assert response.status_code == 200
    content = response.content.decode()
    assert "New version from date" in content
    assert "In force today" in content
    form = response.context["adminform"].form
    assert "codes" in form.fields and "change_reason" in form.fields
    assert form["required_diagnoses"].value() == "primary: M48.062 [likely]\nsecondary: Z00.6"
    assert "primary: M48.062 [likely]" in content and "secondary: Z00.6" in content


def _post_data(rule, **changes):
    data = {
        "name": rule.name,
        "effective_from": rule.effective_from.isoformat(),
        "effective_to": rule.effective_to.isoformat() if rule.effective_to else "",
        "codes": ", ".join(rule.codes),
        "coverage": rule.coverage,
        "certainty": rule.certainty,
        "not_covered_advice": rule.not_covered_advice,
        "required_modifiers": ", ".join(rule.required_modifiers),
        "required_diagnoses": "primary: M48.062 [likely]\nsecondary: Z00.6",
        "trial_number_required": "on",
        "approved_trials": ", ".join(rule.approved_trials),
        "allowed_places_of_service": ", ".join(rule.allowed_places_of_service),
        "place_of_service_severity": rule.place_of_service_severity,
        "reference": rule.reference,
        "reference_url": rule.reference_url,
        "notes": rule.notes,
        "change_reason": "Corrected the advice",
    }
    data.update(changes)
    return data


def test_edit_requires_a_reason_and_records_it(admin_client_, superuser):
    rule = _rule()
    url = reverse("admin:practice_payerrule_change", args=[rule.pk])
    response = admin_client_.post(url, _post_data(rule, change_reason="", not_covered_advice="x"))
    assert response.status_code == 200
    assert "change_reason" in response.context["adminform"].form.errors
    rule.refresh_from_db()
    assert rule.not_covered_advice != "x"

    response = admin_client_.post(url, _post_data(rule, not_covered_advice="ABN and GA, see NCD"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    latest = rule.history.first()
    assert latest.history_change_reason == "Corrected the advice"
    assert latest.history_user == superuser
    assert latest.not_covered_advice == "ABN and GA, see NCD"


def test_admin_shows_field_errors_for_bad_input(admin_client_):
    rule = _rule()
    url = reverse("admin:practice_payerrule_change", args=[rule.pk])
    response = admin_client_.post(
        url, _post_data(rule, approved_trials="NCT123", effective_from="2015-01-01", required_modifiers="Q0X")
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "NCT123" in errors["approved_trials"][0]
    assert "Overlaps version 1" in errors["effective_from"][0]
    assert "required_modifiers" in errors
    rule.refresh_from_db()
    assert rule.effective_from == date(2016, 12, 7)


def test_superseded_version_is_read_only(admin_client_):
    old = _rule(version=1)
    response = admin_client_.get(reverse("admin:practice_payerrule_change", args=[old.pk]))
    assert response.status_code == 200
    assert "Superseded" in response.content.decode()
    form_fields = set(response.context["adminform"].form.fields)
    assert "codes" not in form_fields and "effective_to" not in form_fields and "coverage" not in form_fields
    assert "notes" in form_fields
    assert admin_client_.get(reverse("admin:practice_payerrule_delete", args=[old.pk])).status_code == 403
    changelist = admin_client_.get(reverse("admin:practice_payerrule_changelist"))
    assert "delete_selected" not in changelist.context["action_form"].fields["action"].choices.__repr__()


def test_history_page(admin_client_):
    rule = _rule()
    response = admin_client_.get(reverse("admin:practice_payerrule_history", args=[rule.pk]))
    assert response.status_code == 200
    assert "Default data (load_defaults)" in response.content.decode()
    record = rule.history.first()
    url = reverse("admin:practice_payerrule_simple_history", args=[rule.pk, record.history_id])
    assert admin_client_.get(url).status_code == 200
    assert admin_client_.post(url, {}).status_code == 403  # no reverting a version from its past


def test_new_version_view(admin_client_, superuser):
    rule = _rule()
    url = reverse("admin:practice_payerrule_new_version", args=[rule.pk])
    response = admin_client_.get(url)
    assert response.status_code == 200
    assert "Create the new version" in response.content.decode()

    response = admin_client_.post(url, {"start": "2016-01-01", "reason": "too early"})
    assert response.status_code == 200
    assert "start" in response.context["form"].errors

    response = admin_client_.post(url, {"start": "2026-03-04", "reason": "NCD 150.13 modified 2026-03-04"})
    new = PayerRule.objects.get(payer__key="medicare", key="ncd-150-13", version=3)
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:practice_payerrule_change", args=[new.pk])
    rule.refresh_from_db()
    assert rule.effective_to == date(2026, 3, 3)
    closing = rule.history.first()
    assert closing.history_user == superuser and "NCD 150.13 modified" in closing.history_change_reason
    assert new.history.get().history_user == superuser


def test_new_version_action_redirects_to_the_view(admin_client_):
    rule = _rule()
    url = reverse("admin:practice_payerrule_changelist")
    response = admin_client_.post(url, {"action": "new_version_action", "_selected_action": [rule.pk]})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:practice_payerrule_new_version", args=[rule.pk])


def test_add_rule_page_and_other_pages_render(admin_client_):
    for name, args in [
        ("admin:practice_payerrule_add", []),
        ("admin:practice_payer_changelist", []),
        ("admin:practice_payer_change", [Payer.objects.get(key="medicare").pk]),
        ("admin:practice_payer_history", [Payer.objects.get(key="medicare").pk]),
        ("admin:practice_practice_changelist", []),
        ("admin:practice_practice_change", [Practice.objects.get(key="demo").pk]),
        ("admin:practice_procedureprofile_changelist", []),
    ]:
        assert admin_client_.get(reverse(name, args=args)).status_code == 200, name


def test_payer_edit_requires_reason(admin_client_):
    payer = Payer.objects.get(key="medicare-advantage")
    url = reverse("admin:practice_payer_change", args=[payer.pk])
    data = {
        "name": payer.name,
        "payer_type": payer.payer_type,
        "filing_limit_days": "365",
        "filing_limit_note": "From the plan contract",
        "notes": payer.notes,
        "rules-TOTAL_FORMS": "0",
        "rules-INITIAL_FORMS": "0",
        "change_reason": "",
    }
    assert admin_client_.post(url, data).status_code == 200
    data["change_reason"] = "Plan contract 2026"
    assert admin_client_.post(url, data).status_code == 302
    assert payer.history.first().history_change_reason == "Plan contract 2026"


def test_staff_see_only_their_practice(client, django_user_model, no_codesets):
    from django.contrib.auth.models import Permission

    load_defaults(demo=True)
    demo = Practice.objects.get(key="demo")
    other = Practice.objects.create(key="other", name="Other Clinic", npi="1000000004")
    rule = _rule()
    rule.pk = None
    rule.practice = other
    rule.version = 1
    rule.save()
    user = django_user_model.objects.create_user("billing", password="pw", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_practice", "view_payerrule"]))
    PracticeMembership.objects.create(user=user, practice=demo)
    client.force_login(user)
    response = client.get(reverse("admin:practice_practice_changelist"))
    assert [p.key for p in response.context["cl"].result_list] == ["demo"]
    response = client.get(reverse("admin:practice_payerrule_changelist"))
    assert all(r.practice_id is None for r in response.context["cl"].result_list)
    assert client.get(reverse("admin:practice_practice_change", args=[other.pk])).status_code == 302
