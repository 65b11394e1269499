"""A "Virtual try-on" entry in Oscar's dashboard menu, linking to the try-on admin pages
for staff who may see them."""

from __future__ import annotations

from django.conf import settings
from django.urls import NoReverseMatch, reverse

LABEL = "Virtual try-on"
PAGES = (
    ("Try-ons", "admin:django_tryon_tryonrequest_changelist", "view_tryonrequest"),
    ("Garments", "admin:django_tryon_garment_changelist", "view_garment"),
    ("Cost", "admin:django_tryon_tryonrequest_cost", "view_tryonrequest"),
)


def add_navigation() -> None:
    menu = list(getattr(settings, "OSCAR_DASHBOARD_NAVIGATION", None) or [])
    if any(item.get("label") == LABEL for item in menu):
        return
    children = [
        {"label": label, "url_name": url_name, "access_fn": _may(permission)}
        for label, url_name, permission in PAGES
    ]
    menu.append({"label": LABEL, "icon": "fas fa-tshirt", "children": children})
    settings.OSCAR_DASHBOARD_NAVIGATION = menu


def _may(permission: str):
    def access(user, url_name, url_args=None, url_kwargs=None) -> bool:
        if not (user.is_active and user.is_staff and user.has_perm(f"django_tryon.{permission}")):
            return False
        try:
            reverse(url_name, args=url_args, kwargs=url_kwargs)
        except NoReverseMatch:  # the Django admin is not mounted
            return False
        return True

    return access
