"""Two people editing one draft claim: the second save over a stale version is refused, nothing of the first is lost.

API: PATCH/PUT carry the version read; a stale one is a 409 with a clear message. Admin: the form carries it in a
hidden field; a stale one is a form error on the page (not a 500). On PostgreSQL the same is shown with threads
saving at the same moment.
"""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from billing.admin.claims import DraftClaimForm
from billing.models import ClaimLine, DraftClaim
from config.roles import BILLING_STAFF
from practice.models import PracticeMembership
from tests.security.forms import form_data
from tests.security.helpers import MODEL_BACKEND, claim_body, record_figures

# One message for a stale version, on the API and in the admin (billing.claims.services.StaleClaimVersion).
STALE = "the claim was changed by someone else since you read it: reload it and make your change again"
STALE_API = STALE_ADMIN = STALE


@pytest.fixture
def second_billing(world, django_user_model):
    """A colleague of `billing` at practice A."""
    user = django_user_model.objects.create_user("billing2", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=BILLING_STAFF))
    PracticeMembership.objects.create(user=user, practice=world.a)
    return user


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _web(user) -> Client:
    client = Client()
    client.force_login(user, backend=MODEL_BACKEND)
    return client


# -- API ---------------------------------------------------------------------------------------------------------


def test_api_second_save_with_stale_version_is_409_and_first_edit_kept(world, second_billing):
    claim = world.claims_a[0]
    alice, bob = _api(world.users["billing"]), _api(second_billing)
    url = f"/api/v1/claims/{claim.pk}/"
    read_a, read_b = alice.get(url).json(), bob.get(url).json()
    assert read_a["version"] == read_b["version"] == 1

    first = alice.patch(url, {"version": read_a["version"], "diagnoses": ["M48.061", "Z00.6"]}, format="json")
    assert first.status_code == 200 and first.json()["version"] == 2

    lines = [{"number": 1, "code": "0274T", "modifiers": [], "units": 1}]
    second = bob.patch(url, {"version": read_b["version"], "reference": "BOB", "lines": lines}, format="json")
    assert second.status_code == 409
    assert STALE_API in second.json()["version"][0] and second.json()["current_version"] == 2

    claim.refresh_from_db()
    assert claim.diagnoses == ["M48.061", "Z00.6"] and claim.reference == "DEMO-0001" and claim.version == 2
    assert list(claim.lines.values_list("code", flat=True)) == ["0275T"]  # nothing of the refused save

    # Bob reloads and saves again: both edits are there.
    again = bob.patch(url, {"version": bob.get(url).json()["version"], "reference": "BOB"}, format="json")
    assert again.status_code == 200
    claim.refresh_from_db()
    assert (claim.reference, claim.diagnoses, claim.version) == ("BOB", ["M48.061", "Z00.6"], 3)


def test_api_put_with_stale_version_is_409_and_change_needs_a_version(world):
    claim = world.claims_a[0]
    api = _api(world.users["billing"])
    url = f"/api/v1/claims/{claim.pk}/"
    assert api.put(url, claim_body(version=1, reference="A"), format="json").status_code == 200
    assert api.put(url, claim_body(version=1, reference="B"), format="json").status_code == 409
    response = api.patch(url, {"reference": "C"}, format="json")
    assert response.status_code == 400 and "version" in response.json()
    claim.refresh_from_db()
    assert (claim.reference, claim.version) == ("A", 2)


def test_api_save_shows_the_new_lines(world):
    claim = world.claims_a[0]
    api = _api(world.users["billing"])
    lines = [
        {"number": 1, "code": "0275T", "modifiers": ["Q0"], "units": 1},
        {"number": 2, "code": "0274T", "modifiers": ["Q0"], "units": 1},
    ]
    response = api.patch(f"/api/v1/claims/{claim.pk}/", {"version": 1, "lines": lines}, format="json")
    assert response.status_code == 200
    assert [line["code"] for line in response.json()["lines"]] == ["0275T", "0274T"]


# -- admin --------------------------------------------------------------------------------------------------------


def _change_url(claim) -> str:
    return f"/admin/billing/draftclaim/{claim.pk}/change/"


def test_admin_second_save_with_stale_version_is_a_form_error(world, second_billing):
    claim = world.claims_a[0]
    alice, bob = _web(world.users["billing"]), _web(second_billing)
    form_a = form_data(alice.get(_change_url(claim)).content, "draftclaim_form")
    form_b = form_data(bob.get(_change_url(claim)).content, "draftclaim_form")
    assert form_a["expected_version"] == form_b["expected_version"] == "1"

    saved = alice.post(_change_url(claim), {**form_a, "diagnoses": "M48.061, Z00.6"})
    assert saved.status_code == 302, saved.context and saved.context["adminform"].form.errors

    refused = bob.post(_change_url(claim), {**form_b, "reference": "BOB", "lines-0-code": "0274T"})
    assert refused.status_code == 200  # the change form again, with the error: not a 500, not a redirect
    errors = refused.context["adminform"].form.non_field_errors()
    assert len(errors) == 1 and STALE_ADMIN in errors[0]
    assert STALE_ADMIN in refused.content.decode()

    claim.refresh_from_db()
    assert claim.diagnoses == ["M48.061", "Z00.6"] and claim.reference == "DEMO-0001" and claim.version == 2
    assert list(claim.lines.values_list("code", flat=True)) == ["0275T"]

    # Bob opens the claim again and saves: his change goes in on top of Alice's.
    form_b = form_data(bob.get(_change_url(claim)).content, "draftclaim_form")
    assert form_b["expected_version"] == "2"
    assert bob.post(_change_url(claim), {**form_b, "reference": "BOB"}).status_code == 302
    claim.refresh_from_db()
    assert (claim.reference, claim.diagnoses, claim.version) == ("BOB", ["M48.061", "Z00.6"], 3)


