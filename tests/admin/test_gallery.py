"""Approved catalogue results on the product page: {% tryon_gallery garment %}."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.template import Context, Template
from django.utils import timezone
from shop.models import Product

from django_tryon.models import Source, TryOnResult
from django_tryon.status import Status

pytestmark = pytest.mark.django_db


def render(garment) -> str:
    return Template("{% load tryon %}{% tryon_gallery garment %}").render(
        Context({"garment": garment})
    )


def approve(request):
    request.results.update(approved=True, approved_at=timezone.now())


def test_gallery_shows_approved_catalogue_results_only(make_request, catalogue):
    shown = make_request(
        catalogue.shirt, model_photo=catalogue.alex, status=Status.SUCCEEDED, results=1
    )
    not_approved = make_request(
        catalogue.shirt, model_photo=catalogue.sam, status=Status.SUCCEEDED, results=1
    )
    shopper = make_request(
        catalogue.shirt, status=Status.SUCCEEDED, results=1, source=Source.WIDGET
    )
    approve(shown)
    approve(shopper)  # even if a row says so, a shopper's result is never shown

    html = render(catalogue.shirt)

    assert html.count("<img") == 1
    assert "Striped shirt worn by Alex" in html
    assert 'width="300" height="400"' in html
    assert "django_tryon/gallery.css" in html
    assert str(not_approved.results.get().pk) not in html


def test_gallery_renders_nothing_without_approved_results(catalogue, make_request):
    make_request(catalogue.shirt, model_photo=catalogue.alex, status=Status.SUCCEEDED, results=1)
    assert render(catalogue.shirt).strip() == ""
    assert render(None).strip() == ""


def test_an_outfit_shows_on_both_garments(make_request, catalogue):
    outfit = make_request(
        catalogue.shirt,
        model_photo=catalogue.alex,
        lower_garment=catalogue.jeans,
        status=Status.SUCCEEDED,
        results=1,
    )
    approve(outfit)
    assert "<img" in render(catalogue.shirt) and "<img" in render(catalogue.jeans)
    assert "<img" not in render(catalogue.tee)


def test_gallery_costs_one_query(make_request, catalogue, django_assert_num_queries):
    for photo in (catalogue.alex, catalogue.sam):
        approve(
            make_request(catalogue.shirt, model_photo=photo, status=Status.SUCCEEDED, results=2)
        )
    with django_assert_num_queries(1):
        html = render(catalogue.shirt)
    assert html.count("<img") == 4


def test_product_page_shows_the_gallery(client, make_request, catalogue):
    product = Product.objects.create(name="Striped shirt", slug="striped-shirt", price=39)
    catalogue.shirt.product_type = ContentType.objects.get_for_model(Product)
    catalogue.shirt.product_id = str(product.pk)
    catalogue.shirt.save()
    request = make_request(
        catalogue.shirt, model_photo=catalogue.alex, status=Status.SUCCEEDED, results=1
    )

    assert "tryon-gallery" not in client.get(product.get_absolute_url()).content.decode()
    approve(request)
    html = client.get(product.get_absolute_url()).content.decode()
    assert 'class="tryon-gallery"' in html
    assert TryOnResult.objects.get().image.url in html
