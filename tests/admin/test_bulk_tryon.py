"""The bulk action "Try on house models…": the intermediate page, confirming, refusals."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages

from django_tryon import services
from django_tryon.callers import Caller
from django_tryon.errors import TryOnValidationError
from django_tryon.models import Source, TryOnBatch, TryOnRequest, UsageCounter
from django_tryon.pipeline import batches
from django_tryon.status import Status
from tests.admin.pages import assert_app_page

pytestmark = pytest.mark.django_db

GARMENTS = "/admin/django_tryon/garment/"

ACTION = "try_on_house_models"


def action_post(garments, **fields):
    data = {"action": ACTION, "_selected_action": [str(g.pk) for g in garments]}
    data.update(fields)
    return data


def confirm(client, garments, photos, *, provider="kling", batch_size=1, **fields):
    return client.post(
        GARMENTS,
        action_post(
            garments,
            model_photos=[str(p.pk) for p in photos],
            provider=provider,
            batch_size=str(batch_size),
            confirm="1",
            **fields,
        ),
    )


def form_errors(response) -> str:
    form = response.context["form"]
    return " ".join(str(e) for errors in form.errors.values() for e in errors)


# -- the intermediate page -------------------------------------------------------------------


def test_action_opens_the_intermediate_page(merch_client, catalogue):
    garments = [catalogue.shirt, catalogue.tee, catalogue.jeans]
    response = merch_client.post(GARMENTS, action_post(garments))

    assert response.status_code == 200
    assert response.templates[0].name == "admin/django_tryon/garment/bulk_tryon.html"
    html = response.content.decode()
    assert_app_page(html, "tryon-bulk-page", GARMENTS)
    for garment in garments:
        assert garment.name in html
        assert f'name="_selected_action" value="{garment.pk}"' in html
    assert catalogue.dress.name not in html.split('id="id_lower_garment"')[0]
    # Every active house model can be picked, with its picture.
    for photo in (catalogue.alex, catalogue.sam):
        assert f'value="{photo.pk}"' in html and photo.image.url in html
    assert 'value="kling"' in html and 'value="piapi"' in html
    assert response.context["estimate"]["count"] == 0
    assert not TryOnBatch.objects.exists()


def test_preview_shows_the_count_and_the_estimated_cost(merch_client, catalogue):
    garments = [catalogue.shirt, catalogue.tee, catalogue.jeans]
    response = merch_client.post(
        GARMENTS,
        action_post(
            garments,
            model_photos=[catalogue.alex.pk, catalogue.sam.pk],
            provider="kling",
            batch_size="1",
            preview="1",
        ),
    )
    assert response.status_code == 200
    estimate = response.context["estimate"]
    assert [(row["garment"], row["provider"]) for row in estimate.pop("plan")] == [
        (garment, "kling") for garment in sorted(garments, key=lambda g: g.name)
    ]
    assert estimate == {
        "count": 6,
        "garments": 3,
        "photos": 2,
        "made": 0,
        "nothing_new": False,
        "each": "$0.14 (1 unit)",
        "total": "$0.84 (6 units)",
    }
    html = response.content.decode()
    assert 'data-summary="count">6<' in html and "6 units" in html
    assert not TryOnBatch.objects.exists()


def test_the_estimate_counts_only_what_will_run(merch_client, catalogue):
    """Pairs with a result (or one being made) were counted and priced, then refused."""
    for garment in (catalogue.shirt, catalogue.tee):
        services.create_tryon(
            garment=garment,
            model_photo=catalogue.alex,
            provider="kling",
            enqueue=False,
            caller=Caller(source=Source.ADMIN),
        )
    post = action_post(
        [catalogue.shirt, catalogue.tee, catalogue.jeans],
        model_photos=[catalogue.alex.pk, catalogue.sam.pk],
        provider="kling",
        batch_size="1",
        preview="1",
    )
    response = merch_client.post(GARMENTS, post)
    estimate = response.context["estimate"]
    assert (estimate["count"], estimate["made"], estimate["total"]) == (4, 2, "$0.56 (4 units)")
    html = response.content.decode()
    assert 'value="Start 4 try-ons"' in html
    assert 'data-summary="made">2<' in html
    # The page's script gets the same figures for live updates.
    made = response.context["made_json"]["kling"]["1"]
    assert made == {
        str(catalogue.alex.pk): sorted([str(catalogue.shirt.pk), str(catalogue.tee.pk)])
    }

    post["model_photos"] = [catalogue.alex.pk]
    post["_selected_action"] = [catalogue.shirt.pk, catalogue.tee.pk]
    response = merch_client.post(GARMENTS, post)
    assert response.context["estimate"]["nothing_new"] is True
    html = response.content.decode()
    assert re.search(r'<input type="submit" name="confirm"[^>]*disabled', html)
    assert "nothing new to run" in html


def test_preview_prices_piapi_by_images(merch_client, catalogue):
    response = merch_client.post(
        GARMENTS,
        action_post(
            [catalogue.shirt, catalogue.jeans],
            model_photos=[catalogue.alex.pk],
            provider="piapi",
            batch_size="2",
            preview="1",
        ),
    )
    estimate = response.context["estimate"]
    assert (estimate["count"], estimate["each"], estimate["total"]) == (2, "$0.14", "$0.28")


# -- confirming ------------------------------------------------------------------------------


def test_confirm_creates_one_batch_and_queues_every_pair(
    merch_client, merchandiser, catalogue, sent, django_capture_on_commit_callbacks
):
    garments = [catalogue.shirt, catalogue.tee, catalogue.jeans]
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(
            merch_client, garments, [catalogue.alex, catalogue.sam], note="spring lookbook"
        )

    batch = TryOnBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/django_tryon/tryonbatch/{batch.pk}/change/"
    assert (batch.provider, batch.created_by, batch.note) == (
        "kling",
        merchandiser,
        "spring lookbook",
    )
    requests = list(TryOnRequest.objects.all())
    assert len(requests) == 6
    assert {(r.garment_id, r.model_photo_id) for r in requests} == {
        (g.pk, p.pk) for g in garments for p in (catalogue.alex, catalogue.sam)
    }
    assert all(r.batch_id == batch.pk and r.source == Source.ADMIN for r in requests)
    assert all(r.status == Status.PENDING and not r.person_image for r in requests)
    assert sorted(rid for _name, rid in sent) == sorted(str(r.pk) for r in requests)
    assert {name for name, _rid in sent} == {"django_tryon.submit"}
    assert "Started 6 try-ons in one batch." in [
        m.message for m in get_messages(response.wsgi_request)
    ]


def test_confirm_with_an_outfit_pairs_each_garment_with_the_lower_one(
    merch_client, catalogue, sent
):
    confirm(
        merch_client,
        [catalogue.shirt, catalogue.tee],
        [catalogue.alex],
        lower_garment=str(catalogue.jeans.pk),
    )
    requests = TryOnRequest.objects.all()
    assert requests.count() == 2
    assert {r.lower_garment_id for r in requests} == {catalogue.jeans.pk}


def test_nothing_is_queued_before_the_transaction_commits(merch_client, catalogue, sent):
    confirm(merch_client, [catalogue.shirt], [catalogue.alex])
    assert TryOnRequest.objects.count() == 1
    assert sent == []  # the test's transaction never commits


def test_pairs_already_done_are_not_paid_again(merch_client, catalogue, sent):
    confirm(merch_client, [catalogue.shirt], [catalogue.alex])
    first = TryOnRequest.objects.get()

    response = confirm(merch_client, [catalogue.shirt, catalogue.tee], [catalogue.alex])

    assert response.status_code == 302
    assert TryOnRequest.objects.count() == 2  # the shirt on Alex is still in flight
    second = TryOnBatch.objects.order_by("-created_at").first()
    assert list(second.requests.values_list("garment_id", flat=True)) == [catalogue.tee.pk]
    assert first.batch_id != second.pk
    messages = [m.message for m in get_messages(response.wsgi_request)]
    assert any("1 pair was not run again: a result exists" in m for m in messages)


def test_a_batch_with_nothing_new_is_not_created(merch_client, catalogue, sent):
    confirm(merch_client, [catalogue.shirt], [catalogue.alex])
    response = confirm(merch_client, [catalogue.shirt], [catalogue.alex])

    assert response.status_code == 200
    assert "nothing new to run" in form_errors(response)
    assert TryOnBatch.objects.count() == 1 and TryOnRequest.objects.count() == 1


# -- refusals: on the page, nothing half-created ---------------------------------------------


def test_two_tops_as_an_outfit_are_refused(merch_client, catalogue, sent):
    response = confirm(
        merch_client,
        [catalogue.shirt],
        [catalogue.alex, catalogue.sam],
        lower_garment=str(catalogue.tee.pk),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["lower_garment"]
    assert errors == [
        "Striped shirt with Red T-shirt: An outfit needs one top and one bottom: two tops "
        "cannot be tried on together. Replace one of them with trousers or a skirt."
    ]
    assert "two tops cannot be tried on together" in response.content.decode()
    assert not TryOnBatch.objects.exists() and not TryOnRequest.objects.exists()


def test_a_dress_cannot_be_part_of_an_outfit(merch_client, catalogue, sent):
    response = confirm(
        merch_client,
        [catalogue.shirt, catalogue.dress],
        [catalogue.alex],
        lower_garment=str(catalogue.jeans.pk),
    )
    errors = response.context["form"].errors["lower_garment"]
    assert len(errors) == 1 and errors[0].startswith("Summer dress with Blue jeans: A dress")
    assert not TryOnRequest.objects.exists()


def test_a_garment_cannot_be_worn_with_itself(merch_client, catalogue, sent):
    response = confirm(
        merch_client, [catalogue.jeans], [catalogue.alex], lower_garment=str(catalogue.jeans.pk)
    )
    assert "cannot be worn with itself" in form_errors(response)
    assert not TryOnRequest.objects.exists()


def test_switched_off_garments_are_named(merch_client, catalogue, sent):
    catalogue.tee.active = False
    catalogue.tee.save()
    response = confirm(merch_client, [catalogue.shirt, catalogue.tee], [catalogue.alex])
    assert "Switched off for try-on: Red T-shirt." in form_errors(response)
    assert not TryOnRequest.objects.exists()


def test_picking_no_house_model_is_refused(merch_client, catalogue, sent):
    response = confirm(merch_client, [catalogue.shirt], [])
    assert response.context["form"].errors["model_photos"] == ["Pick at least one house model."]


def test_batch_size_above_the_providers_limit_is_refused(merch_client, catalogue, sent):
    response = confirm(merch_client, [catalogue.shirt], [catalogue.alex], batch_size=2)
    assert response.context["form"].errors["batch_size"] == [
        "Kling makes at most 1 image per try-on."
    ]
    assert not TryOnRequest.objects.exists()


def test_an_error_halfway_rolls_the_whole_batch_back(merch_client, catalogue, sent, monkeypatch):
    real = batches.create_tryon
    calls = []

    def failing_third(**kwargs):
        calls.append(kwargs)
        if len(calls) == 3:
            raise TryOnValidationError({"model_photo": ["'Sam' is not available."]})
        return real(**kwargs)

    monkeypatch.setattr(batches, "create_tryon", failing_third)
    response = confirm(
        merch_client, [catalogue.shirt, catalogue.tee], [catalogue.alex, catalogue.sam]
    )

    assert response.status_code == 200
    assert response.context["form"].errors["model_photos"] == ["'Sam' is not available."]
    assert len(calls) == 3
    assert not TryOnBatch.objects.exists() and not TryOnRequest.objects.exists()
    assert not UsageCounter.objects.filter(generations__gt=0).exists()


def test_the_shops_budget_is_shown_and_enforced(merch_client, catalogue, sent, settings):
    settings.TRYON = {**settings.TRYON, "SHOP_DAILY_BUDGET": {"units": 3}}
    garments = [catalogue.shirt, catalogue.tee, catalogue.jeans]
    photos = [catalogue.alex.pk, catalogue.sam.pk]

    preview = merch_client.post(
        GARMENTS,
        action_post(garments, model_photos=photos, provider="kling", batch_size="1", preview="1"),
    )
    assert "reached its limit for today" in preview.context["estimate"]["blocked"]

    response = confirm(merch_client, garments, [catalogue.alex, catalogue.sam])
    assert response.status_code == 200
    assert "SHOP_DAILY_BUDGET" in form_errors(response)
    assert not TryOnBatch.objects.exists() and not TryOnRequest.objects.exists()
    assert not UsageCounter.objects.filter(generations__gt=0).exists()


def test_the_kill_switch_is_explained(merch_client, catalogue, sent, settings):
    settings.TRYON = {**settings.TRYON, "ENABLED": False}
    response = confirm(merch_client, [catalogue.shirt], [catalogue.alex])
    assert "switched off for the whole shop" in form_errors(response)
    assert not TryOnRequest.objects.exists()


# -- permissions -----------------------------------------------------------------------------


def test_the_action_needs_the_bulk_permission(client, django_user_model, catalogue, sent):
    from tests.admin.conftest import MERCHANDISER_PERMISSIONS, make_staff

    perms = [p for p in MERCHANDISER_PERMISSIONS if p != "run_bulk_tryon"]
    client.force_login(make_staff(django_user_model, "no-bulk", perms))

    changelist = client.get(GARMENTS).content.decode()
    assert "switch_off" in changelist and ACTION not in changelist

    response = confirm(client, [catalogue.shirt], [catalogue.alex])
    assert response.status_code == 302  # back to the list: Django refuses unknown actions
    assert not TryOnBatch.objects.exists() and not TryOnRequest.objects.exists()


def test_staff_status_alone_is_not_enough(client, django_user_model, catalogue, sent):
    client.force_login(django_user_model.objects.create_user("staff", is_staff=True))
    assert client.get(GARMENTS).status_code == 403
    response = confirm(client, [catalogue.shirt], [catalogue.alex])
    assert response.status_code == 403
    assert not TryOnRequest.objects.exists()


def test_anonymous_users_are_sent_to_the_login_page(client, catalogue, sent):
    response = confirm(client, [catalogue.shirt], [catalogue.alex])
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert not TryOnRequest.objects.exists()


# -- a big batch never holds the shop's counters -------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_batch_does_not_hold_the_shops_counters_while_it_writes(
    merch_client, catalogue, monkeypatch
):
    """While a batch writes its requests, a shopper's create (another connection) counts
    against the same shop rows at once: the batch reserved up front and let go of them."""
    import threading

    from django.db import connection
    from django.db import connections as all_connections

    from django_tryon import quotas

    if connection.vendor != "postgresql":
        pytest.skip("SQLite locks the whole database for any write; PostgreSQL locks rows")
    real_create = batches.create_tryon
    waited = []

    def create_while_a_shopper_creates(**kwargs):
        done = threading.Event()

        def shopper():
            quotas.reserve(quotas.Charge(1), owner_key="session:shopper")
            all_connections.close_all()
            done.set()

        thread = threading.Thread(target=shopper)
        thread.start()
        waited.append(done.wait(5))
        thread.join(30)
        return real_create(**kwargs)

    monkeypatch.setattr(batches, "create_tryon", create_while_a_shopper_creates)
    response = confirm(merch_client, [catalogue.shirt, catalogue.tee], [catalogue.alex])
    assert response.status_code == 302
    assert waited == [True, True]
    day = UsageCounter.objects.get(scope="shop", period__startswith="day:")
    assert day.generations == 2 + 2  # the batch's two and the shopper's two


def test_reused_pairs_of_a_batch_give_their_reservation_back(merch_client, catalogue):
    confirm(merch_client, [catalogue.shirt], [catalogue.alex])
    confirm(merch_client, [catalogue.shirt, catalogue.tee], [catalogue.alex])
    assert TryOnRequest.objects.count() == 2
    day = UsageCounter.objects.get(scope="shop", period__startswith="day:")
    assert day.generations == 2


def test_the_form_offers_first_what_the_admin_route_would_use_now(settings):
    """The bulk form names its provider; with a route, the one preselected is the first
    the route would use now: FASHN while Kling is out of credit, Kling again after."""
    from django_tryon import routing
    from django_tryon.admin.bulk import available_providers

    settings.TRYON = {**settings.TRYON, "ROUTING": {"admin": ["kling", "fashn"]}}
    assert available_providers()[0].name == "kling"
    routing.record_out_of_credit("kling", "1102 account arrears")
    assert available_providers()[0].name == "fashn"
    routing.record_success("kling")
    assert available_providers()[0].name == "kling"


def test_a_locked_database_halfway_is_waited_out_and_the_batch_made_once(
    merch_client, catalogue, sent, monkeypatch, django_capture_on_commit_callbacks
):
    """SQLite's "database is locked" in the middle of a batch (another writer, no busy
    timeout): the whole batch is rolled back and made again, never a 500, never twice."""
    from django.db import OperationalError

    real = batches.create_tryon
    calls = []

    def locked_once(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(batches, "create_tryon", locked_once)
    monkeypatch.setattr("django_tryon.locking.PAUSES", (0.01,))
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(
            merch_client, [catalogue.shirt, catalogue.tee], [catalogue.alex, catalogue.sam]
        )

    assert response.status_code == 302
    assert TryOnBatch.objects.count() == 1 and TryOnRequest.objects.count() == 4
    assert len(sent) == 4
    counted = set(UsageCounter.objects.filter(generations__gt=0).values_list("generations"))
    assert counted == {(4,)}  # reserved once: the rolled-back attempt gave its own back


def test_a_database_that_stays_locked_is_said_and_nothing_is_started(
    merch_client, catalogue, sent, monkeypatch
):
    from django.db import OperationalError

    def always_locked(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(batches, "create_tryon", always_locked)
    monkeypatch.setattr("django_tryon.locking.PAUSES", (0.01, 0.01))
    response = confirm(merch_client, [catalogue.shirt], [catalogue.alex])

    assert response.status_code == 200
    assert "stayed busy" in form_errors(response) and "W013" in form_errors(response)
    assert not TryOnBatch.objects.exists() and not TryOnRequest.objects.exists()
    assert not UsageCounter.objects.filter(generations__gt=0).exists()
