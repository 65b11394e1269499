"""No N+1: every changelist costs the same number of queries for 10 rows as for 500."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from shop.models import Product

from django_tryon.models import (
    Garment,
    ModelPhoto,
    Source,
    TryOnBatch,
    TryOnRequest,
    TryOnResult,
    tryon_storage,
)
from django_tryon.status import Status
from kit import imagegen

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

#: The most queries any changelist may take (session, user, permissions, count, rows,
#: prefetches and filters); measured, with a little room.
CEILING = 12


class Rows:
    """Adds rows in bulk: every row shares one stored image (the list never opens it)."""

    def __init__(self, merchandiser):
        storage = tryon_storage()
        self.garment_image = storage.save(
            "tryon/garments/q.png", ContentFile(imagegen.make_png(320, 320))
        )
        self.person_image = storage.save(
            "tryon/persons/q.jpg", ContentFile(imagegen.make_jpeg(320, 400))
        )
        self.result_image = storage.save(
            "tryon/results/q.png", ContentFile(imagegen.make_png(320, 400))
        )
        self.user = merchandiser
        self.made = 0
        self.product_type = ContentType.objects.get_for_model(Product)

    def _next(self, n):
        start, self.made = self.made, self.made + n
        return range(start, start + n)

    def garments(self, n):
        numbers = list(self._next(n))
        products = Product.objects.bulk_create(
            [Product(name=f"P{i}", slug=f"p-{i}", price=10) for i in numbers]
        )
        return Garment.objects.bulk_create(
            [
                Garment(
                    name=f"Garment {i}",
                    sku=f"SKU-{i}",
                    category=("upper", "lower", "dress")[i % 3],
                    image=self.garment_image,
                    # Every other garment is linked to a product (the rest: none).
                    product_type=self.product_type if i % 2 else None,
                    product_id=str(product.pk) if i % 2 else "",
                )
                for i, product in zip(numbers, products, strict=True)
            ]
        )

    def model_photos(self, n):
        return ModelPhoto.objects.bulk_create(
            [ModelPhoto(name=f"Model {i}", image=self.garment_image) for i in self._next(n)]
        )

    def requests(self, n, *, batch=None):
        """Half catalogue runs (house model, outfit), half shoppers'; each with a result."""
        garment, lower = self.garments(2)
        (photo,) = self.model_photos(1)
        if batch is None:
            batch = TryOnBatch.objects.create(created_by=self.user, provider="kling")
        now = timezone.now()
        requests = TryOnRequest.objects.bulk_create(
            [
                TryOnRequest(
                    garment=garment,
                    lower_garment=lower if i % 2 else None,
                    model_photo=photo if i % 2 else None,
                    person_image="" if i % 2 else self.person_image,
                    source=Source.ADMIN if i % 2 else Source.WIDGET,
                    batch=batch if i % 2 else None,
                    status=(Status.SUCCEEDED, Status.FAILED, Status.PROCESSING)[i % 3],
                    provider=("kling", "piapi")[i % 2],
                    cost=Decimal("1"),
                    cost_currency="units",
                    submitted_at=now,
                    input_digest=str(i),
                )
                for i in self._next(n)
            ]
        )
        TryOnResult.objects.bulk_create(
            [
                TryOnResult(request=r, index=0, image=self.result_image, width=320, height=400)
                for r in requests
            ]
        )
        return requests

    def results(self, n):
        return self.requests(n)

    def batches(self, n):
        garment, _lower = self.garments(2)
        (photo,) = self.model_photos(1)
        batches = TryOnBatch.objects.bulk_create(
            [
                TryOnBatch(created_by=self.user, provider="kling", note=f"run {i}")
                for i in self._next(n)
            ]
        )
        requests = TryOnRequest.objects.bulk_create(
            [
                TryOnRequest(
                    garment=garment,
                    model_photo=photo,
                    source=Source.ADMIN,
                    batch=batch,
                    status=status,
                    provider="kling",
                    input_digest=uuid.uuid4().hex,
                )
                for batch in batches
                for status in (Status.SUCCEEDED, Status.FAILED)
            ]
        )
        # One failure of each batch was retried: the retry replaces it in the counts.
        TryOnRequest.objects.bulk_create(
            [
                TryOnRequest(
                    garment=garment,
                    model_photo=photo,
                    source=Source.ADMIN,
                    batch_id=r.batch_id,
                    retry_of=r,
                    provider="kling",
                    input_digest=uuid.uuid4().hex,
                )
                for r in requests
                if r.status == Status.FAILED
            ]
        )
        return batches


LISTS = {
    "garments": (Garment, "/admin/django_tryon/garment/"),
    "model_photos": (ModelPhoto, "/admin/django_tryon/modelphoto/"),
    "requests": (TryOnRequest, "/admin/django_tryon/tryonrequest/"),
    "results": (TryOnResult, "/admin/django_tryon/tryonresult/"),
    "batches": (TryOnBatch, "/admin/django_tryon/tryonbatch/"),
}


def queries_for(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["cl"].result_list)


@pytest.mark.parametrize("shopper_photos", [False, True], ids=["default", "shopper-photos-shown"])
@pytest.mark.parametrize("name", list(LISTS))
def test_changelist_queries_do_not_grow_with_rows(
    name, shopper_photos, merch_client, merchandiser, monkeypatch, settings, capsys
):
    model, url = LISTS[name]
    settings.TRYON = {**settings.TRYON, "ADMIN_SHOW_SHOPPER_PHOTOS": shopper_photos}
    # Show every row on one page, so 500 rows are really rendered.
    monkeypatch.setattr(admin.site._registry[model], "list_per_page", 1000)
    rows = Rows(merchandiser)
    add = getattr(rows, name)

    add(10)
    merch_client.get(url)  # warm the caches every request shares (content types)
    few, shown_few = queries_for(merch_client, url)
    add(490)
    many, shown_many = queries_for(merch_client, url)

    with capsys.disabled():
        print(f"\n  {name} changelist: {few} queries for {shown_few} rows, {many} for {shown_many}")
    assert shown_few < shown_many and shown_many >= 500
    assert few == many
    assert many <= CEILING


def test_batch_progress_queries_do_not_grow_with_requests(merch_client, merchandiser):
    rows = Rows(merchandiser)
    batch = TryOnBatch.objects.create(created_by=merchandiser, provider="kling")
    url = f"/admin/django_tryon/tryonbatch/{batch.pk}/progress/"
    rows.requests(10, batch=batch)
    merch_client.get(url)
    with CaptureQueriesContext(connection) as few:
        merch_client.get(url)
    rows.requests(490, batch=batch)
    with CaptureQueriesContext(connection) as many:
        data = merch_client.get(url).json()
    assert data["total"] == 250 and len(data["results"]) == 250
    assert len(few.captured_queries) == len(many.captured_queries)
