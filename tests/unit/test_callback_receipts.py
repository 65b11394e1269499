# ruff: noqa: F811  (the fixtures imported from sibling modules are used as parameters)
"""Callbacks under faults: SECRET_KEY rotation, hostile bodies, and the receipt of
every delivery (what arrived, for which try-on, refused or not, and why)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from django_tryon import links, services
from django_tryon.models import CallbackReceipt
from tests.unit.test_callbacks import (  # noqa: F401 (fixtures)
    body_for,
    client,
    make_request,
    no_http,
    piapi_body,
    post,
    refreshes,
    url_for,
)

pytestmark = pytest.mark.django_db


def test_piapi_callback_signed_before_a_secret_key_rotation_is_accepted(
    make_request, post, sent, settings
):
    request = make_request("piapi")
    # What the provider was handed at create, before the rotation: the URL and the secret.
    url, old_secret = url_for(request), links.callback_secret(request)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = (
        "a-brand-new-key-" * 4,
        [settings.SECRET_KEY],
    )
    assert links.callback_secret(request) != old_secret
    response = post(url, piapi_body(request), **{"x-webhook-secret": old_secret})
    assert response.status_code == 200
    assert sent == refreshes(request)


def test_piapi_callback_with_a_retired_key_no_longer_in_the_fallbacks_is_refused(
    make_request, post, sent, settings
):
    request = make_request("piapi")
    url, old_secret = url_for(request), links.callback_secret(request)
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = "a-brand-new-key-" * 4, []
    response = post(url, piapi_body(request), **{"x-webhook-secret": old_secret})
    assert response.status_code == 400 and sent == []


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_a_deeply_nested_body_is_400_not_500(make_request, post, sent, provider):
    request = make_request(provider)
    body = b'{"data": ' * 5000 + b"1" + b"}" * 5000
    response = post(request, body)
    assert response.status_code == 400 and sent == []
    receipt = CallbackReceipt.objects.get()
    assert receipt.outcome == "refused" and "unreadable" in receipt.reason


def test_every_delivery_leaves_a_receipt(make_request, post, sent):
    request = make_request("kling")
    post(request, body_for(request, "succeed"))
    post(request, body_for(request, "processing"))
    post(url_for(request, token="not-a-token"), body_for(request, "succeed"))
    piapi = make_request("piapi", task_id="task-2")
    post(piapi, piapi_body(piapi), secret=False, **{"x-webhook-secret": "wrong"})

    receipts = list(CallbackReceipt.objects.order_by("pk"))
    assert [(r.provider, r.outcome) for r in receipts] == [
        ("kling", "fetch_queued"),
        ("kling", "progress"),  # a processing hint for a submitted try-on: now generating
        ("kling", "unknown"),
        ("piapi", "refused"),
    ]
    assert [r.request_id for r in receipts] == [request.pk, request.pk, None, piapi.pk]
    assert receipts[0].task_id_hint == request.provider_task_id
    assert receipts[1].status_hint == "processing"
    assert "verification" in receipts[3].reason
    assert all(r.processed_at is not None for r in receipts)
    # A delivery that proved nothing is counted, not described.
    assert [r.body_bytes > 0 for r in receipts] == [True, True, False, True]
    # The token never lands in the receipt.
    token = links.callback_token(request)
    assert not any(token in f"{r.reason}{r.task_id_hint}" for r in receipts)


def test_receipts_are_purged_after_their_retention(make_request, post, sent, settings):
    from datetime import timedelta

    from django.utils import timezone

    request = make_request("kling")
    post(request, body_for(request, "succeed"))
    CallbackReceipt.objects.update(received_at=timezone.now() - timedelta(days=15))
    post(request, body_for(request, "succeed"))
    assert services.purge().callback_receipts == 1
    assert CallbackReceipt.objects.count() == 1


# -- callers that prove nothing (issue 22) ---------------------------------------------------


def test_a_flood_of_made_up_callbacks_costs_one_row_a_minute(make_request, post, sent):
    request = make_request("kling")
    first_minute = timezone.now().replace(second=0, microsecond=0)
    for n in range(200):
        response = post(url_for(request, token=f"made-up-{n}"), body_for(request, "succeed"))
        assert response.status_code == 404
    last_minute = timezone.now().replace(second=0, microsecond=0)
    # The flood may cross a minute's end while it runs: then it is two rows, never more.
    receipts = list(CallbackReceipt.objects.order_by("received_at"))
    assert 1 <= len(receipts) <= 1 + (last_minute > first_minute)
    assert sum(r.deliveries for r in receipts) == 200
    for receipt in receipts:
        assert (receipt.provider, receipt.outcome) == ("kling", "unknown")
        assert first_minute <= receipt.received_at <= last_minute
        assert receipt.request_id is None
    assert sent == []


def test_a_made_up_provider_path_is_not_stored(client, sent):
    response = client.post(
        "/tryon/callbacks/evil-provider-name/made-up-token/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    receipt = CallbackReceipt.objects.get()
    assert receipt.provider == "" and "evil" not in f"{receipt.reason}{receipt.task_id_hint}"


@pytest.mark.parametrize("length", ["100000000000000000000", "12abc", "9" * 40])
def test_an_absurd_content_length_is_a_400(make_request, client, sent, length):
    request = make_request("kling")
    response = client.generic(
        "POST",
        url_for(request),
        b"{}",
        content_type="application/json",
        CONTENT_LENGTH=length,
    )
    assert response.status_code == 400 and sent == []
    receipt = CallbackReceipt.objects.get()
    assert (receipt.outcome, receipt.request_id, receipt.body_bytes) == ("refused", None, 0)


def test_a_callback_rides_out_a_locked_sqlite_database(make_request, post, sent, monkeypatch):
    """ "database is locked" (SQLite while a worker writes) is tried again, never a 500
    (issue 23, item 7)."""
    from django.db import OperationalError

    from django_tryon import callbacks, locking

    monkeypatch.setattr(locking, "PAUSES", (0, 0, 0))
    request = make_request("kling")
    real, locked = links.request_for_callback_token, [2]

    def busy(token):
        if locked[0]:
            locked[0] -= 1
            raise OperationalError("database is locked")
        return real(token)

    monkeypatch.setattr(callbacks.links, "request_for_callback_token", busy)
    assert post(request, body_for(request, "succeed")).status_code == 200
    assert sent == refreshes(request)
    locked[0] = 99  # locked for good: the provider is asked to deliver again
    response = post(request, body_for(request, "succeed"))
    assert response.status_code == 503 and response["Retry-After"] == "5"
