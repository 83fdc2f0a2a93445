"""Production settings pass `check --deploy` (as CI runs it), with secure cookies, HSTS and CSRF; logins are
throttled by django-axes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

ROOT = Path(settings.BASE_DIR)


def _production_env(**extra) -> dict:
    # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser tests while they run in this process (tests/e2e/conftest.py)
    leave_out = ("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in leave_out}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(48),
        ALLOWED_HOSTS="billing.example.org",
    )
    env.update(extra)
    return env


def _run(args, env) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_under_production_settings():
    result = _run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_security_settings():
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
        "getattr(s, k) for k in ['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SESSION_COOKIE_HTTPONLY', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', 'SECURE_CONTENT_TYPE_NOSNIFF',"
        " 'X_FRAME_OPTIONS', 'SESSION_COOKIE_SAMESITE', 'CSRF_COOKIE_SAMESITE', 'SECURE_REDIRECT_EXEMPT']}))"
    )
    result = _run([sys.executable, "-c", code], _production_env())
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"] and values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000 and values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SECURE_SSL_REDIRECT"] and values["SECURE_CONTENT_TYPE_NOSNIFF"]
    assert values["X_FRAME_OPTIONS"] == "DENY"
    assert values["SESSION_COOKIE_SAMESITE"] == values["CSRF_COOKIE_SAMESITE"] == "Lax"
    assert values["SECURE_REDIRECT_EXEMPT"] == [r"^health/$"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_SECRET_KEY": "short"}, "DJANGO_SECRET_KEY must be set"),
        ({"DJANGO_DEBUG": "true"}, "DJANGO_DEBUG must be off"),
    ],
)
def test_production_refuses_to_start_unsafe(extra, message):
    result = _run([sys.executable, "manage.py", "check"], _production_env(**extra))
    assert result.returncode != 0 and message in result.stderr


# -- login throttling -------------------------------------------------------------------------------------------------


def test_admin_login_locks_out_after_five_failures(world):
    user = world.users["billing"]
    client = Client(REMOTE_ADDR="203.0.113.7")
    login = "/admin/login/?next=/admin/"
    wrong = {"username": user.username, "password": "wrong"}
    answers = [client.post(login, wrong).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert answers[:-1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)  # the form again, with its error
    # locked out: even the right password is refused now, with 429
    right = {"username": user.username, "password": "pw-billing"}
    locked = client.post(login, right)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session
    attempt = AccessAttempt.objects.get(username=user.username)
    assert attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
    # another address is not locked (the lock is user name + address): the right password works there
    other = Client(REMOTE_ADDR="198.51.100.2")
    assert other.post(login, right).status_code == 302
    assert other.get("/admin/").status_code == 200


def test_successful_login_resets_the_failures(world):
    user = world.users["manager"]
    client = Client(REMOTE_ADDR="203.0.113.8")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/", {"username": user.username, "password": "wrong"})
    assert client.post("/admin/login/", {"username": user.username, "password": "pw-manager"}).status_code == 302
    assert not AccessAttempt.objects.filter(username=user.username, failures_since_start__gt=0).exists()