def test_admin_save_losing_the_race_after_the_form_check_saves_nothing(world, faults):
    """Where rows are not locked (SQLite), another save can land between the form's check and the write: the
    compare-and-set in save_model refuses it and the admin's transaction rolls the claim and its lines back."""
    claim = world.claims_a[0]
    web = _web(world.users["billing"])
    form = form_data(web.get(_change_url(claim)).content, "draftclaim_form")
    original_clean = DraftClaimForm.clean

    def clean_then_someone_saves(self):
        cleaned = original_clean(self)
        DraftClaim.objects.filter(pk=claim.pk).update(version=5, reference="THEIRS")
        return cleaned

    with mock.patch.object(DraftClaimForm, "clean", clean_then_someone_saves):
        response = web.post(_change_url(claim), {**form, "diagnoses": "M48.061", "lines-0-code": "0274T"}, follow=True)
    assert response.status_code == 200
    assert any(STALE_ADMIN in str(m) for m in response.context["messages"])
    claim.refresh_from_db()
    # the whole save was rolled back, the simulated concurrent save included (same transaction in this test)
    assert claim.diagnoses == ["M48.062", "Z00.6"]
    assert list(claim.lines.values_list("code", flat=True)) == ["0275T"]
    faults.append("a concurrent save between the form check and the write")


def test_admin_new_claim_with_a_payer_the_practice_does_not_bill(world):
    web = _web(world.users["other_billing"])
    page = web.get("/admin/billing/draftclaim/add/")
    payer_choices = {p.key for p in page.context["adminform"].form.fields["payer"].queryset}
    assert payer_choices == {"medicare"}  # the payers practice B bills
    practice_choices = list(page.context["adminform"].form.fields["practice"].queryset)
    assert practice_choices == [world.b]
    form = form_data(page.content, "draftclaim_form")
    from practice.models import Payer

    bcbs = Payer.objects.get(key="commercial-bcbs")
    response = web.post(
        "/admin/billing/draftclaim/add/",
        {**form, "practice": str(world.a.pk), "payer": str(bcbs.pk), "place_of_service": "24"},
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "practice" in errors and "payer" in errors  # practice A is not a choice; BCBS not one of B's payers


# -- threads on PostgreSQL ---------------------------------------------------------------------------------------


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.django_db(transaction=True)
def test_threads_saving_one_claim_at_once_exactly_one_wins_api(world, transactional_db, second_billing):
    if not _postgresql():
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serialises writers, there is no race to show")
    claim = world.claims_a[0]
    users = [world.users["billing"], second_billing] * 4
    barrier = threading.Barrier(len(users))
    results: list[tuple[int, str]] = [None] * len(users)  # type: ignore[list-item]

    def save(i, user):
        try:
            client = _api(user)
            barrier.wait(timeout=10)
            reference = f"T{i}"
            lines = [{"number": 1, "code": "0275T", "modifiers": ["Q0"], "units": i + 1}]
            response = client.patch(
                f"/api/v1/claims/{claim.pk}/", {"version": 1, "reference": reference, "lines": lines}, format="json"
            )
            results[i] = (response.status_code, reference)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(i, u)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * (len(users) - 1), results
    winner = next(ref for code, ref in results if code == 200)
    claim.refresh_from_db()
    assert claim.reference == winner and claim.version == 2
    line = ClaimLine.objects.get(claim=claim)
    assert line.units == int(winner[1:]) + 1  # the winner's lines, whole
    record_figures(
        "concurrency_threads_api",
        {"threads": len(users), "saved": 1, "refused_409": codes.count(409), "edits_lost": 0},
    )


@pytest.mark.django_db(transaction=True)
def test_threads_saving_one_claim_at_once_exactly_one_wins_admin(world, transactional_db, second_billing):
    if not _postgresql():
        pytest.skip("needs PostgreSQL (DATABASE_URL): SQLite serialises writers, there is no race to show")
    claim = world.claims_a[0]
    users = [world.users["billing"], second_billing] * 3
    clients = [_web(u) for u in users]
    forms = [form_data(c.get(_change_url(claim)).content, "draftclaim_form") for c in clients]
    barrier = threading.Barrier(len(users))
    results: list[tuple[int, str]] = [None] * len(users)  # type: ignore[list-item]

    def save(i):
        try:
            barrier.wait(timeout=10)
            reference = f"W{i}"
            response = clients[i].post(_change_url(claim), {**forms[i], "reference": reference})
            refused = response.status_code == 200 and STALE_ADMIN in response.content.decode()
            outcome = 302 if response.status_code == 302 else ("form error" if refused else response.status_code)
            results[i] = (outcome, reference)
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(i,)) for i in range(len(users))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    outcomes = [code for code, _ in results]
    assert outcomes.count(302) == 1 and outcomes.count("form error") == len(users) - 1, results
    claim.refresh_from_db()
    assert claim.reference == next(ref for code, ref in results if code == 302) and claim.version == 2
    record_figures(
        "concurrency_threads_admin",
        {"threads": len(users), "saved": 1, "refused_form_error": len(users) - 1, "edits_lost": 0},
    )
