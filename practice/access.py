"""Who an API token's user is, what they may do and which practices they work for, kept by each process.

An API call used to spend four queries and a quarter of its time on this (the token and its user, the user's
permissions, the group permissions, the practices) although none of it changes from one call to the next. Here
it is read once per user and kept in the process with the access generation it was read under
(``practice.models.AccessStamp``). Each call reads the generation together with its token (in the same query as
the rest it needs: ``billing.claims.checker.stamp_for_token``); a different generation reads the user again. The
generation goes up, in the same transaction, on every save or delete of a practice membership, a practice, a
user (not a login's ``last_login``), a group, a permission or a token, and on every change of a user's groups or
permissions or a group's permissions: the next call anywhere sees the change. (``QuerySet.update()`` sends no
signal: code changing these by ``update()`` must call :func:`bump`.) A deleted token or user is never served from
the cache: the token is looked up on every call.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import F
from django.db.models.signals import m2m_changed, post_delete, post_save

MAX_USERS = 10_000  # cached users per process; the cache starts afresh beyond


@dataclass(frozen=True)
class Access:
    user: object  # the user, its permissions cached on it (ModelBackend's _perm_cache)
    practices: tuple  # the practices the user works for (practice.selectors.practices_for), in key order


_lock = threading.Lock()
_cache: dict[int, tuple[int, Access]] = {}


def access_for(user_id: int, generation: int) -> Access | None:
    """The user's access as of ``generation``: from the cache, else read (three queries) and kept. None when the
    user is gone or inactive."""
    with _lock:
        hit = _cache.get(user_id)
    if hit is None or hit[0] != generation:
        from practice.selectors import practices_for

        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None or not user.is_active:
            return None
        user.get_all_permissions()  # fills the permission caches has_perm() reads
        access = Access(user, tuple(practices_for(user).order_by("key")))
        with _lock:
            if len(_cache) >= MAX_USERS:
                _cache.clear()
            _cache[user_id] = (generation, access)
        hit = (generation, access)
    access = hit[1]
    return Access(copy.copy(access.user), access.practices)  # a request may set attributes on its user


def clear() -> None:
    """Forget every cached user (tests)."""
    with _lock:
        _cache.clear()


def bump() -> None:
    """Raise the access generation: every process reads its users again on their next call."""
    from practice.models import AccessStamp

    if not AccessStamp.objects.filter(pk=1).update(generation=F("generation") + 1):
        AccessStamp.objects.get_or_create(pk=1, defaults={"generation": 1})


def _changed(sender, **kwargs) -> None:
    if kwargs.get("raw"):
        return  # fixtures loading
    fields = kwargs.get("update_fields")
    if fields is not None and set(fields) <= {"last_login"}:
        return  # a login: nothing about access changed
    bump()


def _m2m_changed(sender, action, **kwargs) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        bump()


def connect() -> None:
    """Connect the signals that raise the generation (PracticeConfig.ready)."""
    from rest_framework.authtoken.models import Token

    from practice.models import Practice, PracticeMembership

    user_model = get_user_model()
    for model in (PracticeMembership, Practice, user_model, Group, Permission, Token):
        post_save.connect(_changed, sender=model, dispatch_uid=f"access-save-{model._meta.label}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"access-delete-{model._meta.label}")
    for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
        m2m_changed.connect(_m2m_changed, sender=through, dispatch_uid=f"access-m2m-{through._meta.label}")
