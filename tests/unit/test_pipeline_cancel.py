"""Cancelling a try-on (pipeline/cancel.py)."""

from __future__ import annotations

import pytest

from django_tryon import services
from django_tryon.status import Status
from tests.unit.helpers import create

pytestmark = pytest.mark.django_db


def test_cancel_pending_and_refuse_cancel_of_finished(fake, make_garment, sent):
    request, _ = create(make_garment())
    assert services.cancel(request)
    request.refresh_from_db()
    assert request.status == Status.CANCELLED
    assert not services.cancel(request)
