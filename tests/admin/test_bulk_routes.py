"""The bulk page when garments go to different providers: each garment's provider and
price shown before confirming, one batch across providers, and garments no provider
takes refused before anything is paid."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from django_tryon.models import TryOnBatch, TryOnRequest, UsageCounter
from tests.admin.conftest import garment
from tests.admin.test_bulk_tryon import GARMENTS, action_post, confirm, form_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def shoes(db):
    trainers = garment("Canvas trainers", "upper", size=650)  # the picture is no matter
    trainers.category = "shoes"
    trainers.save()
    return trainers


@pytest.fixture
def routed(settings):
    """Kling for clothing, FASHN (tryon-max) for shoes."""
    settings.TRYON = {**settings.TRYON, "ROUTING": {"default": ["kling"], "shoes": ["fashn"]}}


def preview(client, garments, photos, provider):
    return client.post(
        GARMENTS,
        action_post(
            garments,
            model_photos=[p.pk for p in photos],
            provider=provider,
            batch_size="1",
            preview="1",
        ),
    )


def test_by_route_is_offered_first_and_shows_where_each_garment_goes(
    merch_client, catalogue, shoes, routed
):
    response = merch_client.post(GARMENTS, action_post([catalogue.shirt, shoes]))
    form = response.context["form"]
    assert form.fields["provider"].initial == "route"
    assert form.fields["provider"].choices[0] == ("route", "Each where the shop's route sends it")

    response = preview(merch_client, [catalogue.shirt, shoes], [catalogue.alex], "route")
    estimate = response.context["estimate"]
    plan = {row["garment"].name: (row["provider"], row["note"]) for row in estimate["plan"]}
    assert plan == {
        "Striped shirt": ("kling", "→ Kling · $0.14 (1 unit)"),
        "Canvas trainers": ("fashn", "→ FASHN · $0.30 (4 credits)"),  # tryon-max: 4 credits
    }
    # Two providers' money added up, with what each bills beside it; no single "each".
    assert estimate["total"] == "$0.44 (4 credits + 1 unit)"
    assert "each" not in estimate
    html = response.content.decode()
    assert "→ FASHN" in html and "$0.30 (4 credits)" in html
    assert '"shoes": [["fashn", true]]' in html  # the script plans as the server does


def test_a_batch_by_route_goes_to_each_provider_and_reserves_what_each_bills(
    merch_client, catalogue, shoes, routed, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(
            merch_client,
            [catalogue.shirt, shoes],
            [catalogue.alex, catalogue.sam],
            provider="route",
        )
    assert response.status_code == 302
    batch = TryOnBatch.objects.get()
    assert batch.provider == "fashn, kling"
    by_provider = {
        name: TryOnRequest.objects.filter(batch=batch, provider=name).count()
        for name in ("kling", "fashn")
    }
    assert by_provider == {"kling": 2, "fashn": 2}
    assert len(sent) == 4
    day = {c.scope: c for c in UsageCounter.objects.filter(period__startswith="day:")}
    assert day["shop:units"].spend == Decimal(2)  # a Kling unit a shirt
    assert day["shop:credits"].spend == Decimal(8)  # four FASHN credits a pair of shoes
    page = merch_client.get(f"/admin/django_tryon/tryonbatch/{batch.pk}/change/")
    assert "FASHN" in page.content.decode() and "Kling" in page.content.decode()


def test_a_provider_that_cannot_take_a_garment_is_refused_before_anything_is_paid(
    merch_client, catalogue, shoes, routed, sent
):
    response = confirm(merch_client, [catalogue.shirt, shoes], [catalogue.alex], provider="kling")
    assert response.status_code == 200
    assert (
        "Kling cannot try on: Canvas trainers (Shoes). Pick another provider, "
        "or leave them out." in form_errors(response)
    )
    assert not TryOnRequest.objects.exists() and not UsageCounter.objects.exists()
    assert sent == []


def test_by_route_refuses_a_garment_no_provider_on_its_route_takes(
    merch_client, catalogue, shoes, settings, sent
):
    settings.TRYON = {**settings.TRYON, "ROUTING": {"default": ["kling", "piapi"]}}
    response = confirm(merch_client, [catalogue.shirt, shoes], [catalogue.alex], provider="route")
    assert "No provider on the shop's route for them can try on: Canvas trainers (Shoes)" in (
        form_errors(response)
    )
    [row] = [r for r in response.context["estimate"]["plan"] if r["garment"] == shoes]
    assert row["provider"] == ""
    html = response.content.decode()
    assert "No provider on its route takes it" in html
    assert re.search(r'<input type="submit" name="confirm"[^>]*disabled', html)
    assert not TryOnRequest.objects.exists()
