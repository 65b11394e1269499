"""API fixtures: callers of every kind, each a Django test client that enforces CSRF."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from kit import imagegen

API = "/tryon/api/"


class Caller:
    """One party calling the API through Django's test client, CSRF checks on.

    ``csrf=True`` (the default for unsafe methods) sends the token from the caller's
    ``csrftoken`` cookie, fetched from ``GET quota/`` the first time, as a browser does.
    ``token`` authenticates with an API token instead of a session (no cookies, no CSRF).
    """

    def __init__(self, *, user=None, token=None):
        self.client = Client(enforce_csrf_checks=True)
        self.user = user
        self.token = token
        if user is not None and token is None:
            self.client.force_login(user)

    def _headers(self, headers=None):
        headers = dict(headers or {})
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        return headers

    def csrf_token(self) -> str:
        if "csrftoken" not in self.client.cookies:
            response = self.client.get(API + "quota/", headers=self._headers())
            if response.status_code != 200:
                # Refused (anonymous use off): a page of the shop would have set one.
                self.client.cookies["csrftoken"] = "k" * 32
        return self.client.cookies["csrftoken"].value

    def sign_in(self, user):
        """Sign in as a shop's login view does: ``login()`` on a request that carries this
        browser's cookies (Django's ``Client.login`` sends none of them)."""
        from django.conf import settings
        from django.contrib.auth import login
        from django.contrib.sessions.backends.db import SessionStore
        from django.http import HttpRequest

        request = HttpRequest()
        request.COOKIES = {name: morsel.value for name, morsel in self.client.cookies.items()}
        request.session = SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session.save()
        self.client.cookies[settings.SESSION_COOKIE_NAME] = request.session.session_key
        self.user = user

    def get(self, path, data=None, **headers):
        return self.client.get(_url(path), data, headers=self._headers(headers))

    def post(self, path, data=None, *, csrf=True, **headers):
        headers = self._headers(headers)
        if csrf and not self.token:
            headers["X-CSRFToken"] = self.csrf_token()
        return self.client.post(_url(path), data or {}, headers=headers)

    def create(self, garment, *, person=None, csrf=True, headers=None, **fields):
        """POST requests/ with a person photo (consent given) unless a model photo is named."""
        data = {"garment": str(getattr(garment, "pk", garment))}
        if "model_photo" not in fields and person is not False:
            data["person_image"] = photo(person)
            data["consent"] = "true"
        for name, value in fields.items():
            if value is not None:
                data[name] = str(getattr(value, "pk", value))
        return self.post("requests/", data, csrf=csrf, **(headers or {}))


def photo(data: bytes | None = None, name: str = "me.jpg") -> SimpleUploadedFile:
    data = imagegen.make_person() if data is None else data
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def _url(path: str) -> str:
    return path if path.startswith(("/", "http://", "https://")) else API + path


@pytest.fixture(autouse=True)
def _fresh_throttles():
    """DRF throttles count in the cache: every test starts with none used."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def tryon_settings(settings):
    """Change TRYON keys for one test: ``tryon_settings(SHOPPER_DAILY_GENERATION_LIMIT=2)``."""

    def change(**values):
        settings.TRYON = {**settings.TRYON, **values}

    return change


@pytest.fixture
def users(django_user_model):
    make = django_user_model.objects.create_user
    return {
        "alice": make("alice", password="pw"),
        "bob": make("bob", password="pw"),
        "staff": make("staff", password="pw", is_staff=True),
    }


@pytest.fixture
def anonymous():
    return Caller()


@pytest.fixture
def alice(users):
    return Caller(user=users["alice"])


@pytest.fixture
def bob(users):
    return Caller(user=users["bob"])


@pytest.fixture
def staff(users):
    return Caller(user=users["staff"])


@pytest.fixture
def token_caller(users):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=users["alice"])
    return Caller(user=users["alice"], token=token.key)


@pytest.fixture
def garment(make_garment):
    return make_garment("upper", name="Blue shirt")
