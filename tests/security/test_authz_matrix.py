"""The authorisation matrix: every role × every URL the project serves (admin pages, API endpoints, downloads).

URLs come from the URL resolver, so an endpoint added later is tried too. Each one is filled in with an object of
practice A (the demo practice) and requested by every role, with the method(s) it answers. What each role should
get is derived from the roles' specification (``config.roles.ROLES``, not from the database) and from practice
scoping:

- anonymous: the login page (admin, login-required pages, the API docs) or 401 (API, its schema); only the public
  pages (home, login, health) answer 200;
- a role with the model's permission, for an object of a practice it works for: 200 (201/204 for writes);
- a role without the permission: 403;
- billing staff of ANOTHER practice: 404 on the API and the downloads, the admin's "does not exist" redirect on
  admin pages, never the object in a list;
- denied writes change nothing (checked after each one); nobody ever gets a 500.

An endpoint this file does not know yet (a new app's view) is still tried by every role against the invariants:
no 500, no 200 for anonymous outside the public pages, none for a member without a role, and none for another
practice's staff on a URL naming practice A's object.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Model
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.utils import timezone

from billing.models import BatchUpload, ClaimCheck, DraftClaim, ReportFile
from codes import models as code_models
from config.roles import EXCEPT, EXTRA, ROLES
from practice.models import Payer, PayerRule, Practice
from tests.security.helpers import ROLES as TEST_ROLES
from tests.security.helpers import claim_body, contract_claim, record_figures

PUBLIC_NAMES = {"", "health", "health-codesets", "admin:login"}
DENY = {403}
ADMIN_NOT_FOUND = {302}  # the admin redirects to its index: "... with ID ... doesn't exist"
LOGIN = "login"  # 302 to the admin login page
PRACTICE_MODELS = (DraftClaim, ClaimCheck, BatchUpload, ReportFile)


# -- the specification ---------------------------------------------------------------------------------------------


def spec_perms(role: str) -> set[str] | None:
    """The permissions a role has according to config.roles (None: every permission)."""
    group, _, superuser = TEST_ROLES[role]
    if superuser:
        return None
    if group is None:
        return set()
    from django.apps import apps

    perms = set(EXTRA[group])
    for app_label, model, actions in ROLES[group]:
        try:
            models = apps.get_app_config(app_label).get_models() if model == "*" else [apps.get_model(app_label, model)]
        except LookupError:
            continue
        for m in models:
            perms |= {f"{app_label}.{action}_{m._meta.model_name}" for action in actions}
    return perms - set(EXCEPT[group])


def has(role: str, perm: str) -> bool:
    if role == "anonymous":
        return False
    perms = spec_perms(role)
    return perms is None or perm in perms


def practice_of(obj) -> Practice | None | str:
    """The practice an object belongs to ("global": shared by all)."""
    if obj is None:
        return None
    if isinstance(obj, Practice):
        return obj
    if isinstance(obj, PayerRule):
        return obj.practice or "global"
    practice = getattr(obj, "practice", None)
    return practice if isinstance(practice, Practice) else "global"


def sees(role: str, obj) -> bool:
    """Whether the role may see this object at all (practice scoping)."""
    if obj is None or role == "anonymous":
        return False
    _, practice_key, superuser = TEST_ROLES[role]
    if superuser:
        return True
    practice = practice_of(obj)
    return practice == "global" or (practice is not None and practice.key == practice_key)


# -- the endpoints ------------------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    route: str
    name: str
    kind: str  # admin-model, admin-custom, admin-site, api, page, unknown
    url: str
    method: str = "GET"
    model: type[Model] | None = None
    obj: object | None = None
    action: str = ""  # admin: changelist/add/change/delete/history/redirect/...; API: list/retrieve/create/...
    body: dict | None = None
    notes: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.method} {self.url} [{self.name or self.route}]"


def walk(patterns, prefix="", namespace=None):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name or ''}" if namespace else (p.name or "")
            yield prefix + str(p.pattern), name, p.callback


def fill(route: str, values: dict, positional: list, default=None) -> str:
    """A concrete path for a route (path converters and regex groups replaced by values, else by default)."""
    route = route.replace("^", "").replace("$", "")
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values.get(m.group(1), default)), route)
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), default)), route)
    pos = iter(positional)
    route = re.sub(r"\((?!\?)[^)]*\)", lambda m: str(next(pos)), route)
    return "/" + route


def model_admin_of(callback):
    ma = getattr(callback, "model_admin", None)
    if ma is not None:
        return ma
    wrapped = getattr(callback, "__wrapped__", None)
    owner = getattr(wrapped, "__self__", None)
    return owner if isinstance(owner, admin.ModelAdmin) else None


def target(model, world):
    """The object of practice A an endpoint is tried on (or the first one; None when there is none)."""
    known = {
        DraftClaim: world.claims_a[0],
        ClaimCheck: world.checks_a[0],
        BatchUpload: world.upload_a,
        ReportFile: world.report_a,
        PayerRule: world.rule_a,
        Practice: world.a,
        Payer: Payer.objects.get(key="medicare"),
    }
    if model in known:
        return known[model]
    concrete = model._meta.concrete_model
    if concrete in known:
        return model._default_manager.filter(pk=known[concrete].pk).first()
    if any(f.name == "practice" for f in model._meta.get_fields()):
        return model._default_manager.filter(practice=world.a).first()
    return model._default_manager.order_by("pk").first()


def guess_model(route: str):
    for word, model in (("upload", BatchUpload), ("report", ReportFile), ("guide", ReportFile), ("check", ClaimCheck)):
        if word in route:
            return model
    return DraftClaim


ADMIN_VIEWS = {"changelist", "add", "change", "delete", "history"}
API_ACTIONS = {
    "list": "view",
    "retrieve": "view",
    "create": "add",
    "update": "change",
    "partial_update": "change",
    "destroy": "delete",
}


def endpoints(world) -> tuple[list[Endpoint], int]:
    """Every endpoint with the method(s) to try; and the number of URL patterns enumerated."""
    out: list[Endpoint] = []
    patterns = list(walk(get_resolver().url_patterns))
    claim = world.claims_a[0]
    for route, name, callback in patterns:
        ma = model_admin_of(callback)
        cls = getattr(callback, "cls", None)
        if ma is not None:
            model = ma.model
            obj = target(model, world)
            pk = obj.pk if obj is not None else 999999999
            history_id = ""
            if hasattr(model, "history") and obj is not None and hasattr(obj, "history"):
                latest = obj.history.order_by("-history_id").first()
                history_id = latest.history_id if latest else 999999999
            url = fill(route, {}, [pk, history_id], default=pk)
            suffix = name.rsplit("_", 1)[-1] if name.startswith("admin:") else ""
            if name == "admin:":
                action = "redirect"
            elif name.endswith("_simple_history"):
                action = "history_version"
            elif suffix in ADMIN_VIEWS and name == f"admin:{model._meta.app_label}_{model._meta.model_name}_{suffix}":
                action = suffix
            else:
                action = name.split(f"{model._meta.app_label}_", 1)[-1] if name else route
            kind = "admin-model" if action in ADMIN_VIEWS | {"redirect", "history_version"} else "admin-custom"
            if name == "admin:billing_draftclaim_check":
                out.append(Endpoint(route, name, kind, url, "POST", model, obj, "check"))
            out.append(Endpoint(route, name, kind, url, "GET", model, obj, action))
            if name == "admin:billing_draftclaim_changelist":
                body = {"action": "check_selected", "_selected_action": [str(claim.pk)], "index": "0"}
                out.append(Endpoint(route, name, "admin-model", url, "POST", model, obj, "bulk_check", body))
        elif name.startswith("admin:"):
            if name == "admin:app_list":
                labels = re.search(r"\(\?P<app_label>([^)]*)\)", route).group(1).split("|")
                for label in labels:
                    out.append(Endpoint(route, name, "admin-site", fill(route, {"app_label": label}, []), action=label))
            elif name == "admin:view_on_site":
                ct = ContentType.objects.get_for_model(DraftClaim).pk
                url = fill(route, {"content_type_id": ct, "object_id": claim.pk}, [])
                out.append(Endpoint(route, name, "admin-site", url, model=DraftClaim, obj=claim, action="view_on_site"))
            elif name == "admin:":
                out.append(Endpoint(route, name, "admin-site", fill(route, {"url": "no-such-page/"}, []), action="404"))
            else:
                out.append(Endpoint(route, name, "admin-site", fill(route, {}, []), action=name.split(":", 1)[1]))
        elif cls is not None and route.startswith("api/"):
            out.extend(_api_endpoints(route, name, callback, cls, world))
        else:
            values, positional, model = {}, [], None
            params = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
            obj = None
            if params:
                model = guess_model(route)
                obj = target(model, world)
                for a, b in params:
                    values[a or b] = obj.pk
            known = name in PUBLIC_NAMES or name.startswith("billing-upload-")
            out.append(
                Endpoint(
                    route, name, "page" if known else "unknown", fill(route, values, positional), "GET", model, obj
                )
            )
    callbacks = {route: callback for route, _, callback in patterns}
    for ep in out:  # each URL reaches the view it was built for
        assert resolve(ep.url).func == callbacks[ep.route], ep.label
    return out, len(patterns)


def _api_endpoints(route, name, callback, cls, world) -> list[Endpoint]:
    out = []
    actions = dict(getattr(callback, "actions", None) or {})
    if "get" in actions:
        actions.setdefault("head", actions["get"])  # as DRF answers HEAD (it adds it on the first request)
    model = None
    queryset = getattr(cls, "queryset", None)
    if queryset is not None:
        model = queryset.model
    elif getattr(cls, "serializer_class", None) is not None and hasattr(cls.serializer_class, "Meta"):
        model = cls.serializer_class.Meta.model
    obj = target(model, world) if model is not None else None
    values = {}
    if "(?P<pk>" in route:
        values["pk"] = obj.pk if obj is not None else 999999999
    if "(?P<key>" in route:
        values["key"] = getattr(obj, "key", "no-such-key")
    values.update({"system": "icd10cm", "code": "M48.062"})
    url = fill(route, values, [])
    if actions:
        for method, action in actions.items():
            out.append(Endpoint(route, name, "api", url, method.upper(), model, obj, action, _api_body(action, obj)))
        if set(actions) <= {"get", "head"}:  # read-only: a write must be refused
            write = "POST" if actions["get"] == "list" else "DELETE"
            out.append(Endpoint(route, name, "api", url, write, model, obj, "write-read-only", {}))
    else:
        for method in ("get", "post", "put", "patch", "delete"):
            if hasattr(cls, method):
                body = contract_claim() if name == "claims-check" else None
                out.append(Endpoint(route, name, "api", url, method.upper(), model, obj, name, body))
    return out


def _api_body(action, obj):
    if action == "create":
        return claim_body(reference="MATRIX")
    if action == "update":
        return claim_body(reference="MATRIX", version=obj.version)
    if action == "partial_update":
        return {"reference": "MATRIX", "version": obj.version}
    return None


# -- what each role should get ---------------------------------------------------------------------------------------


def admin_allows(ep: Endpoint, what: str) -> bool:
    """Whether the model admin allows `what` (add/change/delete) at all (asked as a superuser: read-only admins)."""
    request = RequestFactory().get("/")
    request.user = type("Root", (), {"is_superuser": True, "is_active": True, "has_perm": lambda *a: True})()
    ma = admin.site._registry.get(ep.model)
    if ma is None:
        return True
    if what == "add":
        return ma.has_add_permission(request)
    return getattr(ma, f"has_{what}_permission")(request, ep.obj)


def expected(role: str, ep: Endpoint) -> set | str | None:
    """The statuses the role may get (a set), LOGIN, or None (unknown endpoint: the invariants only)."""
    perm = (lambda action: f"{ep.model._meta.app_label}.{action}_{ep.model._meta.model_name}") if ep.model else None
    anonymous = role == "anonymous"

    if ep.kind == "api":
        if ep.name == "schema":  # logged-in users only (token or session)
            return {401} if anonymous else {200}
        if ep.name == "api-docs":  # a browser page: without a session, the login page
            return LOGIN if anonymous else {200}
        if anonymous:
            return {401}
        if ep.action == "write-read-only":
            return {405} if has(role, perm("view")) else {403, 405}
        if ep.name == "claims-check":
            return {200} if has(role, "billing.check_claim") else DENY
        if ep.name == "code-lookup":
            return {200} if has(role, "codes.view_release") else DENY
        if ep.action == "check":
            if not has(role, "billing.check_claim"):
                return DENY
            return {200} if sees(role, ep.obj) else {404}
        need = API_ACTIONS.get(ep.action)
        if need is None:
            return None
        if not has(role, perm(need)):
            return DENY
        if ep.action == "create":
            return {201}
        if ep.action == "list":
            return {200}
        if not sees(role, ep.obj):
            return {404}
        return {204} if ep.action == "destroy" else {200}

    if ep.kind == "page":
        if ep.name == "health":
            return {200, 503}  # public; 503 when a service it checks is down (no Celery worker in this test)
        if ep.name in PUBLIC_NAMES:
            return {302} if ep.name == "" else {200}
        if anonymous:
            return LOGIN
        if not has(role, perm("view")):
            return DENY
        return {200} if sees(role, ep.obj) else {404}

    if ep.kind == "admin-site":
        if ep.name == "admin:login":
            return {200} if anonymous else {302}
        if ep.name == "admin:logout" and anonymous:
            return {302}  # to the admin's index (then its login page)
        if anonymous:
            return LOGIN
        if ep.name == "admin:logout":
            return {405}  # GET is refused: logging out takes a POST
        if ep.name == "admin:autocomplete":
            return DENY  # without a field to complete
        if ep.name in ("admin:view_on_site", "admin:"):
            return {404}
        if ep.name == "admin:app_list":
            perms = spec_perms(role)
            return {200} if perms is None or any(p.startswith(ep.action + ".") for p in perms) else {404}
        return {200}  # index, password change, jsi18n

    if ep.kind in ("admin-model", "admin-custom"):
        if anonymous:
            return LOGIN
        can_view = has(role, perm("view")) or has(role, perm("change"))
        visible = sees(role, ep.obj)
        match ep.action:
            case "changelist":
                return {200} if can_view else DENY
            case "add":
                return {200} if has(role, perm("add")) and admin_allows(ep, "add") else DENY
            case "change":
                if not can_view:
                    return DENY
                return {200} if visible else ADMIN_NOT_FOUND
            case "delete":
                if not (has(role, perm("delete")) and admin_allows(ep, "delete")):
                    return DENY if visible else DENY | ADMIN_NOT_FOUND
                return {200} if visible else ADMIN_NOT_FOUND
            case "history":
                if not visible:
                    return {302, 403, 404}
                return {200} if can_view else DENY
            case "history_version":
                if not visible:
                    return {403, 404}
                return {200} if can_view else DENY
            case "redirect":
                return {302}
            case "check":
                if not has(role, "billing.check_claim"):
                    return DENY
                return {302} if visible else {404}
            case "bulk_check":
                return {302} if has(role, "billing.check_claim") else DENY | {200}
            case "source_fetch_now":  # POST only; queues a refresh: the code-set administrator's (test_sources)
                return {405} if has(role, "codes.change_source") else DENY
            case "lookup":
                return {200} if has(role, "codes.view_release") else DENY
            case "release_diff":
                return {200} if has(role, "codes.view_release") else DENY
            case "draftclaim_queue":  # the work queue: no object; only the user's practices' claims (see _leak)
                return {200} if can_view else DENY
            case "batchupload_template":  # the uploads' CSV template: no object, no practice data
                return {200} if has(role, perm("add")) or can_view else DENY
            case "payerrule_new_version":
                if not visible:
                    return {404}
                return {200} if has(role, perm("change")) and has(role, perm("add")) else DENY
        return None
    return None  # unknown


# -- the test ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def matrix_world(world):
    """More objects for the admin pages to be tried on: a release, schedules, a login attempt."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_celery_beat.models import (
        ClockedSchedule,
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
        SolarSchedule,
    )

    code_models.Release.objects.create(
        kind="pos",
        label="POS test",
        effective_from=timezone.localdate().replace(month=1, day=1),
        status=code_models.Release.Status.LOADED,
        sha256="matrix",
    )
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.DAYS)
    PeriodicTask.objects.create(name="matrix", task="codes.tasks.nothing", interval=every)
    CrontabSchedule.objects.create()
    SolarSchedule.objects.create(event="sunrise", latitude=40, longitude=-74)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    AccessAttempt.objects.create(username="x", ip_address="10.0.0.1", failures_since_start=1, get_data="", post_data="")
    AccessLog.objects.create(username="x", ip_address="10.0.0.1")
    AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1")
    return world


