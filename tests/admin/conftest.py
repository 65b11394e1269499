"""Admin test fixtures: merchandisers with and without the app's own permissions, a small
catalogue, try-ons in every state, and a record of what would be queued to Celery."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.utils import timezone

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

#: What a merchandiser gets: seeing and switching garments and house models, following
#: try-ons, and the app's two own permissions.
MERCHANDISER_PERMISSIONS = [
    "view_garment",
    "change_garment",
    "add_garment",
    "view_modelphoto",
    "change_modelphoto",
    "add_modelphoto",
    "view_tryonrequest",
    "change_tryonrequest",
    "view_tryonresult",
    "view_tryonbatch",
    "run_bulk_tryon",
    "publish_tryonresult",
]
#: Staff who may look at everything but neither run bulk try-ons, publish, nor change.
VIEWER_PERMISSIONS = [
    "view_garment",
    "view_modelphoto",
    "view_tryonrequest",
    "view_tryonresult",
    "view_tryonbatch",
]


def make_staff(django_user_model, username, codenames):
    user = django_user_model.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="django_tryon", codename__in=codenames)
    )
    assert user.user_permissions.count() == len(codenames)
    return user


@pytest.fixture
def merchandiser(db, django_user_model):
    return make_staff(django_user_model, "merch", MERCHANDISER_PERMISSIONS)


@pytest.fixture
def merch_client(client, merchandiser):
    client.force_login(merchandiser)
    return client


@pytest.fixture
def viewer(db, django_user_model):
    return make_staff(django_user_model, "viewer", VIEWER_PERMISSIONS)


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@dataclass
class Catalogue:
    shirt: object
    tee: object
    jeans: object
    dress: object
    alex: object
    sam: object

    @property
    def garments(self):
        return [self.shirt, self.tee, self.jeans, self.dress]


def garment(name, category, *, size=640, active=True):
    """A garment whose image is its own (identical images would be one try-on input)."""
    item = Garment(name=name, category=category, active=active)
    item.image.save("g.png", ContentFile(imagegen.make_garment(category, size=size)), save=True)
    return item


def model_photo(name, *, width=600, active=True):
    photo = ModelPhoto(name=name, active=active)
    photo.image.save("m.jpg", ContentFile(imagegen.make_person(width, 800)), save=True)
    return photo


@pytest.fixture
def catalogue(db):
    return Catalogue(
        shirt=garment("Striped shirt", "upper", size=640),
        tee=garment("Red T-shirt", "upper", size=641),
        jeans=garment("Blue jeans", "lower", size=642),
        dress=garment("Summer dress", "dress", size=643),
        alex=model_photo("Alex", width=600),
        sam=model_photo("Sam", width=601),
    )


@pytest.fixture
def result_image():
    """The storage name of one stored result image, shared by rows that need one."""
    return tryon_storage().save(
        "tryon/results/test/result.png", ContentFile(imagegen.make_png(300, 400))
    )


@pytest.fixture
def make_request(result_image):
    """A TryOnRequest in any state, written directly (no provider involved)."""

    def factory(garment, *, model_photo=None, status=Status.PENDING, results=0, **fields):
        now = timezone.now()
        fields.setdefault("source", Source.ADMIN if model_photo else Source.WIDGET)
        fields.setdefault("provider", "kling")
        if status not in (Status.PENDING, Status.SUBMITTING):
            fields.setdefault("submitted_at", now)
            fields.setdefault("provider_task_id", f"task-{TryOnRequest.objects.count()}")
            fields.setdefault("cost", Decimal("1"))
            fields.setdefault("cost_currency", "units")
        if status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
            fields.setdefault("completed_at", now)
        if model_photo is None and "person_image" not in fields:
            name = tryon_storage().save(
                "tryon/persons/test.jpg", ContentFile(imagegen.make_person(400, 600))
            )
            fields["person_image"] = name
            fields.setdefault("owner_key", "session:abc")
        request = TryOnRequest.objects.create(
            garment=garment,
            model_photo=model_photo,
            status=status,
            input_digest=uuid.uuid4().hex,
            **fields,
        )
        for index in range(results):
            TryOnResult.objects.create(
                request=request, index=index, image=result_image, width=300, height=400
            )
        return request

    return factory


@pytest.fixture
def make_batch(merchandiser):
    def factory(provider="kling", **fields):
        return TryOnBatch.objects.create(created_by=merchandiser, provider=provider, **fields)

    return factory
