"""Catalogue pages and a session "cart" (a demo: no checkout, no stock)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from .models import Product

CART_SESSION_KEY = "cart"
MAX_QUANTITY = 99


def get_cart(request: HttpRequest) -> dict[str, int]:
    """The session cart: product slug -> quantity."""
    cart = request.session.get(CART_SESSION_KEY)
    if not isinstance(cart, dict):
        return {}
    return {k: v for k, v in cart.items() if isinstance(k, str) and isinstance(v, int)}


def cart_count(request: HttpRequest) -> int:
    return sum(get_cart(request).values())


@require_GET
def product_list(request: HttpRequest) -> HttpResponse:
    products = Product.objects.prefetch_related("garments")
    return render(
        request,
        "shop/product_list.html",
        {"products": products, "cart_count": cart_count(request)},
    )


@require_GET
def product_detail(request: HttpRequest, slug: str) -> HttpResponse:
    product = get_object_or_404(Product.objects.prefetch_related("garments"), slug=slug)
    return render(
        request,
        "shop/product_detail.html",
        {
            "product": product,
            "garment": product.tryon_garment,
            "cart_count": cart_count(request),
            "in_cart": get_cart(request).get(product.slug, 0),
        },
    )


@require_POST
def add_to_cart(request: HttpRequest, slug: str) -> HttpResponse:
    """Add one of a product to the session cart, then go back (or answer JSON).

    A try-on widget can post here with ``Accept: application/json`` to add to the cart
    without leaving the page.
    """
    product = get_object_or_404(Product, slug=slug)
    cart = get_cart(request)
    cart[product.slug] = min(cart.get(product.slug, 0) + 1, MAX_QUANTITY)
    request.session[CART_SESSION_KEY] = cart
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(
            {
                "product": product.slug,
                "quantity": cart[product.slug],
                "cart_count": cart_count(request),
            }
        )
    messages.success(request, f"{product.name} was added to your cart.")
    next_url = request.POST.get("next", "")
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect(product)


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    """What happens to a shopper's try-on photo (linked from the widget's consent box)."""
    from django_tryon.conf import get_setting

    return render(
        request,
        "shop/privacy.html",
        {
            "cart_count": cart_count(request),
            "person_hours": get_setting("PERSON_PHOTO_RETENTION_HOURS"),
            "result_days": get_setting("RESULT_RETENTION_DAYS"),
        },
    )
