"""Helpers for the pipeline's unit tests (the fixtures are in tests/conftest.py)."""

from __future__ import annotations

from django_tryon import services
from kit import imagegen


def create(garment, person=None, **kwargs):
    """A try-on of ``garment`` at the fake provider, with a generated photo by default."""
    kwargs.setdefault("provider", "fake")
    return services.create_tryon(
        garment=garment,
        person_image=person if person is not None else imagegen.make_person(),
        **kwargs,
    )


def submitted(fake, make_garment, **kwargs):
    """A try-on sent to the fake provider (status submitted)."""
    request, _ = create(make_garment(), **kwargs)
    services.submit(request.pk)
    request.refresh_from_db()
    return request
