"""CSRF for every cookie-borne call (anonymous included), tokens for headless clients, and
the catalogue endpoints' visibility rules."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from django_tryon.models import TryOnRequest
from tests.api.conftest import API, Caller

pytestmark = pytest.mark.django_db


# -- CSRF (SAFETY rule 18) ------------------------------------------------------------------


def test_anonymous_post_without_csrf_token_is_refused(anonymous, garment, sent):
    anonymous.csrf_token()  # the shopper has a CSRF cookie, but the form lacks the token
    response = anonymous.create(garment, csrf=False)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert TryOnRequest.objects.count() == 0


def test_anonymous_post_with_a_forged_csrf_token_is_refused(anonymous, garment, sent):
    anonymous.csrf_token()
    response = anonymous.create(garment, csrf=False, headers={"X-CSRFToken": "x" * 32})
    assert response.status_code == 403
    assert TryOnRequest.objects.count() == 0


def test_cross_site_post_from_a_fresh_browser_is_refused(garment, sent):
    """No cookies at all (a cross-site form post to a new visitor): no session is made."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(API + "requests/", {"garment": str(garment.pk)})
    assert response.status_code == 403
    assert "sessionid" not in client.cookies
    assert TryOnRequest.objects.count() == 0


def test_anonymous_cancel_needs_csrf_too(anonymous, garment, sent):
    ident = anonymous.create(garment).json()["id"]
    assert anonymous.post(f"requests/{ident}/cancel/", csrf=False).status_code == 403
    assert anonymous.post(f"requests/{ident}/cancel/").status_code == 200


def test_signed_in_session_post_needs_csrf(alice, garment, sent):
    assert alice.create(garment, csrf=False).status_code == 403
    assert alice.create(garment).status_code == 202


def test_token_clients_need_no_csrf_and_no_cookies(users, garment, sent):
    token = Token.objects.create(user=users["bob"]).key
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Token {token}"}
    response = client.post(
        API + "requests/",
        {"garment": str(garment.pk), "person_image": _photo(), "consent": "true"},
        headers=headers,
    )
    assert response.status_code == 202, response.content
    assert TryOnRequest.objects.get().owner == users["bob"]
    assert client.get(response["Location"], headers=headers).status_code == 200


def test_a_bad_token_is_refused_not_treated_as_anonymous(garment, sent):
    client = Client(enforce_csrf_checks=True)
    response = client.get(API + "requests/", headers={"Authorization": "Token not-a-token"})
    assert response.status_code in (401, 403)
    assert response.json()["code"] == "authentication_failed"


def test_reads_need_no_csrf(anonymous, garment):
    assert anonymous.get("requests/").status_code == 200
    assert anonymous.get("garments/").status_code == 200


def test_quota_sets_the_csrf_cookie(anonymous):
    response = anonymous.get("quota/")
    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_plain_drf_would_skip_csrf_for_anonymous_and_the_api_does_not(rf):
    """Why the API enforces CSRF itself: DRF's views are csrf-exempt and its session
    authentication checks CSRF only for a user it authenticated."""
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore
    from rest_framework.authentication import SessionAuthentication
    from rest_framework.permissions import AllowAny
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from django_tryon.api.views import TryOnAPIMixin

    class Plain(APIView):
        authentication_classes = [SessionAuthentication]
        permission_classes = [AllowAny]

        def post(self, request):
            return Response({"ok": True})

    class Ours(TryOnAPIMixin, Plain):
        throttle_classes = []

    def anonymous_post():
        request = rf.post("/", {})
        request.session, request.user = SessionStore(), AnonymousUser()
        return request

    assert Plain.as_view()(anonymous_post()).status_code == 200
    refused = Ours.as_view()(anonymous_post())
    assert refused.status_code == 403
    assert refused.data["detail"].startswith("CSRF Failed")


def _photo():
    from tests.api.conftest import photo

    return photo()


# -- catalogue ------------------------------------------------------------------------------


def test_garments_lists_active_ones_only(anonymous, make_garment):
    shirt = make_garment("upper", name="Shirt", sku="SH-1")
    make_garment("lower", name="Hidden jeans", active=False)
    dress = make_garment("dress", name="Dress")
    body = anonymous.get("garments/").json()
    assert body["count"] == 2
    assert [g["name"] for g in body["results"]] == ["Dress", "Shirt"]
    first = body["results"][1]
    assert set(first) == {"id", "name", "sku", "category", "image"}
    assert first["image"].startswith("http://testserver/media/tryon/garments/")
    assert anonymous.get("garments/", {"category": "dress"}).json()["results"][0]["id"] == str(
        dress.pk
    )
    assert anonymous.get("garments/", {"sku": "SH-1"}).json()["results"][0]["id"] == str(shirt.pk)
    assert anonymous.get("garments/", {"category": "scarf"}).status_code == 400


def test_garment_detail_hides_inactive(anonymous, make_garment):
    active, inactive = make_garment(), make_garment(active=False)
    assert anonymous.get(f"garments/{active.pk}/").json()["id"] == str(active.pk)
    assert anonymous.get(f"garments/{inactive.pk}/").status_code == 404


def test_model_photos_only_when_the_shop_offers_them(
    anonymous, staff, make_model_photo, tryon_settings
):
    offered, kept, retired = make_model_photo("Ana"), make_model_photo("Ben"), make_model_photo()
    offered.offer_to_shoppers = True
    offered.save()
    retired.offer_to_shoppers, retired.active = True, False
    retired.save()
    tryon_settings(HOUSE_MODELS_FOR_SHOPPERS=False)
    assert anonymous.get("model-photos/").json()["count"] == 0
    assert anonymous.get(f"model-photos/{offered.pk}/").status_code == 404
    tryon_settings(HOUSE_MODELS_FOR_SHOPPERS=True)
    body = anonymous.get("model-photos/").json()
    assert [p["name"] for p in body["results"]] == ["Ana"]
    assert set(body["results"][0]) == {"id", "name", "image"}
    assert anonymous.get(f"model-photos/{kept.pk}/").status_code == 404
    # Staff see every active house model.
    assert {p["name"] for p in staff.get("model-photos/").json()["results"]} == {"Ana", "Ben"}


def test_unknown_methods_are_405(alice, garment, sent):
    ident = alice.create(garment).json()["id"]
    assert alice.client.delete(f"{API}requests/{ident}/").status_code in (403, 405)
    token_caller = Caller(user=alice.user, token=Token.objects.create(user=alice.user).key)
    response = token_caller.client.delete(
        f"{API}requests/{ident}/", headers={"Authorization": f"Token {token_caller.token}"}
    )
    assert response.status_code == 405
