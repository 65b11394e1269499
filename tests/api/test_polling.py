"""Cheap polls: a GET with a still-current ETag is 304 with no database query, and any
change, other credentials, a finished request or a lost cache entry gets the full read."""

from __future__ import annotations

import pytest

from django_tryon import polling
from django_tryon.models import TryOnRequest
from django_tryon.pipeline.transitions import transition
from django_tryon.status import Status
from tests.api.conftest import Caller

pytestmark = pytest.mark.django_db

CALLERS = ["anonymous", "alice", "token_caller"]


@pytest.fixture
def caller(request):
    return request.getfixturevalue(request.param)


def start(caller, garment):
    response = caller.create(garment)
    assert response.status_code == 202, response.content
    return TryOnRequest.objects.get(pk=response.json()["id"])


def break_the_cache(monkeypatch, *methods: str) -> None:
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    for method in methods:
        monkeypatch.setattr(type(polling.status_cache()), method, broken)


def poll(caller, tryon, tag=None):
    headers = {"If-None-Match": tag} if tag else {}
    return caller.get(f"requests/{tryon.pk}/", **headers)


@pytest.mark.parametrize("caller", CALLERS, indirect=True)
def test_an_unchanged_try_on_is_304_without_a_single_query(
    caller, garment, sent, django_assert_num_queries
):
    tryon = start(caller, garment)
    full = poll(caller, tryon)
    assert full.status_code == 200
    tag = full["ETag"]
    assert tag.startswith('W/"') and full["Cache-Control"] == "private, no-cache"
    with django_assert_num_queries(0):  # not the session, not the user, not the row
        again = poll(caller, tryon, tag)
    assert again.status_code == 304 and again["ETag"] == tag and again.content == b""
    assert "Cookie" in again["Vary"] and again["Cache-Control"] == "private, no-cache"


def test_a_status_change_is_seen_at_the_next_poll(
    alice, garment, sent, django_capture_on_commit_callbacks
):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        assert transition(tryon, Status.SUBMITTING, expected=[Status.PENDING])
    moved = poll(alice, tryon, tag)
    assert moved.status_code == 200 and moved.json()["status"] == "submitting"
    assert moved["ETag"] != tag
    assert poll(alice, tryon, moved["ETag"]).status_code == 304


def test_a_fallback_to_another_provider_is_a_change(
    alice, garment, sent, django_capture_on_commit_callbacks
):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        transition(tryon, Status.SUBMITTING, expected=[Status.PENDING])
        transition(tryon, Status.PENDING, expected=[Status.SUBMITTING], provider="fashn")
    moved = poll(alice, tryon, tag)
    assert moved.status_code == 200 and moved.json()["provider"] == "fashn"


def test_a_finished_try_on_is_always_read_in_full(
    alice, garment, sent, django_capture_on_commit_callbacks
):
    tryon = start(alice, garment)
    with django_capture_on_commit_callbacks(execute=True):
        transition(tryon, Status.CANCELLED, expected=[Status.PENDING])
    tag = poll(alice, tryon)["ETag"]
    assert poll(alice, tryon, tag).status_code == 200


def test_the_tag_is_bound_to_the_credentials_it_was_issued_to(
    alice, bob, token_caller, garment, sent
):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    assert poll(alice, tryon, tag).status_code == 304
    # Someone else with the tag gets what they always get: a 404.
    assert poll(bob, tryon, tag).status_code == 404
    assert poll(Caller(), tryon, tag).status_code == 404
    # Alice herself with other credentials (her API token) gets a full read.
    assert poll(token_caller, tryon, tag).status_code == 200


def test_a_lost_cache_entry_is_a_full_read_that_puts_it_back(alice, garment, sent):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    polling.status_cache().clear()
    assert poll(alice, tryon, tag).status_code == 200
    assert poll(alice, tryon, tag).status_code == 304


def test_a_cached_version_the_row_disagrees_with_is_dropped(alice, garment, sent):
    # A move whose cache write never landed: the row is ahead of the cache.
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    TryOnRequest.objects.filter(pk=tryon.pk).update(status=Status.SUBMITTED)
    assert poll(alice, tryon, tag).status_code == 304  # the cache still says pending
    fresh = poll(alice, tryon)  # the widget's regular full read
    assert fresh.json()["status"] == "submitted"
    assert poll(alice, tryon, tag).status_code == 200  # the stale version is gone
    assert poll(alice, tryon, fresh["ETag"]).status_code == 304


def test_a_cache_that_cannot_be_written_leaves_no_stale_version(
    alice, garment, sent, django_capture_on_commit_callbacks, monkeypatch
):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    break_the_cache(monkeypatch, "set")
    with django_capture_on_commit_callbacks(execute=True):
        assert transition(tryon, Status.SUBMITTING, expected=[Status.PENDING])
    assert poll(alice, tryon, tag).json()["status"] == "submitting"


def test_a_cache_that_cannot_be_read_means_full_reads(alice, garment, sent, monkeypatch):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    break_the_cache(monkeypatch, "get", "get_many")  # every read (Redis has its own MGET)
    answer = poll(alice, tryon, tag)
    assert answer.status_code == 200 and answer["ETag"] == tag


def test_without_a_status_cache_every_poll_is_a_full_read(alice, garment, sent, tryon_settings):
    tryon_settings(STATUS_CACHE=False)
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    assert poll(alice, tryon, tag).status_code == 200


def test_the_create_answer_carries_a_tag_for_the_first_poll(
    alice, garment, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = alice.create(garment)
    tryon = TryOnRequest.objects.get(pk=created.json()["id"])
    assert poll(alice, tryon, created["ETag"]).status_code == 304


def test_cheap_polls_are_throttled_per_browser(alice, garment, sent, tryon_settings):
    tryon = start(alice, garment)
    tag = poll(alice, tryon)["ETag"]
    tryon_settings(API_READ_RATE="2/minute")
    assert [poll(alice, tryon, tag).status_code for _ in range(2)] == [304, 304]
    refused = poll(alice, tryon, tag)
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert refused.json()["code"] == "throttled"


def test_a_poll_without_credentials_is_never_304(garment, sent):
    tryon = start(Caller(), garment)
    assert polling.credentials(type("R", (), {"COOKIES": {}, "META": {}})()) == ""
    assert poll(Caller(), tryon, 'W/"anything"').status_code == 404


def test_a_first_try_on_is_tagged_for_the_first_poll(
    garment, sent, django_capture_on_commit_callbacks, django_assert_num_queries
):
    shopper = Caller()
    shopper.csrf_token()  # the widget's quota read: the session and browser cookie start here
    assert {"sessionid", "tryon_browser"} <= set(shopper.client.cookies)
    with django_capture_on_commit_callbacks(execute=True):
        created = shopper.create(garment)
    tryon = TryOnRequest.objects.get(pk=created.json()["id"])
    with django_assert_num_queries(0):
        assert poll(shopper, tryon, created["ETag"]).status_code == 304
