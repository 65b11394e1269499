"""A shopper's own try-ons: listing them, erasing their photos and results, and keeping
them when an anonymous shopper signs in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from django_tryon import quotas
from django_tryon.models import TryOnRequest, TryOnResult, UsageCounter, tryon_storage
from django_tryon.status import Status
from tests.api.test_requests import succeed as finish

pytestmark = pytest.mark.django_db


def test_erase_deletes_my_finished_tryons_and_their_files(
    alice, bob, garment, sent, django_capture_on_commit_callbacks
):
    mine = finish(TryOnRequest.objects.get(pk=alice.create(garment).json()["id"]), count=2)

    theirs = finish(TryOnRequest.objects.get(pk=bob.create(garment).json()["id"]))
    files = [r.image.name for r in mine.results.all()] + [mine.person_image.name]
    assert all(tryon_storage().exists(name) for name in files)

    refused = alice.post("requests/erase/", {})
    assert refused.status_code == 400 and "confirm" in refused.json()
    assert TryOnRequest.objects.filter(pk=mine.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):  # files go once committed
        answer = alice.post("requests/erase/", {"confirm": "true"})
    assert answer.status_code == 200 and answer.json() == {"erased": 1, "still_running": 0}
    assert not TryOnRequest.objects.filter(pk=mine.pk).exists()
    assert not any(tryon_storage().exists(name) for name in files)
    assert TryOnRequest.objects.filter(pk=theirs.pk).exists()  # someone else's stays


def test_a_tryon_still_being_made_is_left_and_counted(alice, garment, sent):
    pending = alice.create(garment).json()
    answer = alice.post("requests/erase/", {"confirm": "true"}).json()
    assert answer == {"erased": 0, "still_running": 1}
    assert TryOnRequest.objects.filter(pk=pending["id"]).exists()
    TryOnRequest.objects.filter(pk=pending["id"]).update(status=Status.FAILED)
    assert alice.post("requests/erase/", {"confirm": "true"}).json()["erased"] == 1


def test_an_anonymous_shopper_who_signs_in_keeps_their_tryons(anonymous, garment, sent):
    made = finish(TryOnRequest.objects.get(pk=anonymous.create(garment).json()["id"]))
    user = get_user_model().objects.create_user("carol", password="pw")
    before = made.owner_key
    # Signing in through the shop's own login view (Django's login() fires the signal).
    anonymous.sign_in(user)
    made.refresh_from_db()
    assert made.owner_key == f"user:{user.pk}" and made.owner == user
    listed = anonymous.get("requests/").json()["results"]
    assert [r["id"] for r in listed] == [str(made.pk)]
    # Today's count moved with them: the quota is the user's now.
    day = quotas._periods(made.created_at)[0]
    assert not UsageCounter.objects.filter(scope=before).exists()
    assert UsageCounter.objects.get(scope=f"user:{user.pk}", period=day).generations == 1
    assert TryOnResult.objects.filter(request=made).count() == 1
