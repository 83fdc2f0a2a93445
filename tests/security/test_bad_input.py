"""Bad input gets a clear 4xx naming the field, never a 500 (issue 14 item 5).

JSON nested 1,000 deep; a NUL character or a lone surrogate in every text field of a claim (API check, draft
claims, the admin form), in a dict key, a query parameter and the address; dates far ahead or behind; bodies over
the size limit; the admin's date filters with year 9999 on every registered list. With DATABASE_URL pointing at
PostgreSQL these run against the database that refuses such text.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db.models import DateField, DateTimeField
from django.test import Client

from billing.models import ClaimCheck, DraftClaim
from tests.security.helpers import MODEL_BACKEND, claim_body, contract_claim, record_figures

PROJECT_APPS = {"billing", "codes", "practice"}
MARK = "QZX7"  # in every bad value: it must never reach the log


def post_json(api, path: str, body) -> object:
    """The body as JSON text with \\u escapes (json.dumps writes NUL and lone surrogates so)."""
    return api.post(path, data=json.dumps(body), content_type="application/json")


# -- JSON nested deep ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
@pytest.mark.parametrize("path", ["/api/v1/claims/check", "/api/v1/claims/"])
def test_json_nested_deep_is_a_400_in_json(world, api_for, path, depth):
    body = "[" * depth + "]" * depth
    response = api_for("billing").post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deep" in response.json()["detail"]


def test_json_nested_as_deep_as_allowed_is_read(world, api_for):
    nested = contract_claim(payer=None)
    inner: list = []
    nested["extra"] = inner
    for _ in range(29):  # the claim is level 1, "extra" 2, ... 31 levels in all
        inner.append([])
        inner = inner[0]
    response = post_json(api_for("billing"), "/api/v1/claims/check", nested)
    assert response.status_code == 400 and set(response.json()) == {"payer"}  # read, then checked as a claim


# -- text that cannot be stored --------------------------------------------------------------------------------

CHECK_FIELDS = {
    "payer": lambda c, v: c.update(payer=v),
    "place_of_service": lambda c, v: c.update(place_of_service=v),
    "date_of_service": lambda c, v: c.update(date_of_service=v),
    "rendering_npi": lambda c, v: c.update(rendering_npi=v),
    "clinical_trial_number": lambda c, v: c.update(clinical_trial_number=v),
    "prior_authorization_number": lambda c, v: c.update(prior_authorization_number=v),
    "diagnoses[1]": lambda c, v: c["diagnoses"].__setitem__(1, v),
    "condition_codes[0]": lambda c, v: c.update(condition_codes=[v]),
    "lines[0].code": lambda c, v: c["lines"][0].update(code=v),
    "lines[0].modifiers[0]": lambda c, v: c["lines"][0].update(modifiers=[v]),
    "lines[0].charge": lambda c, v: c["lines"][0].update(charge=v),
}
BAD = {"nul": f"M48.062{MARK}\x00", "surrogate": f"M48.062{MARK}\ud800", "nul-only": "\x00"}


@pytest.mark.parametrize("kind", list(BAD))
@pytest.mark.parametrize("field", list(CHECK_FIELDS))
def test_unstorable_text_in_a_checked_claim_is_a_400_naming_the_field(world, api_for, caplog, field, kind):
    body = contract_claim()
    CHECK_FIELDS[field](body, BAD[kind])
    before = ClaimCheck.objects.count()
    with caplog.at_level(logging.DEBUG):
        response = post_json(api_for("billing"), "/api/v1/claims/check", body)
    assert response.status_code == 400, response.content
    assert set(response.json()) == {field}
    assert "cannot be stored" in response.json()[field][0]
    assert MARK not in response.content.decode()
    assert ClaimCheck.objects.count() == before
    assert MARK not in caplog.text


DRAFT_FIELDS = {
    "reference": lambda c, v: c.update(reference=v),
    "payer": lambda c, v: c.update(payer=v),
    "rendering_npi": lambda c, v: c.update(rendering_npi=v),
    "clinical_trial_number": lambda c, v: c.update(clinical_trial_number=v),
    "diagnoses[0]": lambda c, v: c["diagnoses"].__setitem__(0, v),
    "condition_codes[0]": lambda c, v: c.update(condition_codes=[v]),
    "lines[0].code": lambda c, v: c["lines"][0].update(code=v),
    "lines[0].modifiers[0]": lambda c, v: c["lines"][0].update(modifiers=[v]),
}


@pytest.mark.parametrize("kind", ["nul", "surrogate"])
@pytest.mark.parametrize("field", list(DRAFT_FIELDS))
def test_unstorable_text_in_a_draft_claim_is_a_400_naming_the_field(world, api_for, caplog, field, kind):
    body = claim_body()
    DRAFT_FIELDS[field](body, BAD[kind][-5:])  # short enough for every field's length limit
    before = DraftClaim.objects.count()
    claim = world.claims_a[0]
    key = field.split("[")[0].split(".")[0]  # the claim's own field that holds the bad text
    api = api_for("billing")
    with caplog.at_level(logging.DEBUG):
        created = post_json(api, "/api/v1/claims/", body)
        patched = api.patch(
            f"/api/v1/claims/{claim.pk}/",
            data=json.dumps({key: body[key], "version": claim.version}),
            content_type="application/json",
        )
    for response in (created, patched):
        assert response.status_code == 400 and set(response.json()) == {field}, response.content
    assert DraftClaim.objects.count() == before
    assert DraftClaim.objects.get(pk=claim.pk).version == claim.version  # unchanged
    assert MARK not in caplog.text


def test_unstorable_text_in_a_key_is_refused_too(world, api_for):
    body = contract_claim()
    body["lines"][0]["x\x00"] = 1
    response = post_json(api_for("billing"), "/api/v1/claims/check", body)
    assert response.status_code == 400 and set(response.json()) == {"lines[0]"}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/claims/?practice=demo%00",
        "/api/v1/claims/?payer__key=medicare%00",
        "/api/v1/payer-rules/?code=0275T%00",
        "/api/v1/codes/icd10cm/M48062%00",
        "/api/v1/codes/icd10cm/M48062?on=2026-01-01%00",
        "/api/v1/checks/?status%00=clean",
    ],
)
def test_nul_in_the_address_or_a_query_parameter_is_a_400(world, api_for, url):
    response = api_for("billing").get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")


def test_nul_in_an_admin_search_is_a_400(world, web_for):
    web = web_for("billing")
    for url in ("/admin/billing/draftclaim/?q=M48%00", "/admin/practice/payerrule/?q=0275T%00"):
        response = web.get(url)
        assert response.status_code == 400
        assert "NUL" in response.content.decode()


# -- the admin's claim form ------------------------------------------------------------------------------------


def _admin_claim_form(world, **changes) -> dict:
    data = {
        "practice": world.a.pk,
        "reference": "ADMIN-1",
        "payer": world.claims_a[0].payer_id,
        "claim_type": "professional",
        "place_of_service": "24",
        "date_of_service": "2026-05-04",
        "submitted_on": "",
        "rendering_npi": "1234567893",
        "diagnoses": "M48.062, Z00.6",
        "clinical_trial_number": "NCT03072927",
        "prior_authorization_number": "",
        "condition_codes": "",
        "expected_version": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "50",
        "lines-0-number": "1",
        "lines-0-code": "0275T",
        "lines-0-modifiers": "Q0",
        "lines-0-units": "1",
        "lines-0-diagnosis_pointers": "1, 2",
        "lines-0-charge": "",
        "lines-0-date_of_service": "",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("diagnoses", f"M48.062{MARK}\x00", "cannot be stored"),
        ("condition_codes", "3\x000", "cannot be stored"),
        ("lines-0-modifiers", "Q0\x00", "cannot be stored"),
        ("reference", f"{MARK}\x00", "Null characters are not allowed"),
        ("date_of_service", "9999-12-31", "out of range"),
        ("date_of_service", "1999-12-31", "out of range"),
        ("submitted_on", "9999-12-31", "out of range"),
        ("lines-0-date_of_service", "9999-12-31", "out of range"),
    ],
)
def test_the_admin_claim_form_answers_a_form_error(world, caplog, field, value, message):
    web = Client(raise_request_exception=False)
    web.force_login(world.users["billing"], backend=MODEL_BACKEND)
    before = DraftClaim.objects.count()
    with caplog.at_level(logging.DEBUG):
        response = web.post("/admin/billing/draftclaim/add/", _admin_claim_form(world, **{field: value}))
    assert response.status_code == 200  # the form again, with its error
    assert message in response.content.decode()
    assert DraftClaim.objects.count() == before
    assert MARK not in caplog.text


def test_the_admin_claim_form_saves_a_good_claim(world, web_for):
    before = DraftClaim.objects.count()
    response = web_for("billing").post("/admin/billing/draftclaim/add/", _admin_claim_form(world))
    assert response.status_code == 302 and DraftClaim.objects.count() == before + 1


def test_every_admin_list_field_refuses_unstorable_text(world, rf):
    """Every add form of the project's admins (and their inlines): each text or JSON field given a NUL, as text and
    inside a JSON list, is a form error on that field (Django's own check does not see inside list values)."""
    from django import forms

    request = rf.get("/")
    request.user = world.users["superuser"]
    tried = 0
    missed = []
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in PROJECT_APPS or not model_admin.has_add_permission(request):
            continue
        form_classes = [model_admin.get_form(request)]
        form_classes += [inline.get_formset(request).form for inline in model_admin.get_inline_instances(request)]
        for form_class in form_classes:
            for name, field in form_class.base_fields.items():
                if not isinstance(field, forms.CharField) or isinstance(field.widget, forms.HiddenInput):
                    continue
                values = ['["x\\u0000"]', '"x\\u0000"'] if isinstance(field, forms.JSONField) else ["x\x00, y"]
                for value in values:
                    tried += 1
                    form = form_class(data={name: value})
                    if name not in form.errors:
                        missed.append(f"{model.__name__}.{name} = {value!r}")
    record_figures("admin_unstorable_text", {"fields_tried": tried, "accepted": len(missed)})
    assert tried > 30
    assert not missed, missed


# -- dates ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("date_of_service", "9999-12-31"),
        ("date_of_service", "1999-12-31"),
        ("submitted_on", "9999-12-31"),
        ("lines[0].date_of_service", "9999-12-31"),
    ],
)
def test_a_date_out_of_range_is_a_400_with_the_range(world, api_for, path, value):
    body = contract_claim()
    if path.startswith("lines"):
        body["lines"][0]["date_of_service"] = value
    else:
        body[path] = value
    response = post_json(api_for("billing"), "/api/v1/claims/check", body)
    assert response.status_code == 400
    message = response.json()[path][0]
    assert message.startswith(f"{value} is out of range: dates from 2000-01-01 to ")


