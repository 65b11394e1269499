"""Funnel counts (TRYON["FUNNEL"]): per garment per day, nothing about who, each try-on's
result shown and add to cart counted once, and only for the caller's own try-on."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_tryon import funnel
from django_tryon.models import FunnelDay, TryOnRequest
from django_tryon.status import Status

pytestmark = pytest.mark.django_db


@pytest.fixture
def counting(tryon_settings):
    tryon_settings(FUNNEL=True)


def step(caller, name, garment, request=None):
    data = {"step": name, "garment": str(garment.pk)}
    if request is not None:
        data["request"] = str(request.pk)
    return caller.post("funnel/", data)


def counts(garment) -> dict:
    row = FunnelDay.objects.filter(garment=garment, day=timezone.localdate()).first()
    return {s: getattr(row, s) for s in funnel.STEPS} if row else dict.fromkeys(funnel.STEPS, 0)


def finished(caller, garment) -> TryOnRequest:
    """One of ``caller``'s try-ons of ``garment``, made and succeeded."""
    response = caller.create(garment)
    assert response.status_code == 202, response.content
    request = TryOnRequest.objects.get(pk=response.json()["id"])
    TryOnRequest.objects.filter(pk=request.pk).update(status=Status.SUCCEEDED)
    return request


def test_off_unless_the_shop_opts_in(anonymous, garment):
    response = step(anonymous, "opened", garment)
    assert response.status_code == 404
    assert "off" in response.json()["detail"]
    assert not FunnelDay.objects.exists()


def test_the_steps_before_a_tryon_count_per_report(anonymous, garment, counting):
    for name in ("opened", "opened", "photo_given"):
        response = step(anonymous, name, garment)
        assert response.status_code == 200 and response.json() == {"counted": True}
    assert counts(garment) == {"opened": 2, "photo_given": 1, "result_shown": 0, "added_to_cart": 0}
    # One row per garment per day: a garment, a day, four numbers, nothing about who.
    row = FunnelDay.objects.get()
    assert {f.name for f in row._meta.concrete_fields} == {"id", "garment", "day", *funnel.COUNTS}


def test_a_tryons_result_and_cart_count_once(anonymous, garment, sent, counting):
    request = finished(anonymous, garment)
    for name in ("result_shown", "added_to_cart"):
        assert step(anonymous, name, garment, request).json() == {"counted": True}
        assert step(anonymous, name, garment, request).json() == {"counted": False}
    assert counts(garment)["result_shown"] == 1 and counts(garment)["added_to_cart"] == 1
    second = finished(anonymous, garment)
    # An add to cart "after a try-on" is one whose result was shown first.
    assert step(anonymous, "added_to_cart", garment, second).json() == {"counted": False}
    assert counts(garment)["added_to_cart"] == 1
    assert step(anonymous, "result_shown", garment, second).json() == {"counted": True}
    assert step(anonymous, "added_to_cart", garment, second).json() == {"counted": True}
    assert counts(garment)["added_to_cart"] == 2


def test_only_the_callers_own_finished_tryon_of_that_garment(
    anonymous, alice, bob, garment, make_garment, sent, counting
):
    alices = finished(alice, garment)
    other_garment = make_garment("lower", name="Jeans")
    running = TryOnRequest.objects.get(pk=alice.create(other_garment).json()["id"])
    refused = [
        step(bob, "added_to_cart", garment, alices),  # someone else's
        step(anonymous, "result_shown", garment, alices),
        step(alice, "added_to_cart", other_garment, alices),  # another garment's
        step(alice, "result_shown", other_garment, running),  # not finished
        step(alice, "added_to_cart", garment),  # none named
    ]
    for response in refused:
        assert response.status_code == 400
        assert response.json() == {
            "request": ["Give one of your own finished try-ons of this garment."]
        }
    assert not FunnelDay.objects.exists()
    assert not TryOnRequest.objects.filter(counted_added_to_cart=True).exists()
    assert step(alice, "result_shown", garment, alices).json() == {"counted": True}
    assert step(alice, "added_to_cart", garment, alices).json() == {"counted": True}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"step": "bought", "garment": "g"}, "step"),
        ({"step": "opened"}, "garment"),
        ({"step": "opened", "garment": "00000000-0000-0000-0000-000000000000"}, "garment"),
        ({"step": "opened", "garment": "not-a-uuid"}, "garment"),
    ],
)
def test_bad_input_is_a_field_error(anonymous, garment, counting, data, field):
    if data.get("garment") == "g":
        data["garment"] = str(garment.pk)
    response = anonymous.post("funnel/", data)
    assert response.status_code == 400
    assert field in response.json()
    assert not FunnelDay.objects.exists()


def test_counts_add_up_across_days_and_garments(garment, make_garment, counting):
    other = make_garment("lower", name="Jeans")
    yesterday = timezone.now() - timezone.timedelta(days=1)
    funnel.count("opened", garment, now=yesterday)
    funnel.count("opened", garment)
    funnel.count("opened", other)
    assert FunnelDay.objects.count() == 3
    totals = funnel.totals_since(timezone.localdate(yesterday))
    assert totals[garment.pk]["opened"] == 2 and totals[other.pk]["opened"] == 1
