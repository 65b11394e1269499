"""Attacks on the surfaces added last: photos decoded before the quota, a header that
understates its image, a planted session cookie, a brand-new client's burst of first
creates, a deleted token's cheap polls (issue 22)."""

from __future__ import annotations

import io
import struct

import pytest
from django.utils import timezone
from PIL import Image
from rest_framework.authtoken.models import Token

from django_tryon import images, quotas
from django_tryon.models import TryOnRequest, UsageCounter
from tests.api.conftest import Caller
from tests.api.test_polling import poll

pytestmark = pytest.mark.django_db


def encoded(fmt: str, size=(640, 800), **options) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (150, 90, 60)).save(buf, fmt, **options)
    return buf.getvalue()


# -- decoding ---------------------------------------------------------------------------------


@pytest.fixture
def decodes(monkeypatch):
    """Every decode of an upload for storing, counted (in the web process or a child)."""
    calls = []
    for module, name in (
        (images, "prepare_isolated"),
        (images, "prepare_for_provider"),
    ):
        real = getattr(module, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls.append(_name)
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    return calls


@pytest.mark.parametrize("fmt", ["WEBP", "AVIF"])
def test_a_photo_is_not_decoded_for_a_shopper_whose_quota_is_used_up(
    anonymous, garment, settings, sent, decodes, fmt
):
    settings.TRYON = {**settings.TRYON, "SHOPPER_DAILY_GENERATION_LIMIT": 1}
    assert anonymous.create(garment, person=encoded(fmt, (700, 900))).status_code == 202
    decodes.clear()
    refused = anonymous.create(garment, person=encoded(fmt, (720, 900)))
    assert refused.status_code == 429 and refused.json()["code"] == "shopper_daily"
    assert decodes == []  # refused before any pixel was decoded
    assert TryOnRequest.objects.count() == 1


def test_a_photo_is_not_decoded_while_try_on_is_switched_off(anonymous, garment, settings, decodes):
    anonymous.csrf_token()
    settings.TRYON = {**settings.TRYON, "ENABLED": False}
    response = anonymous.create(garment, person=encoded("WEBP"))
    assert response.status_code == 503 and decodes == []


def test_an_accepted_webp_is_decoded_outside_the_web_process(anonymous, garment, sent, decodes):
    assert anonymous.create(garment, person=encoded("WEBP")).status_code == 202
    assert decodes == ["prepare_isolated"]
    stored = TryOnRequest.objects.get().person_image.read()
    assert Image.open(io.BytesIO(stored)).format == "JPEG"


def understated_avif(coded=(9000, 9000), said=(640, 800)) -> bytes:
    """An AVIF whose ``ispe`` box claims ``said`` around a coded image of ``coded``."""
    data = encoded("AVIF", coded, quality=30, speed=10)
    at = data.find(b"ispe")
    return data[: at + 8] + struct.pack(">II", *said) + data[at + 16 :]


def test_an_avif_whose_header_understates_its_pixels_is_refused(anonymous, garment, sent):
    liar = understated_avif()
    assert len(liar) < 4096
    assert images.inspect_image(liar).width == 640  # what the header says
    response = anonymous.create(garment, person=liar)
    assert response.status_code == 400
    assert "damaged" in response.json()["person_image"][0]
    assert TryOnRequest.objects.count() == 0 and sent == []


def test_a_cut_avif_is_called_damaged_not_refused_as_a_format(anonymous, garment, sent):
    whole = encoded("AVIF", (700, 900))
    response = anonymous.create(garment, person=whole[: len(whole) // 3])
    assert response.status_code == 400
    message = response.json()["person_image"][0]
    assert "damaged" in message and "not accepted" not in message


# -- sessions ---------------------------------------------------------------------------------


def test_an_anonymous_create_needs_the_session_a_quota_read_starts(garment, sent):
    shopper = Caller()
    shopper.client.cookies["csrftoken"] = "k" * 32  # a CSRF cookie from a page, no session
    response = shopper.create(garment)
    assert response.status_code == 403 and response.json()["code"] == "session_required"
    assert TryOnRequest.objects.count() == 0
    assert shopper.get("quota/").status_code == 200  # what the widget reads first
    assert shopper.create(garment).status_code == 202


def test_a_burst_of_first_creates_shares_one_quota(garment, settings, sent):
    settings.TRYON = {**settings.TRYON, "SHOPPER_DAILY_GENERATION_LIMIT": 3}
    shopper = Caller()
    answers = [shopper.create(garment, person=encoded("PNG", (600 + i, 800))) for i in range(6)]
    assert [a.status_code for a in answers] == [202, 202, 202, 429, 429, 429]
    assert len({r.owner_key for r in TryOnRequest.objects.all()}) == 1


def planted(victim: Caller, attacker: Caller) -> None:
    """The attacker's session cookie, set in the victim's browser (a sibling subdomain can)."""
    victim.client.cookies["sessionid"] = attacker.client.cookies["sessionid"].value
    victim.client.cookies["csrftoken"] = attacker.client.cookies["csrftoken"].value


def test_a_planted_session_moves_nothing_into_the_victims_account(garment, users, sent):
    attacker, victim = Caller(), Caller()
    made = attacker.create(garment)
    assert made.status_code == 202
    planted(victim, attacker)
    victim.sign_in(users["alice"])
    tryon = TryOnRequest.objects.get()
    assert tryon.owner_id is None and tryon.owner_key.startswith("session:")
    assert not UsageCounter.objects.filter(scope=f"user:{users['alice'].pk}").exists()


def test_a_planted_session_does_not_hand_the_victims_tryon_to_the_attacker(garment, users, sent):
    attacker, victim = Caller(), Caller()
    attacker.csrf_token()  # the attacker's session, with the attacker's browser cookie
    planted(victim, attacker)
    # The victim's widget reads the quota, then tries on, all on the planted session.
    assert victim.get("quota/").status_code == 200
    made = victim.create(garment).json()
    assert victim.get(f"requests/{made['id']}/").status_code == 200
    assert attacker.get(f"requests/{made['id']}/").status_code == 404
    attacker.sign_in(users["bob"])
    assert attacker.get(f"requests/{made['id']}/").status_code == 404
    assert attacker.get("requests/").json()["results"] == []
    tryon = TryOnRequest.objects.get()
    assert tryon.owner_id is None and tryon.owner_key.startswith("session:")


def test_the_browser_cookie_is_httponly_and_host_only_over_https(garment):
    shopper = Caller()
    response = shopper.client.get("/tryon/api/quota/", secure=True)
    cookie = response.cookies["__Host-tryon_browser"]
    assert cookie["httponly"] and cookie["secure"] and cookie["path"] == "/"
    assert not cookie["domain"]


# -- cheap polls ------------------------------------------------------------------------------


def test_a_deleted_token_gets_no_more_cheap_polls(users, garment, sent):
    token = Token.objects.create(user=users["bob"])
    client = Caller(token=token.key)
    created = client.create(garment)
    tryon = TryOnRequest.objects.get(pk=created.json()["id"])
    tag = client.get(f"requests/{tryon.pk}/")["ETag"]
    assert poll(client, tryon, tag).status_code == 304
    token.delete()
    assert poll(client, tryon, tag).status_code == 401


def test_the_quota_check_refuses_as_reserve_would_without_counting(settings):
    settings.TRYON = {**settings.TRYON, "SHOPPER_DAILY_GENERATION_LIMIT": 1}
    quotas.check(quotas.Charge(1), owner_key="session:x")
    quotas.reserve(quotas.Charge(1), owner_key="session:x", now=timezone.now())
    with pytest.raises(quotas.QuotaExceeded):
        quotas.check(quotas.Charge(1), owner_key="session:x")
    assert UsageCounter.objects.get(scope="session:x").generations == 1


# -- nothing silent: a try-on no worker takes (issue 23, item 5) --------------------------------


def test_a_tryon_no_worker_takes_says_so(anonymous, garment, sent, settings):
    from datetime import timedelta

    from django_tryon import heartbeat
    from django_tryon.models import WorkerHeartbeat

    settings.TRYON = {**settings.TRYON, "WORKER_SILENT_SECONDS": 60}
    made = anonymous.create(garment).json()
    assert made["waiting_for_worker"] is False  # just made: a worker may well come
    tryon = TryOnRequest.objects.get(pk=made["id"])
    an_hour_ago = timezone.now() - timedelta(hours=1)
    TryOnRequest.objects.filter(pk=tryon.pk).update(created_at=an_hour_ago)
    WorkerHeartbeat.objects.create(worker="old:1", seen_at=an_hour_ago - timedelta(minutes=5))
    assert anonymous.get(f"requests/{tryon.pk}/").json()["waiting_for_worker"] is True
    assert heartbeat.stalled() == 1
    # A worker that took the app's tasks since: it is busy, not missing.
    WorkerHeartbeat.objects.create(worker="new:2", seen_at=timezone.now())
    assert anonymous.get(f"requests/{tryon.pk}/").json()["waiting_for_worker"] is False
    assert heartbeat.stalled() == 0


def test_a_worker_process_beats_at_most_once_a_minute(monkeypatch):
    from django_tryon import heartbeat
    from django_tryon.models import WorkerHeartbeat

    monkeypatch.setattr(heartbeat, "_last_written", 0.0)
    heartbeat._task_starting(sender=type("T", (), {"name": "django_tryon.submit"})())
    first = WorkerHeartbeat.objects.get().seen_at
    heartbeat._task_starting(sender=type("T", (), {"name": "django_tryon.refresh"})())
    heartbeat._task_starting(sender=type("T", (), {"name": "shop.other_task"})())
    assert WorkerHeartbeat.objects.get().seen_at == first  # no write a task
