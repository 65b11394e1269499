"""The shop's own products as garments (TRYON["CATALOGUE"]): the sync, its command, the
template tags that take a product, and a product's new picture reaching its garment."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.template import Context, Template
from shop.models import Product

from django_tryon.models import Garment
from kit import imagegen

pytestmark = pytest.mark.django_db

#: What the example shop's products are, by slug: the shop's own category names.
SHOP_CATEGORIES = {"tee": ["Tops", "Sale"], "jeans": ["Trousers"], "odd": ["Gift cards"]}


def categories_of(product):
    return SHOP_CATEGORIES.get(product.slug, [])


@pytest.fixture
def catalogue(settings):
    settings.TRYON = {
        **settings.TRYON,
        "CATALOGUE": {
            "PRODUCT_MODEL": "shop.Product",
            "IMAGE": "image",
            "NAME": "name",
            "CATEGORIES": "tests.unit.test_products.categories_of",
            "CATEGORY_MAP": {"tops": "upper", "Trousers": "lower"},
        },
    }


def product(slug, kind="upper", *, image=True):
    made = Product(name=slug.title(), slug=slug, price=Decimal("10"))
    if image:
        made.image.save(f"{slug}.jpg", ContentFile(imagegen.make_garment(kind)), save=False)
    made.save()
    return made


def sync(*args):
    out = StringIO()
    try:
        call_command("tryon_sync_garments", *args, stdout=out)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue()


def test_one_garment_per_product_and_again_changes_nothing(catalogue):
    tee, jeans, odd = product("tee"), product("jeans", "lower"), product("odd")
    bare = product("bare", image=False)
    SHOP_CATEGORIES["bare"] = ["Tops"]
    try:
        code, out = sync("--dry-run")
        assert code == 1 and Garment.objects.count() == 0
        assert "would be created: Tee" in out and "2 would be created" in out
        code, out = sync()
    finally:
        del SHOP_CATEGORIES["bare"]
    assert code == 1  # two could not be placed: said, not guessed
    assert (
        f"skipped: Odd ({odd.pk}): no category in CATEGORY_MAP (its categories: Gift cards)" in out
    )
    assert f"skipped: Bare ({bare.pk}): it has no image" in out
    garments = {g.product: g for g in Garment.objects.all()}
    assert {p.slug: g.category for p, g in garments.items()} == {"tee": "upper", "jeans": "lower"}
    assert garments[tee].name == "Tee" and garments[tee].image_digest
    before = {g.pk: (g.image.name, g.updated_at) for g in Garment.objects.all()}
    code, out = sync("--product", str(tee.pk), "--product", str(jeans.pk))
    assert code == 0 and "0 created, 0 updated, 2 unchanged, 0 skipped" in out
    assert {g.pk: (g.image.name, g.updated_at) for g in Garment.objects.all()} == before


def test_two_mapped_categories_are_not_guessed(catalogue, settings):
    settings.TRYON["CATALOGUE"]["CATEGORY_MAP"] = {"tops": "upper", "sale": "lower"}
    product("tee")
    code, out = sync()
    assert code == 1 and "its categories map to more than one: lower, upper" in out
    assert not Garment.objects.exists()


def test_a_shops_shoes_become_shoes(catalogue, settings):
    """CATEGORY_MAP may name any garment category, accessories included."""
    settings.TRYON["CATALOGUE"]["CATEGORY_MAP"] = {"Footwear": "shoes"}
    SHOP_CATEGORIES["boots"] = ["Footwear"]
    try:
        product("boots")
        code, out = sync()
    finally:
        del SHOP_CATEGORIES["boots"]
    assert code == 0, out
    assert Garment.objects.get().category == "shoes"


def test_bad_input_is_one_line_and_exit_code_2(settings, catalogue):
    assert sync("--product", "999999")[0] == 2
    settings.TRYON = {**settings.TRYON, "CATALOGUE": None}
    with pytest.raises(CommandError, match="Set TRYON\\['CATALOGUE'\\]") as caught:
        call_command("tryon_sync_garments")
    assert caught.value.returncode == 2


def test_a_new_picture_reaches_the_products_garment(catalogue, django_capture_on_commit_callbacks):
    tee = product("tee")
    sync()
    garment = Garment.objects.get()
    old = garment.image_digest
    with django_capture_on_commit_callbacks(execute=True):
        tee.image.save("tee2.jpg", ContentFile(imagegen.make_garment("upper", 700)))
    garment.refresh_from_db()
    assert garment.image_digest != old


def test_the_tags_take_a_product(catalogue, rf):
    tee = product("tee")
    page = Template("{% load tryon %}{% tryon_widget product %}")
    request = rf.get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    assert page.render(Context({"product": tee, "request": request})).strip() == ""
    sync()
    html = page.render(Context({"product": tee, "request": request}))
    assert f'garment="{Garment.objects.get().pk}"' in html
    gallery = Template("{% load tryon %}{% tryon_gallery product %}")
    assert gallery.render(Context({"product": tee})).strip() == ""  # nothing approved yet


def test_the_admin_action_makes_garments_and_says_what_it_skipped(catalogue, admin_client):
    from django.contrib.messages import get_messages

    tee, odd = product("tee"), product("odd")
    response = admin_client.post(
        "/admin/shop/product/",
        {"action": "sync_garments", "_selected_action": [tee.pk, odd.pk]},
        follow=True,
    )
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Try-on garments: 1 created, 0 updated, 0 unchanged." in said
    assert any(m.startswith("Skipped Odd: no category in CATEGORY_MAP") for m in said)
    assert [g.product for g in Garment.objects.all()] == [tee]


def test_money_is_in_oscars_currency_unless_tryon_names_one(settings):
    """A django-oscar shop's cost page showed "$" while it priced in pounds (issue 23)."""
    from django_tryon.conf import get_setting

    settings.OSCAR_DEFAULT_CURRENCY = "GBP"
    settings.TRYON = {k: v for k, v in settings.TRYON.items() if k != "CURRENCY"}
    assert get_setting("CURRENCY") == "GBP"
    settings.TRYON = {**settings.TRYON, "CURRENCY": "EUR"}
    assert get_setting("CURRENCY") == "EUR"


def test_money_is_written_as_a_shop_in_that_currency_writes_it():
    """The Oscar shop's cost page read "0.28 GBP" beside Oscar's own "£20.00"."""
    from decimal import Decimal

    from django_tryon.admin.display import money

    assert money(Decimal("0.28"), "GBP") == "£0.28"
    assert money(Decimal("1234.5"), "EUR") == "€1,234.50"
    assert money(Decimal("0.14"), "USD") == "$0.14"
    assert money(Decimal("12.5"), "CHF") == "12.50 CHF"
    assert money(Decimal("2"), "units") == "2 units"
    assert money(Decimal("1"), "images") == "1 image"
    assert money(Decimal("8.0000"), "credits") == "8 credits"
