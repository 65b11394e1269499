"""The try-on request endpoints for every kind of caller: create, poll, list, cancel."""

from __future__ import annotations

import re
import uuid

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from django_tryon import callers, services
from django_tryon.models import Source, TryOnRequest, TryOnResult, tryon_storage
from django_tryon.pipeline import transitions
from django_tryon.status import Status
from kit import imagegen
from tests.api.conftest import API, Caller, photo

pytestmark = pytest.mark.django_db

CALLERS = ["anonymous", "alice", "token_caller", "staff"]


@pytest.fixture
def caller(request):
    return request.getfixturevalue(request.param)


def succeed(tryon: TryOnRequest, count: int = 1) -> TryOnRequest:
    """Finish a request as the pipeline would: results in storage, status succeeded."""
    for index in range(count):
        name = tryon_storage().save(
            f"tryon/results/test/{tryon.pk}-{index}.png", ContentFile(imagegen.make_png(640, 800))
        )
        TryOnResult.objects.create(request=tryon, index=index, image=name, width=640, height=800)
    TryOnRequest.objects.filter(pk=tryon.pk).update(
        status=Status.SUCCEEDED, completed_at=timezone.now()
    )
    tryon.refresh_from_db()
    return tryon


# -- create ---------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
def test_create_answers_202_with_the_resource_and_location(caller, garment, sent):
    response = caller.create(garment)
    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"http://testserver{API}requests/{body['id']}/"
    assert body == {
        "id": body["id"],
        "status": "pending",
        "waiting_for_worker": False,
        "error": None,
        "results": [],
        "garment": str(garment.pk),
        "lower_garment": None,
        "model_photo": None,
        "provider": "kling",
        "routing_note": "",
        "usual_seconds": None,
        "batch_size": 1,
        "created_at": body["created_at"],
        "completed_at": None,
    }
    tryon = TryOnRequest.objects.get(pk=body["id"])
    assert tryon.source == Source.API and tryon.person_image
    # Consent is recorded with its version and time.
    assert tryon.consent_version == "1" and tryon.consent_at is not None
    if caller.user is None:
        assert tryon.owner is None and tryon.owner_key.startswith("session:")
        assert "sessionid" in caller.client.cookies  # the shopper is bound to a session
    else:
        assert tryon.owner == caller.user and tryon.owner_key == f"user:{caller.user.pk}"
    # The poll URL answers the same resource.
    assert caller.get(response["Location"]).json() == body


def test_consent_version_comes_from_the_setting(anonymous, garment, sent, tryon_settings):
    tryon_settings(CONSENT_VERSION="2025-06")
    body = anonymous.create(garment).json()
    assert TryOnRequest.objects.get(pk=body["id"]).consent_version == "2025-06"


def test_anonymous_owner_key_is_not_the_session_key(anonymous, garment, sent):
    body = anonymous.create(garment).json()
    session_key = anonymous.client.cookies["sessionid"].value
    owner_key = TryOnRequest.objects.get(pk=body["id"]).owner_key
    assert session_key not in owner_key


def test_house_model_instead_of_a_photo(anonymous, garment, make_model_photo, sent, tryon_settings):
    tryon_settings(HOUSE_MODELS_FOR_SHOPPERS=True)
    model = make_model_photo()
    model.offer_to_shoppers = True
    model.save()
    response = anonymous.create(garment, model_photo=model)  # no consent needed
    assert response.status_code == 202, response.content
    assert response.json()["model_photo"] == str(model.pk)
    tryon = TryOnRequest.objects.get(pk=response.json()["id"])
    assert tryon.consent_version == "" and tryon.consent_at is None and not tryon.person_image


def test_staff_may_use_a_house_model_not_offered_to_shoppers(
    staff, garment, make_model_photo, sent
):
    model = make_model_photo()
    response = staff.create(garment, model_photo=model)
    assert response.status_code == 202, response.content


def test_outfit_and_provider_and_batch_size(alice, make_garment, sent):
    upper, lower = make_garment("upper"), make_garment("lower", name="Jeans")
    response = alice.create(upper, lower_garment=lower, provider="piapi", batch_size=3)
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["lower_garment"], body["provider"], body["batch_size"]) == (
        str(lower.pk),
        "piapi",
        3,
    )


def test_identical_request_in_flight_is_returned_not_paid_again(alice, garment, sent):
    person = imagegen.make_person()
    first = alice.create(garment, person=person)
    second = alice.create(garment, person=person)
    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["id"] == first.json()["id"]
    assert second["Location"] == first["Location"]
    assert TryOnRequest.objects.count() == 1


