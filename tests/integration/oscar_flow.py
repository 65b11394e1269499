"""Run inside a django-oscar shop built by test_oscar_shop.py: Oscar products with images
and categories become garments, Oscar's product page shows the try-on, the widget's
"Add to cart" lands in Oscar's basket, and an order of a tried-on product is counted.
Prints one JSON object of what it saw.

``python oscar_flow.py`` runs the whole flow with Django's test client;
``catalogue`` only makes the catalogue and a shopper for a browser to use, and
``order USER`` places that shopper's order and says what was counted."""

from __future__ import annotations

import io
import json
import os
import sys
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oscarshop.settings")
import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from oscar.core.loading import get_class, get_model  # noqa: E402
from PIL import Image  # noqa: E402

from django_tryon.callers import owner_key_for  # noqa: E402
from django_tryon.models import FunnelDay, Garment, TryOnRequest  # noqa: E402
from django_tryon.status import Status  # noqa: E402

Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductImage = get_model("catalogue", "ProductImage")
Category = get_model("catalogue", "Category")
ProductCategory = get_model("catalogue", "ProductCategory")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Basket = get_model("basket", "Basket")


def picture(color) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (600, 800), color).save(buf, "JPEG")
    return buf.getvalue()


def product(title, product_class, category, stock):
    made = Product.objects.create(title=title, product_class=product_class, upc=title[:8])
    if category is not None:
        ProductCategory.objects.create(product=made, category=category)
    image = ProductImage(product=made, display_order=0)
    image.original.save(f"p{made.pk}.jpg", ContentFile(picture((200, 30, 40))), save=True)
    StockRecord.objects.create(
        product=made,
        partner=Partner.objects.get_or_create(name="Warehouse")[0],
        partner_sku=f"SKU{made.pk}",
        price=Decimal("20.00"),
        num_in_stock=stock,
    )
    return made


def sync() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("tryon_sync_garments", stdout=out)
        return 0, out.getvalue()
    except CommandError as exc:
        return exc.returncode, out.getvalue()


def add(client, item):
    client.get("/tryon/api/quota/")  # what the widget reads first: session and CSRF cookie
    token = client.cookies["csrftoken"].value
    answer = client.post(
        f"/tryon/oscar/basket/add/{item.pk}/",
        headers={"Accept": "application/json", "X-CSRFToken": token},
    )
    return answer.status_code, answer.json()


def place_order(user):
    basket = Basket.objects.get(owner=user, status=Basket.OPEN)
    basket.strategy = get_class("partner.strategy", "Selector")().strategy(user=user)
    shipping = get_class("shipping.methods", "Free")()
    charge = shipping.calculate(basket)
    total = get_class("checkout.calculators", "OrderTotalCalculator")().calculate(basket, charge)
    return get_class("order.utils", "OrderCreator")().place_order(
        basket=basket,
        total=total,
        shipping_method=shipping,
        shipping_charge=charge,
        user=user,
        order_number="100001",
    )


def catalogue() -> dict:
    """Oscar products with pictures, categories and stock, as a merchant makes them."""
    shirts = ProductClass.objects.create(name="Shirts", requires_shipping=False)
    cards = ProductClass.objects.create(name="Cards", requires_shipping=False)
    tops = Category.add_root(name="Tops")
    tees = tops.add_child(name="Shirts")
    return {
        "red": product("Red shirt", shirts, tees, 5),
        "sold_out": product("Sold-out shirt", shirts, tees, 0),
        "card": product("Gift card", cards, None, 5),
    }


def main() -> dict:
    made = catalogue()
    red, sold_out = made["red"], made["sold_out"]
    seen = {"sync": sync(), "again": sync()}
    seen["garments"] = {g.name: g.category for g in Garment.objects.all()}

    browser = Client()
    page = browser.get(red.get_absolute_url())
    html = page.content.decode()
    seen["page"] = [
        page.status_code,
        "<tryon-widget" in html,
        f"/tryon/oscar/basket/add/{red.pk}/" in html,
    ]
    seen["add"] = add(browser, red)
    seen["sold_out"] = add(browser, sold_out)
    basket = browser.get("/basket/").content.decode()
    seen["basket_has_red"] = "Red shirt" in basket and "Sold-out shirt" not in basket

    user = get_user_model().objects.create_user("carol", "carol@example.com", "pw")
    shopper = Client()
    shopper.force_login(user)
    TryOnRequest.objects.create(
        garment=Garment.objects.get(name="Red shirt"),
        owner=user,
        owner_key=owner_key_for(user),
        status=Status.SUCCEEDED,
        provider="kling",
        source="widget",
        completed_at=timezone.now(),
    )
    seen["signed_in_add"] = add(shopper, red)
    seen["order"] = place_order(user).number
    seen["funnel"] = {d.garment.name: d.ordered for d in FunnelDay.objects.all()}

    staff = get_user_model().objects.create_superuser("boss", "boss@example.com", "pw")
    dashboard = Client()
    dashboard.force_login(staff)
    seen["dashboard_link"] = (
        "/admin/django_tryon/tryonrequest/" in dashboard.get("/dashboard/").content.decode()
    )
    return seen


def for_a_browser() -> dict:
    """``catalogue``: the catalogue synced, a shopper and a merchant who can sign in."""
    made = catalogue()
    sync()
    get_user_model().objects.create_user("carol", "carol@example.com", "carol-password-1")
    get_user_model().objects.create_superuser("boss", "boss@example.com", "boss-password-1")
    return {"red": made["red"].get_absolute_url(), "red_pk": made["red"].pk}


def order_for(username: str) -> dict:
    """``order USER``: what is in the shopper's basket, then their order placed through
    Oscar's order creator, and the funnel's counts after it."""
    user = get_user_model().objects.get(username=username)
    basket = Basket.objects.get(owner=user, status=Basket.OPEN)
    lines = {line.product.title: line.quantity for line in basket.all_lines()}
    number = place_order(user).number
    funnel = {
        d.garment.name: {"added_to_cart": d.added_to_cart, "ordered": d.ordered}
        for d in FunnelDay.objects.all()
    }
    tryons = [[r.status, r.results.count()] for r in TryOnRequest.objects.all()]
    return {"basket": lines, "order": number, "funnel": funnel, "tryons": tryons}


if __name__ == "__main__":
    command = sys.argv[1:] or ["flow"]
    if command[0] == "catalogue":
        seen = for_a_browser()
    elif command[0] == "order":
        seen = order_for(command[1])
    else:
        seen = main()
    sys.stdout.write(json.dumps(seen) + "\n")
