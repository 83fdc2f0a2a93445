"""The login lock-out behind the reverse proxy (issue 14 item 7): the client's address is read from the trusted
proxy's X-Forwarded-For entry, and a lock-out is per address + user name, so a stranger's failures cannot lock the
real user out."""

from __future__ import annotations

import json
import sys

import pytest
from django.test import Client

from config.client_address import client_address
from tests.security.helpers import record_figures
from tests.security.test_production import _production_env, _run

PROXY = "10.0.0.2"  # the reverse proxy: every request connects from it
STRANGER = "203.0.113.7"
OWNER = "198.51.100.20"


@pytest.fixture
def alice(db, django_user_model, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.AXES_ENABLED = True
    return django_user_model.objects.create_user("alice", "alice@example.com", "right-pw-alice", is_staff=True)


def login(client_ip: str, password: str, forwarded: str | None = None) -> int:
    """A login through the proxy: it appends the address it was connected from to X-Forwarded-For."""
    header = f"{forwarded}, {client_ip}" if forwarded else client_ip
    response = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=header).post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": password}
    )
    return response.status_code


def test_a_strangers_failures_do_not_lock_the_owner_out(alice):
    failures = [login(STRANGER, f"guess-{i}") for i in range(5)]
    assert failures[:4] == [200] * 4  # the form again, with its error
    assert failures[4] == 429  # the fifth locks the stranger's address out of this account
    assert login(STRANGER, "right-pw-alice") == 429  # even with the right password, from there
    # forging X-Forwarded-For does not move the stranger: the proxy's own entry is the one read
    assert login(STRANGER, "right-pw-alice", forwarded=OWNER) == 429
    assert login(OWNER, "right-pw-alice") == 302  # the owner, from her own address: logged in
    record_figures("lockout", {"stranger_failures": 5, "stranger_then": 429, "owner_from_own_address": 302})


def test_the_owner_locks_only_her_own_address(alice):
    for i in range(5):
        login(OWNER, f"typo-{i}")
    assert login(OWNER, "right-pw-alice") == 429
    assert login("192.0.2.44", "right-pw-alice") == 302  # the same account from another address


def test_without_a_proxy_the_connecting_address_counts(alice, settings):
    """TRUSTED_PROXY_COUNT = 0 (no proxy): X-Forwarded-For is the client's own text and is ignored."""
    settings.TRUSTED_PROXY_COUNT = 0
    for i in range(5):
        Client(REMOTE_ADDR=STRANGER, HTTP_X_FORWARDED_FOR=OWNER).post(
            "/admin/login/", {"username": "alice", "password": f"guess-{i}"}
        )
    response = Client(REMOTE_ADDR=OWNER).post(
        "/admin/login/?next=/admin/", {"username": "alice", "password": "right-pw-alice"}
    )
    assert response.status_code == 302


class _Request:
    def __init__(self, remote: str, forwarded: str | None = None):
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.2.3.4", PROXY),
        (1, STRANGER, STRANGER),
        (1, f"1.2.3.4, {STRANGER}", STRANGER),
        (1, f" 1.2.3.4 ,{STRANGER} ", STRANGER),
        (2, f"1.2.3.4, {STRANGER}, 10.0.0.9", STRANGER),
        (2, STRANGER, PROXY),  # fewer entries than proxies: not through them
        (1, None, PROXY),
        (1, "not-an-address", PROXY),
        (1, "2001:db8::1", "2001:db8::1"),
    ],
)
def test_client_address(settings, proxies, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    assert client_address(_Request(PROXY, forwarded)) == expected


def test_production_assumes_one_proxy_and_never_locks_by_user_name_alone():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps("
        "[s.TRUSTED_PROXY_COUNT, s.REST_FRAMEWORK['NUM_PROXIES'], s.AXES_LOCKOUT_PARAMETERS]))"
    )
    result = _run([sys.executable, "-c", code], _production_env())
    assert result.returncode == 0, result.stderr
    proxies, num_proxies, parameters = json.loads(result.stdout.strip().splitlines()[-1])
    assert proxies == num_proxies == 1
    assert parameters and all("ip_address" in p for p in parameters)  # never the user name alone
