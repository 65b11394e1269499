"""Status moves (compare-and-set UPDATEs) and failing a request."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db.models import Q
from django.utils import timezone

from .. import polling
from ..models import TryOnRequest, tryon_storage
from ..providers.base import ProviderError
from ..signals import tryon_failed
from ..status import ACTIVE, TERMINAL, InvalidTransition, Status, can_move
from ..untrusted import plain
from .charges import release_reservation
from .dispatch import send_on_commit

log = logging.getLogger("django_tryon")


def transition(
    request: TryOnRequest,
    target: str,
    *,
    expected: Iterable[str] | None = None,
    where: Q | None = None,
    **fields,
) -> bool:
    """Move ``request`` to ``target`` if it is still in an expected status (and matches
    ``where``, when given): compare-and-set.

    Returns False (and changes nothing) when another worker or event moved it first.
    ``request`` is updated in memory when the move happens.
    """
    sources = [s for s in (expected or [request.status]) if can_move(s, target)]
    if not sources:
        raise InvalidTransition(f"{list(expected or [request.status])} -> {target}")
    now = timezone.now()
    values = {"status": target, "updated_at": now, **fields}
    if target in TERMINAL and "completed_at" not in values:
        values["completed_at"] = now
    rows = TryOnRequest.objects.filter(pk=request.pk, status__in=sources)
    moved = (rows.filter(where) if where is not None else rows).update(**values)
    if moved:
        for key, value in values.items():
            setattr(request, key, value)
        polling.changed(request)
    return bool(moved)


def fail(
    request: TryOnRequest,
    *,
    code: str,
    detail: str = "",
    expected: Iterable[str] | None = None,
    where: Q | None = None,
    **fields,
) -> bool:
    """Fail an active request with its error code (the words a shopper reads are
    ``messages.shopper_message(code)``'s); send ``tryon_failed``."""
    moved = transition(
        request,
        Status.FAILED,
        expected=expected or [s for s in ACTIVE],
        where=where,
        error_code=code[:40],
        error_detail=plain(detail, 2000),
        persist_claimed_at=None,
        next_check_at=None,
        **fields,
    )
    if moved:
        log.info("try-on %s failed: %s", request.pk, code)
        send_on_commit(tryon_failed, request)
    return moved


def fail_unsent(
    request: TryOnRequest, *, code: str, detail: str = "", expected: Iterable[str]
) -> bool:
    """Fail a request the provider never accepted, and give its quota back."""
    moved = fail(request, code=code, detail=detail, expected=expected)
    if moved:
        release_reservation(request)
        discard_unused_photo(request)
    return moved


def note_error(request: TryOnRequest, exc: ProviderError) -> None:
    TryOnRequest.objects.filter(pk=request.pk, status=request.status).update(
        updated_at=timezone.now(), **error_fields(exc)
    )


def error_fields(exc: ProviderError) -> dict:
    return {"error_code": exc.error_code, "error_detail": plain(exc, 2000)}


def discard_unused_photo(request: TryOnRequest) -> None:
    """Delete the photo of a try-on that ended before any worker sent it (cancelled while
    queued, past its deadline): nothing will ever use it, so it is not kept for the purge."""
    if request.person_image and not request.attempts:
        drop_person_photo(request.pk, request.person_image.name, timezone.now())


def drop_person_photo(pk, name: str, now) -> tuple[bool, bool]:
    """Unlink a request from its person photo (compare-and-set on the name), and delete
    the file unless another request (a retry) still uses it: ``(unlinked, deleted)``."""
    if not TryOnRequest.objects.filter(pk=pk, person_image=name).update(
        person_image="", person_purged_at=now
    ):
        return False, False
    if TryOnRequest.objects.filter(person_image=name).exists():
        return True, False
    tryon_storage().delete(name)
    return True, True
