"""API permissions shared by the apps: every endpoint needs a role's permission, not just a login."""

from __future__ import annotations

from rest_framework import permissions


class ModelPermissions(permissions.DjangoModelPermissions):
    """Django model permissions, with 'view' required for reads (GET and HEAD) too."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }

    def has_permission(self, request, view):
        user = request.user
        if user and user.is_authenticated and getattr(view, request.method.lower(), None) is None:
            return True  # a method the endpoint does not have: let it answer 405, not 403
        return super().has_permission(request, view)


def require_perms(*perms: str) -> type[permissions.BasePermission]:
    """A permission class: an authenticated, active user holding every one of ``perms``."""

    class HasPerms(permissions.BasePermission):
        message = f"you need the permission {', '.join(perms)} (ask for the right role)"

        def has_permission(self, request, view):
            user = request.user
            return bool(user and user.is_authenticated and user.is_active and user.has_perms(perms))

    HasPerms.__name__ = HasPerms.__qualname__ = "Has_" + "_".join(p.replace(".", "_") for p in perms)
    return HasPerms