@pytest.mark.parametrize("field", ["date_of_service", "submitted_on"])
def test_a_draft_claim_with_a_date_out_of_range_is_a_400(world, api_for, field):
    response = post_json(api_for("billing"), "/api/v1/claims/", claim_body(**{field: "9999-12-31"}))
    assert response.status_code == 400 and "out of range" in response.json()[field][0]
    body = claim_body()
    body["lines"][0]["date_of_service"] = "9999-12-31"
    response = post_json(api_for("billing"), "/api/v1/claims/", body)
    assert response.status_code == 400 and "out of range" in json.dumps(response.json()["lines"])


def _date_params(model_admin) -> list[str]:
    """Query strings with year 9999 (and months and days out of range) for every date filter of one list."""
    fields = []
    if model_admin.date_hierarchy:
        fields.append(model_admin.date_hierarchy)
    for entry in model_admin.list_filter:
        name = entry[0] if isinstance(entry, tuple) else entry
        if isinstance(name, str):
            try:
                field = model_admin.model._meta.get_field(name)
            except FieldDoesNotExist:  # a path across a relation: not a date of this model
                field = None
            if isinstance(field, DateField | DateTimeField):
                fields.append(name)
    queries = []
    for name in dict.fromkeys(fields):
        queries += [
            f"{name}__year=9999",
            f"{name}__year=9999&{name}__month=12",
            f"{name}__year=9999&{name}__month=12&{name}__day=31",
            f"{name}__year=2026&{name}__month=13",
            f"{name}__year=0",
            f"{name}__gte=9999-12-31&{name}__lt=10000-01-01",
        ]
    return queries


