"""What an adapter is given and gives back: the try-on to make (``TryOnInput``), the task
as the app understands it (``ProviderTask``, ``TaskState``) and a callback's hint.
``base`` re-exports them, so ``from .base import ProviderTask`` works."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


class TaskState(enum.StrEnum):
    """A provider task's status, normalised across providers (PROVIDERS.md section 3)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"

    @property
    def is_terminal(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED)


@dataclass(frozen=True)
class InputImage:
    """One provider-ready image: normalised bytes, and a signed URL when the app serves it."""

    data: bytes
    content_type: str = "image/jpeg"
    url: str | None = None


@dataclass(frozen=True)
class TryOnInput:
    """Everything an adapter needs to create one task.

    ``garment`` is the single cloth image; for PiAPI outfits ``lower_garment`` is the
    second one (Kling gets one composed image from the service instead).
    """

    request_id: str
    person: InputImage
    garment: InputImage
    garment_category: str  # "upper", "lower" or "dress"
    lower_garment: InputImage | None = None
    batch_size: int = 1
    callback_url: str | None = None
    callback_secret: str | None = None


@dataclass
class ProviderTask:
    """A provider task as the app understands it; ``raw`` keeps the provider's own payload."""

    provider: str
    task_id: str
    state: TaskState
    raw_status: str = ""
    image_urls: list[str] = field(default_factory=list)
    #: The images themselves, when the provider answers with them (Vertex): stored as
    #: they are, never downloaded.
    images: list[bytes] = field(default_factory=list)
    message: str = ""
    error_code: str = ""
    external_id: str = ""
    cost: Decimal | None = None
    cost_currency: str = ""  # "USD" for money, "units" for Kling resource-pack units
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallbackHint:
    """What a callback body says: only a hint that tells the app which task to fetch."""

    task_id: str
    raw_status: str = ""
    external_id: str = ""