# -- idempotency ----------------------------------------------------------------------------


def test_idempotency_key_returns_the_same_request(anonymous, garment, sent):
    key = {"Idempotency-Key": "widget-123"}
    first = anonymous.create(garment, headers=key)
    again = anonymous.create(garment, headers=key)  # the widget sending its upload again
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]
    tryon = TryOnRequest.objects.get()
    assert tryon.idempotency_key == "widget-123"


def test_idempotency_key_reused_with_another_photo_is_409(anonymous, garment, sent):
    key = {"Idempotency-Key": "widget-123"}
    assert anonymous.create(garment, headers=key).status_code == 202
    other = anonymous.create(garment, person=imagegen.make_person(width=800), headers=key)
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert TryOnRequest.objects.count() == 1


def test_idempotency_key_is_per_owner(alice, bob, garment, sent):
    key = {"Idempotency-Key": "same"}
    a = alice.create(garment, headers=key).json()["id"]
    b = bob.create(garment, headers=key).json()["id"]
    assert a != b and TryOnRequest.objects.count() == 2


def test_idempotency_key_reused_for_other_inputs_is_409(alice, make_garment, sent):
    key = {"Idempotency-Key": "k"}
    assert alice.create(make_garment(), headers=key).status_code == 202
    response = alice.create(make_garment(name="Other"), headers=key)
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_reused"
    assert TryOnRequest.objects.count() == 1


@pytest.mark.parametrize("key", ["", " ", "x" * 256, "naïve"])
def test_bad_idempotency_key_is_400(alice, garment, sent, key):
    response = alice.create(garment, headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert TryOnRequest.objects.count() == 0


# -- retrieve, results, errors --------------------------------------------------------------


def test_succeeded_request_lists_its_results_with_working_urls(alice, garment, sent):
    tryon = TryOnRequest.objects.get(pk=alice.create(garment, batch_size=1).json()["id"])
    succeed(tryon, count=2)
    body = alice.get(f"requests/{tryon.pk}/").json()
    assert body["status"] == "succeeded" and body["completed_at"]
    assert [(r["index"], r["width"], r["height"]) for r in body["results"]] == [
        (0, 640, 800),
        (1, 640, 800),
    ]
    for result in body["results"]:
        assert result["url"].startswith("http://testserver/tryon/results/")
        # Unguessable: nothing of the storage name is in the URL in clear.
        image = alice.client.get(result["url"])
        assert image.status_code == 200 and image["Content-Type"] == "image/png"
        assert b"".join(image.streaming_content).startswith(b"\x89PNG")


def test_failed_request_carries_a_readable_error(alice, garment, sent):
    tryon = TryOnRequest.objects.get(pk=alice.create(garment).json()["id"])
    transitions.fail(
        tryon,
        code="content_refused",
        detail="provider said: risk control 1301",  # staff only
    )
    body = alice.get(f"requests/{tryon.pk}/").json()
    assert body["status"] == "failed"
    # The one table's words for the code (django_tryon/messages.py), which the widget
    # shows and the admin quotes, not whatever text the failing step recorded.
    assert body["error"] == {
        "code": "content_refused",
        "message": "The try-on service couldn't use this photo under its content rules. "
        "Please try a different photo.",
    }
    assert "risk control" not in str(body)
    french = alice.client.get(f"/tryon/api/requests/{tryon.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
    assert french.json()["error"]["message"].startswith("Le service d'essayage ne peut pas")


def test_retryable_note_on_an_active_request_is_not_an_error(alice, garment, sent):
    tryon = TryOnRequest.objects.get(pk=alice.create(garment).json()["id"])
    TryOnRequest.objects.filter(pk=tryon.pk).update(error_code="rate_limited")
    assert alice.get(f"requests/{tryon.pk}/").json()["error"] is None


# -- ownership (IDOR) -----------------------------------------------------------------------


@pytest.fixture
def alices_request(alice, garment, sent):
    return alice.create(garment).json()["id"]


@pytest.mark.parametrize("intruder", ["anonymous", "bob", "bob_token"])
def test_other_callers_get_404_for_someone_elses_request(request, intruder, alices_request, users):
    if intruder == "bob_token":
        from rest_framework.authtoken.models import Token

        other = Caller(user=users["bob"], token=Token.objects.create(user=users["bob"]).key)
    else:
        other = request.getfixturevalue(intruder)
    assert other.get(f"requests/{alices_request}/").status_code == 404
    response = other.post(f"requests/{alices_request}/cancel/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert other.get("requests/").json()["count"] == 0
    assert TryOnRequest.objects.get(pk=alices_request).status == Status.PENDING


def test_unknown_and_malformed_ids_are_404_like_others_requests(alice):
    for ident in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "1"]:
        response = alice.get(f"requests/{ident}/")
        assert response.status_code == 404
        assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_two_anonymous_sessions_do_not_see_each_other(garment, sent):
    first, second = Caller(), Caller()
    ident = first.create(garment).json()["id"]
    assert first.get(f"requests/{ident}/").status_code == 200
    assert second.get(f"requests/{ident}/").status_code == 404
    assert second.get("requests/").json()["count"] == 0


def test_user_sees_own_requests_from_session_and_token_alike(alice, token_caller, garment, sent):
    ident = alice.create(garment).json()["id"]
    assert token_caller.get(f"requests/{ident}/").status_code == 200


def grant(user, *codenames):
    from django.contrib.auth.models import Permission

    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="django_tryon", codename__in=codenames)
    )