def fingerprint(world) -> tuple:
    """What a denied write must leave as it was: practice A's claims, lines and checks, uploads and rules."""
    claims = tuple(
        DraftClaim.objects.filter(practice=world.a)
        .order_by("pk")
        .values_list("pk", "reference", "version", "status", "payer_id", "diagnoses")
    )
    lines = tuple(
        DraftClaim.objects.filter(practice=world.a).order_by("lines__pk").values_list("lines__pk", "lines__code")
    )
    return (
        claims,
        lines,
        ClaimCheck.objects.filter(practice=world.a).count(),
        BatchUpload.objects.filter(practice=world.a).count(),
        tuple(PayerRule.objects.filter(practice=world.a).values_list("pk", "version")),
    )


def do(role: str, ep: Endpoint, api, web):
    client = api if ep.kind == "api" and ep.name not in ("schema", "api-docs") else web
    url = ep.url
    if ep.kind == "api" and role == "superuser" and (ep.action == "create" or ep.name == "claims-check"):
        url += "?practice=demo"  # a superuser works for every practice: the API asks which
    method = getattr(client, ep.method.lower())
    if ep.kind == "api":
        return method(url, ep.body, format="json") if ep.body is not None else method(url)
    return method(url, ep.body) if ep.body is not None else method(url)


WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.mark.parametrize("role", list(TEST_ROLES))
def test_authorisation_matrix(role, matrix_world, api_for, web_for):
    world = matrix_world
    eps, pattern_count = endpoints(world)
    api, web = api_for(role), web_for(role)
    web.raise_request_exception = False  # a 500 is a failure to report, not an exception to stop at
    failures, outcomes, unknown = [], Counter(), []
    a_claims = {c.pk for c in DraftClaim.objects.filter(practice=world.a)}
    a_checks = {c.pk for c in ClaimCheck.objects.filter(practice=world.a)}

    for ep in eps:
        want = expected(role, ep)
        before = fingerprint(world) if ep.method in WRITES else None
        with transaction.atomic():
            response = do(role, ep, api, web)
            status = response.status_code
            after = fingerprint(world) if ep.method in WRITES else None
            transaction.set_rollback(True)
        outcomes[status] += 1
        problem = None
        if status >= 500 and not (ep.name == "health" and status == 503):
            problem = "server error"
        elif want == LOGIN:
            if not (status == 302 and "/admin/login/" in response["Location"]):
                problem = "expected the login page"
        elif want is not None and status not in want:
            problem = f"expected {sorted(want)}"
        elif want is None:
            unknown.append(ep.label)
            if role == "anonymous" and status == 200:
                problem = "anonymous got 200 on an endpoint that is not public"
            if role == "no_role" and status == 200:
                problem = "a member without a role got 200"
            if role == "other_billing" and ep.obj is not None and status == 200 and not sees(role, ep.obj):
                problem = "another practice's staff got 200 on practice A's object"
        if problem is None and ep.method in WRITES and before != after:
            if status not in (200, 201, 204, 302):
                problem = "a refused write changed data"
            elif role == "other_billing":
                problem = "another practice's staff changed practice A's data"
        if problem is None and status == 200 and role == "other_billing":
            problem = _leak(ep, response, a_claims, a_checks, world)
        if problem:
            failures.append(f"{role}: {ep.label} -> {status}: {problem}")

    record_figures(
        f"authz_matrix_{role}",
        {
            "role": role,
            "url_patterns": pattern_count,
            "requests": len(eps),
            "unknown_endpoints_invariants_only": len(unknown),
            "statuses": dict(sorted(outcomes.items())),
            "failures": len(failures),
        },
    )
    assert not failures, "\n".join(failures)


