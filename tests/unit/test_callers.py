"""The Caller value: who asks for a try-on, worked out once by each entry point."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from django_tryon.callers import SHOPPER_SOURCES, Caller, owner_key_for
from django_tryon.models import Source
from django_tryon.quotas import client_key

pytestmark = pytest.mark.django_db


def web_request(user=None, address="203.0.113.9"):
    request = RequestFactory().get("/", REMOTE_ADDR=address)
    request.user = user or AnonymousUser()
    return request


def test_a_signed_in_shopper_owns_by_user_and_has_no_client_key(django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw")
    caller = Caller.from_request(web_request(alice), source=Source.WIDGET)
    assert (caller.owner_key, caller.user, caller.client_key) == (owner_key_for(alice), alice, "")
    assert caller.shopper_limits and not caller.staff


def test_an_anonymous_shopper_is_counted_by_address_too():
    caller = Caller.from_request(web_request(), source=Source.API, owner_key="session:abc")
    assert caller.owner_key == "session:abc" and caller.user is None
    assert caller.client_key == client_key("203.0.113.9")
    assert caller.shopper_limits


def test_staff_skip_the_shoppers_limits_but_not_the_shops(django_user_model):
    boss = django_user_model.objects.create_user("boss", password="pw", is_staff=True)
    caller = Caller.from_request(web_request(boss), source=Source.API)
    assert caller.staff and not caller.shopper_limits


def test_the_admin_and_the_terminal_own_nothing():
    admin = Caller.for_admin(user=None)
    terminal = Caller.for_terminal()
    assert (admin.source, admin.owner_key, admin.shopper_limits) == (Source.ADMIN, "", False)
    assert (terminal.source, terminal.owner_key, terminal.shopper_limits) == (Source.CLI, "", False)


def test_shopper_sources_are_the_widget_and_the_api():
    assert {Source(s) for s in SHOPPER_SOURCES} == {Source.WIDGET, Source.API}
