"""The request status machine: one enum, one table of allowed transitions."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUBMITTING = "submitting", _("Submitting")
    SUBMITTED = "submitted", _("Queued at provider")
    PROCESSING = "processing", _("Generating")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


TERMINAL = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})
ACTIVE = frozenset(set(Status) - TERMINAL)
#: Where the provider already holds a task for the request.
AT_PROVIDER = frozenset({Status.SUBMITTED, Status.PROCESSING})

#: The only moves a request may make. ``submitting -> pending`` is the one step back,
#: taken only when the provider answered that it created nothing (a 429 on create).
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.PENDING: frozenset({Status.SUBMITTING, Status.FAILED, Status.CANCELLED}),
    Status.SUBMITTING: frozenset(
        {Status.PENDING, Status.SUBMITTED, Status.PROCESSING, Status.FAILED, Status.CANCELLED}
    ),
    Status.SUBMITTED: frozenset(
        {Status.PROCESSING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}
    ),
    Status.PROCESSING: frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}),
    Status.SUCCEEDED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """True when ``current -> target`` is in the table."""
    return Status(target) in TRANSITIONS[Status(current)]


def sources_of(target: str) -> list[str]:
    """Every status a request may move to ``target`` from."""
    target = Status(target)
    return [s.value for s, allowed in TRANSITIONS.items() if target in allowed]


class InvalidTransition(Exception):
    """A move that the table does not allow."""
