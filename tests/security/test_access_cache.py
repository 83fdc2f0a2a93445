"""The claim-check endpoint keeps each token user's permissions and practices in the process (practice.access):
one query a call for who the caller is, and every change of membership, role, permission, user or token seen by
the very next call."""

import json

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from billing.models import ClaimCheck
from config.roles import BILLING_STAFF
from practice.models import Practice, PracticeMembership
from tests.testdata import EXAMPLES

CLAIM = json.loads(sorted(EXAMPLES.glob("*.json"))[0].read_text())["claim"]
URL = "/api/v1/claims/check"


def _post(client, query: str = ""):
    return client.post(URL + query, CLAIM, format="json")


def _queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        response = _post(client)
    assert response.status_code == 200, response.content
    return [q["sql"] for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_a_warm_check_costs_three_queries_and_is_stored(world, api_for):
    client = api_for("billing")
    _post(client)  # reads the user, the releases and the rules once
    before = ClaimCheck.objects.count()
    sql = _queries(client)
    assert len(sql) <= 3, sql  # the token with what the check needs, the check, its findings
    assert "authtoken_token" in sql[0]
    assert ClaimCheck.objects.count() == before + 1
    check = ClaimCheck.objects.latest("id")
    assert check.practice == world.a
    # stored whole: on PostgreSQL the check and its findings go in one statement
    assert [(f.rule, f.severity, f.line, f.codes) for f in check.findings.order_by("id")] == [
        (f["rule"], f["severity"], f.get("line"), f.get("codes", [])) for f in check.result["findings"]
    ]
    assert check.result["findings"]


def test_losing_the_membership_is_seen_by_the_next_call(world, api_for):
    client = api_for("billing")
    assert _post(client).status_code == 200
    PracticeMembership.objects.filter(user=world.users["billing"]).delete()
    response = _post(client)
    assert response.status_code == 403
    assert "not a member" in response.json()["detail"]


def test_moving_to_another_practice_is_seen_by_the_next_call(world, api_for):
    client = api_for("billing")
    assert _post(client).status_code == 200
    membership = PracticeMembership.objects.get(user=world.users["billing"])
    membership.practice = world.b
    membership.save()
    assert _post(client).status_code == 200
    assert ClaimCheck.objects.latest("id").practice == world.b
    assert _post(client, "?practice=demo").status_code == 403


def test_a_second_practice_needs_a_choice(world, api_for):
    client = api_for("billing")
    assert _post(client).status_code == 200
    PracticeMembership.objects.create(user=world.users["billing"], practice=world.b)
    assert _post(client).status_code == 400
    assert _post(client, "?practice=other").status_code == 200
    assert ClaimCheck.objects.latest("id").practice == world.b


def test_losing_the_role_is_seen_by_the_next_call(world, api_for):
    client = api_for("billing")
    assert _post(client).status_code == 200
    world.users["billing"].groups.remove(Group.objects.get(name=BILLING_STAFF))
    assert _post(client).status_code == 403


def test_a_permission_taken_from_the_role_is_seen_by_the_next_call(world, api_for):
    client = api_for("billing")
    assert _post(client).status_code == 200
    Group.objects.get(name=BILLING_STAFF).permissions.remove(Permission.objects.get(codename="check_claim"))
    assert _post(client).status_code == 403


def test_a_permission_given_is_seen_by_the_next_call(world, api_for):
    client = api_for("no_role")
    assert _post(client).status_code == 403
    world.users["no_role"].user_permissions.add(Permission.objects.get(codename="check_claim"))
    assert _post(client).status_code == 200


def test_a_deleted_token_or_deactivated_user_is_refused_at_once(world, api_for):
    client = api_for("billing")
    assert _post(client).status_code == 200
    user = world.users["billing"]
    user.is_active = False
    user.save()
    assert _post(client).status_code == 401
    user.is_active = True
    user.save()
    assert _post(client).status_code == 200
    Token.objects.filter(user=user).delete()
    assert _post(client).status_code == 401


def test_a_renamed_practice_key_is_seen_by_the_next_call(world, api_for):
    client = api_for("billing")
    assert _post(client, "?practice=demo").status_code == 200
    Practice.objects.filter(pk=world.a.pk).update(key="renamed")  # update() sends no signal: bump by hand
    from practice import access

    access.bump()
    assert _post(client, "?practice=demo").status_code == 403
    assert _post(client, "?practice=renamed").status_code == 200


def test_a_login_does_not_empty_the_cache(world, api_for, client):
    from practice.models import AccessStamp

    before = AccessStamp.objects.get(pk=1).generation
    client.force_login(world.users["billing"])  # saves last_login only
    assert AccessStamp.objects.get(pk=1).generation == before
