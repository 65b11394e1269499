"""What the adapters' unit and contract tests share: one try-on's input as an adapter
receives it, and an error that must be raised as exactly its class."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from django_tryon.providers.base import InputImage, TryOnInput


def tryon_input(person: InputImage, garment: InputImage, category: str, overrides: dict):
    """One try-on's input with a fresh request id; ``overrides`` replace any field."""
    values: dict[str, Any] = {
        "request_id": str(uuid.uuid4()),
        "person": person,
        "garment": garment,
        "garment_category": category,
    }
    return TryOnInput(**{**values, **overrides})


def raised_exactly(error: type[Exception], call: Callable[[], object]) -> Any:
    """What ``call()`` raises, which must be ``error`` itself, not one of its subclasses."""
    with pytest.raises(error) as caught:
        call()
    assert type(caught.value) is error
    return caught.value
