"""Retrying a try-on (pipeline/retry.py)."""

from __future__ import annotations

import pytest

from django_tryon import services
from django_tryon.errors import TryOnValidationError
from django_tryon.pipeline import transitions
from django_tryon.status import Status
from tests.unit.helpers import create

pytestmark = pytest.mark.django_db


def test_retry_makes_a_new_request_with_same_inputs(fake, make_garment, sent):
    request, _ = create(make_garment())
    transitions.fail(request, code="x")
    clone = services.retry(request)
    assert clone.pk != request.pk and clone.retry_of_id == request.pk
    assert clone.status == Status.PENDING and clone.person_image.name == request.person_image.name
    with pytest.raises(TryOnValidationError):
        services.retry(clone)
