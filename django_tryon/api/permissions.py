"""Who may use the shopper endpoints."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from ..conf import get_setting


class ShopperAccess(BasePermission):
    """Signed-in users always; anonymous shoppers while TRYON['API_ALLOW_ANONYMOUS'] is on."""

    message = "Please sign in to use virtual try-on."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated) or bool(get_setting("API_ALLOW_ANONYMOUS"))
