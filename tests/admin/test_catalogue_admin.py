"""Garments and house model photos in the admin: lists, checked uploads, switches."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from shop.models import Product

from django_tryon.models import Garment, ModelPhoto, tryon_storage
from django_tryon.pipeline.inputs import catalogue_digest
from kit import imagegen

pytestmark = pytest.mark.django_db

GARMENTS = "/admin/django_tryon/garment/"
MODEL_PHOTOS = "/admin/django_tryon/modelphoto/"


def upload(data: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def garment_form(**overrides):
    data = {"name": "Linen shirt", "sku": "LIN-1", "category": "upper", "active": "on"}
    data.update(overrides)
    return data


# -- lists ---------------------------------------------------------------------------------


def test_garment_list_shows_thumbnail_category_switch_and_product_link(merch_client, catalogue):
    product = Product.objects.create(name="Striped shirt", slug="striped-shirt", price=39)
    shirt = catalogue.shirt
    shirt.product_type = ContentType.objects.get_for_model(Product)
    shirt.product_id = str(product.pk)
    shirt.save()

    response = merch_client.get(GARMENTS)

    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="{shirt.image.url}"' in html
    assert 'class="tryon-thumb tryon-thumb-small"' in html
    assert "Upper body" in html and "Dress / full body" in html
    # The active switch is editable right in the list.
    assert 'name="form-0-active"' in html
    assert f"/admin/shop/product/{product.pk}/change/" in html
    assert product.get_absolute_url() in html
    assert "not linked" in html  # the other garments


def test_garment_list_search_and_filters(merch_client, catalogue):
    catalogue.dress.active = False
    catalogue.dress.save()

    found = merch_client.get(GARMENTS, {"q": "jeans"}).content.decode()
    assert "Blue jeans" in found and "Striped shirt" not in found

    lower = merch_client.get(GARMENTS, {"category__exact": "lower"}).content.decode()
    assert "Blue jeans" in lower and "Red T-shirt" not in lower

    off = merch_client.get(GARMENTS, {"active__exact": "0"}).content.decode()
    assert "Summer dress" in off and "Blue jeans" not in off


def test_the_terminal_commands_garments_stay_out_of_the_list(merch_client, catalogue, make_garment):
    """Every terminal run's test image ("Terminal: garment-upper.png") piled up here."""
    make_garment(name="Terminal: garment-upper.png", active=False, from_terminal=True)
    listed = merch_client.get(GARMENTS).content.decode()
    assert "Striped shirt" in listed and "Terminal: garment-upper.png" not in listed
    assert "4 garments" in listed  # the catalogue's four, counted without it
    terminal = merch_client.get(GARMENTS, {"origin": "terminal"}).content.decode()
    assert "Terminal: garment-upper.png" in terminal and "Striped shirt" not in terminal
    every = merch_client.get(GARMENTS, {"origin": "all"}).content.decode()
    assert "Terminal: garment-upper.png" in every and "Striped shirt" in every


def test_switch_garments_on_and_off(merch_client, catalogue):
    ids = [catalogue.shirt.pk, catalogue.jeans.pk]
    response = merch_client.post(
        GARMENTS, {"action": "switch_off", "_selected_action": ids}, follow=True
    )
    assert set(Garment.objects.filter(active=False).values_list("pk", flat=True)) == set(ids)
    assert "2 garments switched off for try-on." in response.content.decode()
    response = merch_client.post(
        GARMENTS, {"action": "switch_on", "_selected_action": ids[:1]}, follow=True
    )
    assert "1 garment switched on for try-on." in response.content.decode()
    merch_client.post(GARMENTS, {"action": "switch_on", "_selected_action": ids})
    assert not Garment.objects.filter(active=False).exists()


def test_model_photo_list_shows_thumbnails_and_switches(merch_client, catalogue):
    response = merch_client.get(MODEL_PHOTOS)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'src="{catalogue.alex.image.url}"' in html
    assert 'name="form-0-active"' in html and 'name="form-0-offer_to_shoppers"' in html


