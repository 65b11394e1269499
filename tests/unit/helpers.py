"""Helpers for the pipeline's unit tests (the fixtures are in tests/conftest.py)."""

from __future__ import annotations

from django_tryon import services
from django_tryon.callers import Caller
from kit import imagegen


def create(
    garment,
    person=None,
    *,
    source="api",
    owner_key="",
    client_key="",
    enforce_shopper_quota=None,
    **kwargs,
):
    """A try-on of ``garment`` at the fake provider, with a generated photo by default,
    for a caller from ``source`` (``enforce_shopper_quota=False``: a staff caller)."""
    kwargs.setdefault("provider", "fake")
    caller = Caller(
        source=source,
        owner_key=owner_key,
        client_key=client_key,
        staff=enforce_shopper_quota is False,
        consented=True,
    )
    return services.create_tryon(
        garment=garment,
        person_image=person if person is not None else imagegen.make_person(),
        caller=caller,
        **kwargs,
    )


def submitted(fake, make_garment, **kwargs):
    """A try-on sent to the fake provider (status submitted)."""
    request, _ = create(make_garment(), **kwargs)
    services.submit(request.pk)
    request.refresh_from_db()
    return request
