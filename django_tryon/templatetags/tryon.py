"""Template tags for shop pages: ``{% load tryon %}``.

``{% tryon_widget garment %}`` renders the "Try it on" button and its dialog.
"""

from __future__ import annotations

import secrets

from django import template
from django.middleware.csrf import get_token
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext

from ..conf import get_setting

register = template.Library()

# Set on the HttpRequest once the widget's CSS and scripts were written into the page.
_ASSETS_FLAG = "_tryon_widget_assets"


@register.simple_tag(takes_context=True)
def tryon_widget(
    context,
    garment,
    *,
    add_to_cart_url: str = "",
    privacy_url: str = "",
    label: str = "",
    api_url: str = "",
    house_models: bool | None = None,
    timeout_seconds: int = 180,
    template_name: str = "django_tryon/widget.html",
):
    """Render the try-on button and dialog for ``garment``, or nothing when it cannot be used.

    Nothing is rendered for a missing or inactive garment, while try-on is switched off,
    or when the shop's budget or this shopper's daily quota is used up (the button hides
    rather than shows an error). The CSS, the translation catalog and the script are
    written once per page, with the first widget.
    """
    request = context.get("request")
    if garment is None or not getattr(garment, "active", False):
        return ""
    if not _available(request):
        return ""
    include_assets = True
    if request is not None:
        include_assets = not getattr(request, _ASSETS_FLAG, False)
        setattr(request, _ASSETS_FLAG, True)
    if house_models is None:
        house_models = bool(get_setting("HOUSE_MODELS_FOR_SHOPPERS"))
    privacy = privacy_url or get_setting("PRIVACY_URL") or ""
    widget_context = {
        "garment": garment,
        "uid": f"tryon-{secrets.token_hex(4)}",
        "label": label or gettext("Try it on"),
        "api_url": api_url or _api_url(),
        "jsi18n_url": reverse("django_tryon:jsi18n"),
        "privacy_url": resolve_url(privacy) if privacy else "",
        "add_to_cart_url": add_to_cart_url,
        "retention_hours": get_setting("PERSON_PHOTO_RETENTION_HOURS"),
        "min_side": get_setting("MIN_IMAGE_SIDE"),
        "max_side": get_setting("MAX_PROVIDER_SIDE"),
        "timeout_seconds": int(timeout_seconds),
        "house_models": "auto" if house_models else "off",
        "csrf_token": get_token(request) if request is not None else "",
        "include_assets": include_assets,
    }
    return render_to_string(template_name, widget_context, request=request)


def _available(request) -> bool:
    """False when a new try-on by this shopper would be refused right now.

    Asks the same question as the API's quota endpoint (``GET api/quota/``), for the
    same owner: the signed-in user, or the random token the API keeps in the session.
    """
    if not get_setting("ENABLED"):
        return False
    from .. import quotas, services
    from ..api.permissions import is_staff
    from ..pipeline.identity import owner_key_of

    allowance = quotas.remaining(
        owner_key_of(request),
        enforce_shopper=not is_staff(getattr(request, "user", None)),
        next_charge=services.estimated_charge(),
    )
    return allowance.available


def _api_url() -> str:
    """The API's base URL, where django_tryon.urls mounted it (``.../api/``)."""
    return reverse("django_tryon:api:quota").removesuffix("quota/")


# -- the gallery of approved catalogue results (review and publish, in the admin) -----------


@register.inclusion_tag("django_tryon/gallery.html")
def tryon_gallery(garment, limit: int = 12, title: str = ""):
    """``{% tryon_gallery garment %}``: the approved house-model results of ``garment``.

    Renders nothing for a missing garment or one without approved results. One query.
    """
    from ..catalogue import approved_results

    results = list(approved_results(garment)[:limit]) if garment is not None else []
    return {"garment": garment, "results": results, "title": title or gettext("Worn by our models")}