def test_garment_change_page_previews_the_image(merch_client, catalogue):
    response = merch_client.get(f"{GARMENTS}{catalogue.shirt.pk}/change/")
    assert response.status_code == 200
    assert 'class="tryon-thumb tryon-thumb-large"' in response.content.decode()


# -- uploads: the pipeline's own checks, a form error instead of a crash --------------------


def test_add_garment_with_a_good_image_stores_a_clean_copy(merch_client):
    data = imagegen.make_jpeg(640, 800, with_gps=True)
    response = merch_client.post(f"{GARMENTS}add/", garment_form(image=upload(data, "shirt.jpg")))
    assert response.status_code == 302, response.content.decode()[:2000]

    garment = Garment.objects.get(sku="LIN-1")
    assert garment.image.name.startswith("tryon/garments/")
    with tryon_storage().open(garment.image.name, "rb") as fh:
        stored = fh.read()
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (640, 800)
    assert not image.getexif()  # GPS and every other tag are gone
    # The digest that names the provider-ready copy is the stored image's.
    assert garment.image_digest == hashlib.sha256(stored).hexdigest()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"%PDF-1.4 this is a document", "notes.pdf", "PDF files are not accepted"),
        (b"just some text, not a picture", "shirt.jpg", "is not an image we can read"),
        (imagegen.make_jpeg(200, 250), "tiny.jpg", "This photo is too small"),
        (imagegen.make_gif(), "anim.gif", "GIF files are not accepted"),
        (imagegen.truncated_jpeg(), "cut.jpg", "damaged or incomplete"),
    ],
)
def test_add_garment_with_a_bad_upload_is_a_form_error(merch_client, data, name, message):
    response = merch_client.post(f"{GARMENTS}add/", garment_form(image=upload(data, name)))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors["image"])
    assert message in response.content.decode()
    assert not Garment.objects.exists()


def test_replacing_a_garment_image_renews_its_digest(merch_client, catalogue):
    shirt = catalogue.shirt

    old_digest = catalogue_digest(shirt)
    response = merch_client.post(
        f"{GARMENTS}{shirt.pk}/change/",
        garment_form(
            name=shirt.name,
            category="upper",
            image=upload(imagegen.make_png(500, 600), "new.png", "image/png"),
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    shirt.refresh_from_db()
    assert shirt.image_digest and shirt.image_digest != old_digest


def test_editing_a_garment_without_a_new_image_keeps_it(merch_client, catalogue):
    shirt = catalogue.shirt
    name = shirt.image.name
    response = merch_client.post(
        f"{GARMENTS}{shirt.pk}/change/", garment_form(name="Striped shirt (navy)")
    )
    assert response.status_code == 302
    shirt.refresh_from_db()
    assert shirt.name == "Striped shirt (navy)" and shirt.image.name == name


def test_add_model_photo_checks_the_image(merch_client):
    bad = merch_client.post(
        f"{MODEL_PHOTOS}add/",
        {"name": "Kim", "active": "on", "image": upload(imagegen.make_jpeg(120, 160))},
    )
    assert bad.status_code == 200
    assert "too small" in bad.content.decode()
    assert not ModelPhoto.objects.exists()

    good = merch_client.post(
        f"{MODEL_PHOTOS}add/",
        {"name": "Kim", "active": "on", "image": upload(imagegen.make_person(600, 800))},
    )
    assert good.status_code == 302
    photo = ModelPhoto.objects.get(name="Kim")
    assert photo.image.name.startswith("tryon/models/") and photo.image_digest


def test_viewer_cannot_add_or_change_garments(viewer_client, catalogue):
    assert viewer_client.get(f"{GARMENTS}add/").status_code == 403
    response = viewer_client.post(
        f"{GARMENTS}{catalogue.shirt.pk}/change/", garment_form(name="Renamed")
    )
    assert response.status_code == 403
    catalogue.shirt.refresh_from_db()
    assert catalogue.shirt.name == "Striped shirt"
