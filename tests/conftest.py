"""Shared fixtures: test images, the sandbox, the live server and a real Celery worker."""

from __future__ import annotations

import os

import pytest
from django.core.files.base import ContentFile

from kit import imagegen

# The pipeline fixtures (sandbox, worker, pipeline) for every directory, registered once.
pytest_plugins = ["tests.pipeline"]


def pytest_report_header(config):
    db = os.environ.get("DATABASE_URL", "sqlite (default)")
    broker = os.environ.get("CELERY_BROKER_URL", "filesystem:// (default)")
    return [f"django-tryon: database={db.split('@')[-1]} broker={broker.split('@')[-1]}"]


@pytest.fixture
def make_garment(db):
    """Create a Garment with a generated image."""
    from django_tryon.models import Garment

    def factory(category="upper", name=None, active=True, **kwargs):
        # Accessories are drawn as a garment shape too: only their category matters here.
        kind = {"lower": "lower", "dress": "dress"}.get(category, "upper")
        garment = Garment(
            name=name or f"Test {category}", category=category, active=active, **kwargs
        )
        garment.image.save(f"{kind}.png", ContentFile(imagegen.make_garment(kind)), save=True)
        return garment

    return factory


@pytest.fixture
def make_model_photo(db):
    from django_tryon.models import ModelPhoto

    def factory(name="House model", active=True):
        photo = ModelPhoto(name=name, active=active)
        photo.image.save("model.jpg", ContentFile(imagegen.make_person()), save=True)
        return photo

    return factory


@pytest.fixture
def person_jpeg():
    return imagegen.make_person()


@pytest.fixture(autouse=True)
def _fresh_provider_clients():
    """Adapters are cached per process; settings overrides in a test must not leak."""
    from django_tryon.providers import reset_providers

    reset_providers()
    yield
    reset_providers()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With CI=true nothing may be skipped for a missing service: only live tests may skip."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI", "").lower() != "true" or not report.skipped:
        return
    reason = (
        str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    )
    if "live:" in reason or item.get_closest_marker("live"):
        return
    report.outcome = "failed"
    report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"


@pytest.fixture
def sent(monkeypatch):
    """Record Celery sends (task name, request id) instead of queueing them (also for a
    live server's thread)."""
    from django_tryon.pipeline import dispatch

    calls = []
    monkeypatch.setattr(
        dispatch, "send", lambda task_name, request_id, **kw: calls.append((task_name, request_id))
    )
    return calls


@pytest.fixture
def fake(settings, monkeypatch):
    """The scripted in-memory provider (tests/fakes.py), configured as "fake"."""
    from django_tryon.providers import PROVIDER_CLASSES, get_provider

    monkeypatch.setitem(PROVIDER_CLASSES, "fake", "tests.fakes.FakeProvider")
    settings.TRYON = {**settings.TRYON, "PROVIDERS": {**settings.TRYON["PROVIDERS"], "fake": {}}}
    return get_provider("fake")


@pytest.fixture
def downloads(monkeypatch):
    """Serve result downloads from memory; records the URLs asked for."""
    from django_tryon.pipeline import results

    asked = []

    def fake_download(url, *, allowed_hosts, **kwargs):
        asked.append(url)
        return imagegen.make_png(640, 800)

    monkeypatch.setattr(results, "download", fake_download)
    return asked