def test_no_admin_date_filter_gives_a_500(world):
    """Every registered list with a date hierarchy or a date filter, as the superuser, with claims and checks
    dated 9999-12-31 already stored (as the attack left them): no 500."""
    DraftClaim.objects.filter(pk=world.claims_a[0].pk).update(date_of_service="9999-12-31")
    ClaimCheck.objects.filter(pk=world.checks_a[0].pk).update(date_of_service="9999-12-31")
    web = Client(raise_request_exception=False)
    web.force_login(world.users["superuser"], backend=MODEL_BACKEND)
    tried: dict[str, int] = {}
    for model, model_admin in admin.site._registry.items():
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        for query in ["", *_date_params(model_admin)]:
            response = web.get(f"{url}?{query}")
            assert response.status_code < 500, f"{url}?{query}: {response.status_code}"
            tried[str(response.status_code)] = tried.get(str(response.status_code), 0) + 1
    assert web.get("/admin/billing/draftclaim/?date_of_service__year=9999").status_code in (200, 302)
    assert web.get("/admin/billing/claimcheck/?checked_at__year=9999").status_code == 302  # the ?e=1 page
    record_figures("admin_date_filters", {"requests": sum(tried.values()), "statuses": tried})


# -- bodies over the size limit --------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_a_413_in_json(world, api_for, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    body = contract_claim(prior_authorization_number="x" * 2_700_000)
    response = post_json(api_for("billing"), "/api/v1/claims/check", body)
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large: at most 2.5 MB."}


def test_a_form_body_over_the_limit_is_a_413_in_json(world, api_for, settings):
    """Multipart: files do not count, so it is read; its fields over the limit are found while parsing."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api_for("billing").post("/api/v1/claims/check", {"payer": "x" * 5000}, format="multipart")
    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