def _leak(ep: Endpoint, response, a_claims: set, a_checks: set, world) -> str | None:
    """Practice A's objects must not appear in what another practice's staff are shown."""
    if ep.kind == "api" and ep.action == "list" and ep.method == "GET":
        ids = {row.get("id") for row in response.json().get("results", [])}
        if ep.model is DraftClaim and ids & a_claims:
            return "practice A's claims listed"
        if ep.model is ClaimCheck and ids & a_checks:
            return "practice A's checks listed"
        if ep.model is PayerRule and world.rule_a.pk in ids:
            return "practice A's rule override listed"
    if ep.action == "draftclaim_queue" and response.context is not None:
        queued = {item.claim.pk for group in response.context["groups"] for item in group.items}
        if queued & a_claims:
            return "practice A's claims in the work queue"
    if ep.kind == "admin-model" and ep.action == "changelist" and response.context is not None:
        shown = {(type(o), o.pk) for o in response.context["cl"].result_list}
        if any(not sees("other_billing", o) for o in response.context["cl"].result_list):
            return f"practice A's objects in the list: {sorted(shown, key=str)[:3]}"
    return None


def test_groups_in_the_database_match_the_specification(world):
    """The matrix reads the roles' specification; the groups the database holds are exactly that."""
    for role, (group, _, _) in TEST_ROLES.items():
        if group is None:
            continue
        held = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=group).permissions.all()}
        assert held == spec_perms(role), role
