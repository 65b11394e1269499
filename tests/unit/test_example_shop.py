"""The example shop: demo data, catalogue pages, the session cart, and demo media serving."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.http import Http404
from django.test import RequestFactory
from django.urls import reverse
from PIL import Image
from shop.demo_images import GARMENT_KINDS, KIND_CATEGORY, garment_image, person_image
from shop.models import Product

from django_tryon.models import Garment, ModelPhoto

pytestmark = pytest.mark.django_db

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "example_project"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded():
    seed()


def open_field(field) -> Image.Image:
    with field.open("rb") as fh:
        im = Image.open(io.BytesIO(fh.read()))
        im.load()  # decodes every pixel, not only the header
    return im


def make_product(slug="plain-tee", **kwargs) -> Product:
    defaults = {"name": "Plain tee", "price": Decimal("12.50"), "description": "Soft."}
    return Product.objects.create(slug=slug, **{**defaults, **kwargs})


def link_garment(product: Product, *, category="upper", active=True, name=None) -> Garment:
    garment = Garment(
        name=name or product.name,
        category=category,
        active=active,
        product_type=ContentType.objects.get_for_model(Product),
        product_id=str(product.pk),
    )
    garment.image.save(
        "g.png", ContentFile(garment_image(category, (10, 120, 60), 400)), save=False
    )
    garment.save()
    return garment


# -- seed_demo --------------------------------------------------------------------------------


def test_seed_demo_creates_garments_models_products_and_admin(seeded):
    garments = list(Garment.objects.all())
    assert len(garments) == 6
    assert Counter(g.category for g in garments) == {"upper": 2, "lower": 2, "dress": 2}
    assert {g.name for g in garments} == {
        "Red T-shirt",
        "Striped shirt",
        "Blue jeans",
        "Khaki shorts",
        "Summer dress",
        "Evening dress",
    }
    assert all(g.active for g in garments)

    assert set(ModelPhoto.objects.values_list("name", flat=True)) == {"Alex", "Sam", "Jordan"}

    products = list(Product.objects.all())
    assert len(products) == 6
    for product in products:
        garment = product.tryon_garment
        assert garment is not None, product
        assert garment.name == product.name
        assert garment.product == product
        assert product.price > 0 and product.description

    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("admin")


def test_seed_demo_images_are_decodable_and_large_enough(seeded):
    for garment in Garment.objects.all():
        assert garment.image.name.startswith("tryon/garments/")
        im = open_field(garment.image)
        assert im.format in ("PNG", "JPEG")
        assert min(im.size) >= 800
        assert im.getpixel((3, 3))[:3] == (255, 255, 255)  # plain white background
    for photo in ModelPhoto.objects.all():
        assert photo.image.name.startswith("tryon/models/")
        im = open_field(photo.image)
        assert im.format == "JPEG"
        assert im.size == (768, 1024)
    for product in Product.objects.all():
        assert product.image.name.startswith("shop/products/")
        im = open_field(product.image)
        assert min(im.size) >= 300


def test_seed_demo_model_photos_differ(seeded):
    digests = {open_field(p.image).resize((32, 32)).tobytes() for p in ModelPhoto.objects.all()}
    assert len(digests) == 3


def test_seed_demo_is_idempotent(seeded):
    before = {
        "garments": sorted(Garment.objects.values_list("pk", "image")),
        "models": sorted(ModelPhoto.objects.values_list("pk", "image")),
        "products": sorted(Product.objects.values_list("pk", "image")),
        "users": get_user_model().objects.count(),
    }
    output = seed()
    after = {
        "garments": sorted(Garment.objects.values_list("pk", "image")),
        "models": sorted(ModelPhoto.objects.values_list("pk", "image")),
        "products": sorted(Product.objects.values_list("pk", "image")),
        "users": get_user_model().objects.count(),
    }
    assert after == before
    assert output.count("0 created") == 3
    assert "already exists" in output


def test_seed_demo_prints_summary_and_admin_login():
    output = seed()
    assert "6 created" in output
    assert "3 created" in output
    assert "admin" in output and "password 'admin'" in output
    assert "/admin/" in output


def test_seed_demo_admin_password_option():
    seed("--admin-password", "s3cret-pass")
    assert get_user_model().objects.get(username="admin").check_password("s3cret-pass")


def test_seed_demo_leaves_an_existing_admin_alone():
    get_user_model().objects.create_user("admin", password="mine")
    output = seed()
    user = get_user_model().objects.get(username="admin")
    assert user.check_password("mine")
    assert not user.is_superuser
    assert "password unchanged" in output


def test_seed_demo_no_admin_option():
    seed("--no-admin")
    assert not get_user_model().objects.filter(username="admin").exists()


def test_seed_demo_makes_garments_through_the_catalogue_sync(seeded):
    """The demo's garments come from its products (TRYON["CATALOGUE"]), as a shop's do: a
    product's category maps to the garment's, and a lost garment is made again."""
    jeans = Product.objects.get(slug="blue-jeans")
    assert jeans.category == "Jeans" and jeans.tryon_garment.category == "lower"
    jeans.garments.all().delete()
    assert "1 created" in seed().split("Garments:", 1)[1].splitlines()[0]
    assert Product.objects.get(slug="blue-jeans").tryon_garment.category == "lower"
    assert Garment.objects.count() == 6


# -- demo_images ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(GARMENT_KINDS))
def test_garment_image_draws_every_kind(kind):
    data = garment_image(kind, (200, 30, 40))
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == "PNG" and im.mode == "RGB" and im.size == (800, 800)
    # White corners, the garment's colour somewhere in the middle.
    assert im.getpixel((0, 0)) == (255, 255, 255)
    assert im.getpixel((799, 799)) == (255, 255, 255)
    colours = im.resize((40, 40)).getcolors(40 * 40)
    assert any(c != (255, 255, 255) for _, c in colours)
    assert KIND_CATEGORY[kind] in {"upper", "lower", "dress"}


def test_garment_image_accepts_categories_sizes_and_jpeg():
    for category in ("upper", "lower", "dress"):
        im = Image.open(io.BytesIO(garment_image(category, (0, 0, 200), size=512, fmt="JPEG")))
        assert im.format == "JPEG" and im.size == (512, 512)
    assert garment_image("upper", (1, 2, 3)) == garment_image("upper", (1, 2, 3))  # deterministic
    assert garment_image("upper", (1, 2, 3)) != garment_image("upper", (200, 2, 3))


@pytest.mark.parametrize(
    ("kind", "color"), [("hat", (1, 2, 3)), ("upper", (256, 0, 0)), ("upper", (1, 2))]
)
def test_garment_image_refuses_bad_arguments(kind, color):
    with pytest.raises(ValueError):
        garment_image(kind, color)


def test_person_image_is_a_portrait_jpeg_per_seed():
    data = person_image(0)
    im = Image.open(io.BytesIO(data))
    im.load()
    assert im.format == "JPEG" and im.size == (768, 1024)
    assert person_image(0) == data
    assert person_image(1) != data
    small = Image.open(io.BytesIO(person_image(5, size=(300, 400))))
    assert small.size == (300, 400)


# -- Product ----------------------------------------------------------------------------------


def test_tryon_garment_is_the_first_active_garment():
    product = make_product()
    assert product.tryon_garment is None
    link_garment(product, active=False, name="Old")
    assert product.tryon_garment is None
    first = link_garment(product, name="First")
    link_garment(product, name="Second")
    assert product.tryon_garment == first
    prefetched = Product.objects.prefetch_related("garments").get(pk=product.pk)
    assert prefetched.tryon_garment == first
    assert set(product.garments.values_list("name", flat=True)) == {"Old", "First", "Second"}


def test_product_absolute_url():
    product = make_product()
    assert product.get_absolute_url() == "/products/plain-tee/"
    assert reverse("shop:product-list") == "/"


# -- pages ------------------------------------------------------------------------------------


def test_product_list_renders_every_product(client, seeded):
    response = client.get(reverse("shop:product-list"))
    assert response.status_code == 200
    html = response.content.decode()
    for product in Product.objects.all():
        assert product.name in html
        assert product.get_absolute_url() in html
        assert product.image.url in html
    assert "Try-on" in html


def test_product_list_empty_state(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "seed_demo" in response.content.decode()


def test_product_detail_renders_with_tryon_slot(client, seeded):
    product = Product.objects.get(slug="striped-shirt")
    response = client.get(reverse("shop:product-detail", kwargs={"slug": product.slug}))
    assert response.status_code == 200
    html = response.content.decode()
    assert product.name in html
    assert str(product.price) in html
    assert product.description in html
    assert product.image.url in html
    assert "Add to cart" in html
    assert reverse("shop:add-to-cart", kwargs={"slug": product.slug}) in html
    assert 'id="tryon-slot"' in html
    assert "Virtual try-on available" in html
    assert "Upper body" in html
    assert f'data-garment-id="{product.tryon_garment.pk}"' in html


def test_product_detail_without_garment(client):
    product = make_product()
    link_garment(product, active=False)
    response = client.get(product.get_absolute_url())
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="tryon-slot"' in html
    assert "Virtual try-on available" not in html


def test_product_detail_unknown_slug_is_404(client):
    assert client.get("/products/no-such-thing/").status_code == 404


# -- cart -------------------------------------------------------------------------------------


def test_add_to_cart_stores_slug_in_session_and_redirects(client):
    product = make_product()
    url = reverse("shop:add-to-cart", kwargs={"slug": product.slug})
    response = client.post(url)
    assert response.status_code == 302
    assert response.url == product.get_absolute_url()
    assert client.session["cart"] == {product.slug: 1}

    response = client.post(url, follow=True)
    assert client.session["cart"] == {product.slug: 2}
    html = response.content.decode()
    assert "Plain tee was added to your cart." in html
    assert "2 in your cart" in html


def test_add_to_cart_follows_a_safe_next_only(client):
    product = make_product()
    url = reverse("shop:add-to-cart", kwargs={"slug": product.slug})
    assert client.post(url, {"next": "/?from=cart"}).url == "/?from=cart"
    response = client.post(url, {"next": "https://evil.example/phish"})
    assert response.url == product.get_absolute_url()


def test_add_to_cart_answers_json_for_widgets(client):
    product = make_product()
    url = reverse("shop:add-to-cart", kwargs={"slug": product.slug})
    response = client.post(url, headers={"accept": "application/json"})
    assert response.status_code == 200
    assert response.json() == {"product": product.slug, "quantity": 1, "cart_count": 1}


def test_add_to_cart_needs_post_and_a_known_product(client):
    product = make_product()
    assert client.get(reverse("shop:add-to-cart", kwargs={"slug": product.slug})).status_code == 405
    assert client.post(reverse("shop:add-to-cart", kwargs={"slug": "nope"})).status_code == 404
    assert "cart" not in client.session


def test_add_to_cart_checks_csrf():
    from django.test import Client

    product = make_product()
    csrf_client = Client(enforce_csrf_checks=True)
    response = csrf_client.post(reverse("shop:add-to-cart", kwargs={"slug": product.slug}))
    assert response.status_code == 403


# -- admin ------------------------------------------------------------------------------------


def test_product_admin_search_and_change_page(admin_client, seeded):
    response = admin_client.get("/admin/shop/product/", {"q": "jeans"})
    assert response.status_code == 200
    assert "Blue jeans" in response.content.decode()
    assert "Red T-shirt" not in response.content.decode()
    product = Product.objects.get(slug="blue-jeans")
    response = admin_client.get(f"/admin/shop/product/{product.pk}/change/")
    assert response.status_code == 200
    assert "Lower body" in response.content.decode()
    assert admin_client.get("/admin/shop/product/add/").status_code == 200


# -- demo media serving -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "served"),
    [
        ("shop/products/a.jpg", True),
        ("tryon/garments/a.jpg", True),
        ("tryon/models/a.jpg", True),
        ("tryon/results/2026/01/a.jpg", True),
        ("tryon/persons/a.jpg", False),
        ("tryon/prepared/a.jpg", False),
        ("shop/../tryon/persons/a.jpg", False),
        ("tryon/results/../../tryon/persons/a.jpg", False),
        ("/tryon/persons/a.jpg", False),
        ("shop\\..\\tryon\\persons\\a.jpg", False),
        ("other/a.jpg", False),
    ],
)
def test_demo_media_serving_never_serves_shopper_photos(media_root, path, served):
    from shop_project.urls import serve_public_media

    for folder in ("shop/products", "tryon/garments", "tryon/models", "tryon/results/2026/01",
                   "tryon/persons", "tryon/prepared", "other"):  # fmt: skip
        (media_root / folder).mkdir(parents=True, exist_ok=True)
        (media_root / folder / "a.jpg").write_bytes(b"x")
    request = RequestFactory().get("/media/" + path)
    if served:
        response = serve_public_media(request, path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"x"
    else:
        with pytest.raises(Http404):
            serve_public_media(request, path)


# -- what the example shop trusts --------------------------------------------------------


def shop_settings(**environ) -> subprocess.CompletedProcess:
    """Import the shop's settings in a fresh interpreter with only ``environ`` set."""
    script = (
        "import json; from shop_project import settings as s; "
        "print(json.dumps({n: {k: v for k, v in o.items() if k != 'SECRET_KEY'} "
        "for n, o in s.TRYON['PROVIDERS'].items()}))"
    )
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "SHOP_VAR_DIR")}
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**keep, "PYTHONPATH": str(EXAMPLE_DIR), **environ},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_real_kling_keys_beside_the_sandbox_are_not_trusted_with_http_downloads():
    """Either provider on the sandbox used to turn on http and loopback downloads for all."""
    run = shop_settings(KLING_ACCESS_KEY="real-ak", KLING_SECRET_KEY="real-sk")
    assert run.returncode == 0, run.stderr
    providers = json.loads(run.stdout)
    assert providers["kling"]["BASE_URL"] == ""  # the real API, not the sandbox
    assert providers["kling"]["ALLOW_HTTP_DOWNLOADS"] is False
    assert providers["kling"]["ALLOW_PRIVATE_DOWNLOADS"] is False
    assert providers["piapi"]["ALLOW_HTTP_DOWNLOADS"] is True  # still the sandbox


def test_the_shop_refuses_to_start_with_debug_off_and_the_demo_key():
    run = shop_settings(DJANGO_DEBUG="0")
    assert run.returncode != 0
    assert "DJANGO_SECRET_KEY" in run.stderr.strip().splitlines()[-1]
    assert shop_settings(DJANGO_DEBUG="0", DJANGO_SECRET_KEY="x" * 60).returncode == 0


def test_the_shop_has_a_favicon(client):
    """/favicon.ico answered 404 on every page, the admin's included."""
    from django.contrib.staticfiles import finders

    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("shop/favicon.svg")
    assert finders.find("shop/favicon.svg")
    assert 'rel="icon"' in client.get("/privacy/").content.decode()
