"""The product-page widget's markup: one Django template, for the tag and for the script.

``{% tryon_widget garment %}`` writes it into the shop's page; an empty ``<tryon-widget>``
written by a headless front-end fetches the same markup from ``GET api/widget/`` (the
:func:`markup` view). So the markup lives only in ``django_tryon/widget.html``, which a
shop overrides the Django way, and both paths show what it says.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import resolve_url
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .conf import get_setting

TEMPLATE = "django_tryon/widget.html"

#: The widget's script folder: tryon-widget.js, its loader, lists the parts it needs.
WIDGET_STATIC = Path(__file__).resolve().parent / "static" / "django_tryon" / "widget"


def _scripts() -> tuple[str, ...]:
    """The widget's scripts in the order they run: the parts tryon-widget.js lists in its
    ``PARTS`` (the one list, which its loader also uses when a page includes only it),
    then tryon-widget.js itself, which defines the element."""
    loader = (WIDGET_STATIC / "tryon-widget.js").read_text()
    parts = re.search(r"const PARTS = \{(.*?)\};", loader, re.S)
    if parts is None:  # pragma: no cover - the loader is shipped with the app
        raise RuntimeError("tryon-widget.js has no PARTS list")
    return (*re.findall(r'"(tryon-[\w-]+\.js)"', parts.group(1)), "tryon-widget.js")


SCRIPTS = _scripts()


def render_widget(
    request,
    garment,
    *,
    include_assets: bool,
    add_to_cart_url: str = "",
    privacy_url: str = "",
    label: str = "",
    api_url: str = "",
    house_models: bool | None = None,
    timeout_seconds: int = 180,
    template_name: str = TEMPLATE,
) -> str:
    """The widget for ``garment``, or "" when it cannot be used by this shopper now.

    Nothing for a missing or inactive garment, one no provider the widget's try-ons go to
    can try on (a hat where only clothing is taken), while try-on is switched off, or when
    the shop's budget or this shopper's daily quota is used up (the button hides rather
    than shows an error).
    """
    from . import routing

    if garment is None or not getattr(garment, "active", False):
        return ""
    if not routing.offered("widget", garment.category) or not available(request):
        return ""
    if house_models is None:
        house_models = bool(get_setting("HOUSE_MODELS_FOR_SHOPPERS"))
    privacy = privacy_url or get_setting("PRIVACY_URL") or ""
    context = {
        "garment": garment,
        "uid": f"tryon-{secrets.token_hex(4)}",
        "label": label or gettext("Try it on"),
        "api_url": api_url or api_base(),
        "jsi18n_url": reverse("django_tryon:jsi18n"),
        "scripts": [f"django_tryon/widget/{name}" for name in SCRIPTS],
        "privacy_url": resolve_url(privacy) if privacy else "",
        "add_to_cart_url": add_to_cart_url,
        "retention_hours": get_setting("PERSON_PHOTO_RETENTION_HOURS"),
        "min_side": get_setting("MIN_IMAGE_SIDE"),
        "max_side": get_setting("MAX_PROVIDER_SIDE"),
        "timeout_seconds": int(timeout_seconds),
        "house_models": "auto" if house_models else "off",
        "csrf_token": get_token(request) if request is not None else "",
        "include_assets": include_assets,
        "funnel": bool(get_setting("FUNNEL")),
    }
    return render_to_string(template_name, context, request=request)


@never_cache
@require_GET
def markup(request):
    """``GET api/widget/?garment=<id>[&label=...]``: the markup for an empty element.

    404 for an unknown garment; an empty 200 when the widget is not offered now (the
    element then stays empty, as the tag would have written nothing). The label is the
    only text taken from the query, and the template escapes it.
    """
    from .models import Garment

    try:
        garment = Garment.objects.filter(pk=request.GET.get("garment", "")).first()
    except ValidationError:  # not a garment id at all
        garment = None
    if garment is None:
        raise Http404("No such garment.")
    html = render_widget(
        request, garment, include_assets=False, label=request.GET.get("label", "")[:100]
    )
    return HttpResponse(html, content_type="text/html; charset=utf-8")


def available(request) -> bool:
    """False when a new try-on by this shopper would be refused right now.

    Asks the same question as the API's quota endpoint (``GET api/quota/``), for the
    same owner: the signed-in user, or the random token the API keeps in the session.
    """
    if not get_setting("ENABLED"):
        return False
    from . import services
    from .callers import Caller
    from .models import Source

    caller = Caller.from_request(request, source=Source.WIDGET)
    return services.next_tryon_allowance(caller).available


def api_base() -> str:
    """The API's base URL, where django_tryon.urls mounted it (``.../api/``)."""
    return reverse("django_tryon:api:quota").removesuffix("quota/")
