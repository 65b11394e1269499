"""Template tags for shop pages: ``{% load tryon %}``.

``{% tryon_widget garment %}`` renders the "Try it on" button and its dialog. Both tags
take a garment, or a product of the shop's product model (``TRYON["CATALOGUE"]``): its
active garment is used, and nothing is rendered for a product without one.
"""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

from ..products import garment_of
from ..widget import render_widget

register = template.Library()

# Set on the HttpRequest once the widget's CSS and scripts were written into the page.
_ASSETS_FLAG = "_tryon_widget_assets"


@register.simple_tag(takes_context=True)
def tryon_widget(context, garment, **options):
    """Render the try-on button and dialog for ``garment``, or nothing when it cannot be used.

    Options: ``add_to_cart_url``, ``privacy_url``, ``label``, ``api_url``, ``house_models``,
    ``timeout_seconds``, ``template_name`` (docs/widget.md). Nothing is rendered for a
    missing or inactive garment, while try-on is switched off, or when the shop's budget or
    this shopper's daily quota is used up. The CSS, the translation catalog and the scripts
    are written once per page, with the first widget.
    """
    request = context.get("request")
    include_assets = True
    if request is not None:
        include_assets = not getattr(request, _ASSETS_FLAG, False)
    html = render_widget(request, garment_of(garment), include_assets=include_assets, **options)
    if html and request is not None:
        setattr(request, _ASSETS_FLAG, True)
    return html


# -- the gallery of approved catalogue results (review and publish, in the admin) -----------


@register.inclusion_tag("django_tryon/gallery.html")
def tryon_gallery(garment, limit: int = 12, title: str = ""):
    """``{% tryon_gallery garment %}``: the approved house-model results of ``garment``.

    Renders nothing for a missing garment or one without approved results. One query.
    """
    from ..catalogue import approved_results

    garment = garment_of(garment)
    results = list(approved_results(garment)[:limit]) if garment is not None else []
    return {"garment": garment, "results": results, "title": title or gettext("Worn by our models")}