def test_staff_without_try_on_permissions_see_no_shopper(staff, users, alices_request):
    """is_staff alone opens the admin's door, not the shoppers' try-ons (the admin's own
    list answers such a user 403); the API used to list, show and cancel them all."""
    assert staff.get(f"requests/{alices_request}/").status_code == 404
    assert staff.get("requests/").json()["count"] == 0
    assert staff.post(f"requests/{alices_request}/cancel/").status_code == 404


def test_staff_see_shoppers_try_ons_only_where_the_shop_shows_their_photos(
    staff, users, alices_request, tryon_settings
):
    grant(users["staff"], "view_tryonrequest")
    assert staff.get(f"requests/{alices_request}/").status_code == 404  # photos hidden
    tryon_settings(ADMIN_SHOW_SHOPPER_PHOTOS=True)
    assert staff.get(f"requests/{alices_request}/").status_code == 200
    assert staff.get("requests/").json()["count"] == 1
    # Seeing is not changing: cancelling someone's try-on needs the change permission.
    assert staff.post(f"requests/{alices_request}/cancel/").status_code == 403
    grant(users["staff"], "change_tryonrequest")
    users["staff"].refresh_from_db()
    response = staff.post(f"requests/{alices_request}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_a_bad_token_is_401_with_the_scheme_to_use(garment):
    from rest_framework.test import APIClient

    client = APIClient()
    response = client.get("/tryon/api/requests/", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_anonymous_use_can_be_switched_off(anonymous, alice, garment, sent, tryon_settings):
    tryon_settings(API_ALLOW_ANONYMOUS=False)
    response = anonymous.create(garment)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert anonymous.get("requests/").status_code == 401
    assert anonymous.get("quota/").status_code == 401
    assert TryOnRequest.objects.count() == 0
    assert alice.create(garment).status_code == 202
    # The catalogue stays public.
    assert anonymous.get("garments/").status_code == 200


# -- list -----------------------------------------------------------------------------------


def test_list_is_paginated_newest_first(alice, make_garment, sent):
    garment = make_garment()
    ids = [
        alice.create(garment, person=imagegen.make_person(width=700 + i)).json()["id"]
        for i in range(3)
    ]
    page = alice.get("requests/", {"page_size": 2}).json()
    assert page["count"] == 3 and page["previous"] is None
    assert [r["id"] for r in page["results"]] == ids[::-1][:2]
    second = alice.client.get(page["next"]).json()
    assert [r["id"] for r in second["results"]] == [ids[0]]
    assert alice.get("requests/", {"page": 9}).status_code == 404


def test_list_filters_by_status_and_garment(alice, make_garment, sent):
    shirt, jeans, dress = make_garment(), make_garment("lower", "Jeans"), make_garment("dress")
    outfit = alice.create(shirt, lower_garment=jeans).json()["id"]
    only_dress = alice.create(dress).json()["id"]
    services.cancel(TryOnRequest.objects.get(pk=only_dress))

    def ids(**params):
        return {r["id"] for r in alice.get("requests/", params).json()["results"]}

    assert ids(status="cancelled") == {only_dress}
    assert ids(status="pending") == {outfit}
    assert ids(garment=str(jeans.pk)) == {outfit}  # as the lower garment too
    assert ids(garment=str(dress.pk), status="pending") == set()
    bad = alice.get("requests/", {"status": "done", "garment": "x"})
    assert bad.status_code == 400 and set(bad.json()) == {"status", "garment"}


# -- cancel ---------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
def test_cancel_a_pending_request(caller, garment, sent):
    ident = caller.create(garment).json()["id"]
    response = caller.post(f"requests/{ident}/cancel/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled" and body["completed_at"]
    assert body["error"] == {"code": "cancelled", "message": "This try-on was cancelled."}
    # Cancelling again is harmless.
    assert caller.post(f"requests/{ident}/cancel/").json()["status"] == "cancelled"


@pytest.mark.parametrize(
    ("status", "fragment"),
    [(Status.SUCCEEDED, "already finished"), (Status.SUBMITTING, "being sent")],
)
def test_cancel_refused_when_finished_or_in_flight(alice, garment, sent, status, fragment):
    ident = alice.create(garment).json()["id"]
    TryOnRequest.objects.filter(pk=ident).update(status=status)
    response = alice.post(f"requests/{ident}/cancel/")
    assert response.status_code == 409
    assert response.json()["code"] == "not_cancellable"
    assert fragment in response.json()["detail"]
    assert TryOnRequest.objects.get(pk=ident).status == status


def test_cancel_answers_at_once_whatever_the_provider_does(alice, garment, sent):
    """PiAPI's DELETE answering 500, a gateway's HTML 502, or a stalled connection used to
    hold the shopper's cancel for 30 s and then answer 500: the view no longer calls the
    provider at all (a worker does, from django_tryon.cancel)."""
    import httpx

    ident = alice.create(garment, provider="piapi").json()["id"]
    TryOnRequest.objects.filter(pk=ident).update(
        status=Status.SUBMITTED, provider_task_id="task-down"
    )

    def down(self, request, **kwargs):
        raise AssertionError("the cancel view called the provider")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx.Client, "send", down)
        response = alice.post(f"requests/{ident}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"


def test_create_path_does_not_decode_a_jpeg(alice, garment, sent, monkeypatch):
    """Headers are checked and metadata cut out without decoding; the pixels are the
    worker's job."""
    from django_tryon import images

    def must_not_run(*args, **kwargs):
        raise AssertionError("the create path decoded pixels")

    monkeypatch.setattr(images, "verify_image", must_not_run)
    monkeypatch.setattr(images, "prepare_for_provider", must_not_run)
    response = alice.create(garment, person=imagegen.make_jpeg(3000, 4000, textured=True))
    assert response.status_code == 202
    assert sent == []  # queued only on commit; the test transaction never commits


def test_upload_is_stored_privately_under_a_random_name(anonymous, garment, sent):
    body = anonymous.create(garment).json()
    name = TryOnRequest.objects.get(pk=body["id"]).person_image.name
    base = name.rsplit("/", 1)[-1]
    # The upload was "me.jpg": the stored name is a random token, nothing of the original.
    assert name.startswith("tryon/persons/")
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}\.jpg", base), base


def test_photo_helper_makes_an_upload():
    assert photo().name == "me.jpg"


def test_owner_keys_never_contain_a_session_key(users):
    key = callers.owner_key_for(None, "abc123sessionkey")
    assert key.startswith("session:") and "abc123sessionkey" not in key
    assert key == callers.owner_key_for(None, "abc123sessionkey")  # stable
    assert key != callers.owner_key_for(None, "another")
    assert callers.owner_key_for(users["alice"]) == f"user:{users['alice'].pk}"
    assert callers.owner_key_for() == ""


def test_the_widget_says_it_is_the_widget(anonymous, garment, sent):
    """The cost page splits shoppers' try-ons by where they came from: the widget's create
    names itself, any other client is the API (it was all "API" before)."""
    widget = anonymous.create(garment, headers={"X-Tryon-Client": "widget"}).json()
    other = anonymous.create(garment, person=imagegen.make_person(width=701)).json()
    sources = dict(TryOnRequest.objects.values_list("pk", "source"))
    assert sources[uuid.UUID(widget["id"])] == Source.WIDGET
    assert sources[uuid.UUID(other["id"])] == Source.API


def test_a_running_try_on_says_how_long_they_usually_take_here(anonymous, garment, sent):
    """The median of the provider's last successes at this shop, upload to result."""
    from django.core.cache import cache

    cache.clear()
    now = timezone.now()
    for seconds in (20, 30, 25, 90):
        TryOnRequest.objects.create(
            garment=garment,
            provider="kling",
            status=Status.SUCCEEDED,
            input_digest=uuid.uuid4().hex,
            created_at=now - timezone.timedelta(seconds=seconds),
            completed_at=now,
        )
    body = anonymous.create(garment).json()
    assert body["usual_seconds"] == 28  # median of 20, 25, 30, 90
    TryOnRequest.objects.filter(pk=body["id"]).update(status=Status.SUCCEEDED)
    assert anonymous.get(f"requests/{body['id']}/").json()["usual_seconds"] is None
