"""Two practices with demo claims, checks, uploads, reports and a rule override each, and a user per role.

Practice A is the demo practice (load_defaults): billing staff, a practice manager, a code-set administrator and
a member without a role work for it. Practice B ("other") has its own billing staff member. The superuser works
for none (and sees all). Every object the tests aim at belongs to practice A.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from rest_framework.authtoken.models import Token

from billing.claims import checks
from billing.claims.demo import create_demo_claims
from billing.models import BatchUpload, ReportFile
from codes import selectors as code_selectors
from practice import services as practice_services
from practice.defaults import load_defaults
from practice.models import Payer, PayerRule, Practice, PracticeMembership, PracticePayer
from tests.security.helpers import MODEL_BACKEND, ROLES, record_figures


@dataclass
class World:
    a: Practice
    b: Practice
    users: dict = field(default_factory=dict)
    tokens: dict = field(default_factory=dict)
    claims_a: list = field(default_factory=list)
    claims_b: list = field(default_factory=list)
    checks_a: list = field(default_factory=list)
    checks_b: list = field(default_factory=list)
    upload_a: BatchUpload | None = None
    upload_b: BatchUpload | None = None
    report_a: ReportFile | None = None
    rule_a: PayerRule | None = None  # practice A's own override of a Medicare rule


def make_user(django_user_model, role: str):
    group, practice_key, superuser = ROLES[role]
    if role == "anonymous":
        return None
    if superuser:
        return django_user_model.objects.create_superuser(role, f"{role}@example.com", "pw-" + role)
    user = django_user_model.objects.create_user(role, f"{role}@example.com", "pw-" + role, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    if practice_key:
        PracticeMembership.objects.create(user=user, practice=Practice.objects.get(key=practice_key))
    return user


@pytest.fixture
def world(db, django_user_model, settings, tmp_path) -> World:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    code_selectors.clear_cache()
    load_defaults(demo=True)
    a = Practice.objects.get(key="demo")
    b = Practice.objects.create(key="other", name="Other Pain Clinic", npi="1234567893")
    PracticePayer.objects.create(practice=b, payer=Payer.objects.get(key="medicare"))
    w = World(a=a, b=b)
    for role in ROLES:
        user = make_user(django_user_model, role)
        w.users[role] = user
        if user is not None:
            w.tokens[role] = Token.objects.create(user=user).key
    w.claims_a = create_demo_claims(a)
    w.claims_b = create_demo_claims(b)
    w.checks_a = checks.check_drafts(w.claims_a, user=w.users["billing"])
    w.checks_b = checks.check_drafts(w.claims_b, user=w.users["other_billing"])
    for practice, attr, user in ((a, "upload_a", "billing"), (b, "upload_b", "other_billing")):
        upload = BatchUpload(practice=practice, original_name="claims.csv", status="done", created_by=w.users[user])
        upload.file.save("claims.csv", ContentFile(b"reference,payer\nDEMO-0001,medicare\n"), save=False)
        upload.result_file.save("checked.xlsx", ContentFile(b"PK\x03\x04 not really a workbook"), save=False)
        upload.total_claims = upload.done_claims = 1
        upload.save()
        setattr(w, attr, upload)
    report = ReportFile(practice=a, kind="report", parameters={"month": "2026-05"}, status="done")
    report.file.save("report.xlsx", ContentFile(b"PK\x03\x04 report"), save=False)
    report.created_by = w.users["manager"]
    report.save()
    w.report_a = report
    base = PayerRule.objects.get(payer__key="medicare", key="ncd-150-13", version=2, practice__isnull=True)
    override = PayerRule.objects.get(pk=base.pk)
    override.pk = override.id = None
    override.practice, override.version = a, None
    override.required_modifiers = ["Q0", "KX"]  # only practice A's checks ask for KX
    override.notes = "practice A's own override"
    w.rule_a = practice_services.save_rule(override, reason="practice A override", user=w.users["superuser"])
    yield w
    code_selectors.clear_cache()


@pytest.fixture
def api_for(world):
    """api_for(role): a REST client authenticated with the role's token (anonymous: none)."""
    from rest_framework.test import APIClient

    def make(role: str) -> APIClient:
        client = APIClient()
        if world.tokens.get(role):
            client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[role]}")
        return client

    return make


@pytest.fixture
def web_for(world):
    """web_for(role): a browser-like client logged in with a session (anonymous: not logged in)."""
    from django.test import Client

    def make(role: str) -> Client:
        client = Client()
        if world.users.get(role) is not None:
            client.force_login(world.users[role], backend=MODEL_BACKEND)
        return client

    return make


@pytest.fixture
def faults(request):
    """The faults a test injects, kept as a figure (faults_<test>.json)."""
    injected: list[str] = []
    yield injected
    name = re.sub(r"\W+", "_", request.node.name).strip("_")
    record_figures(f"faults_{name}", {"faults_injected": len(injected), "kinds": injected})
