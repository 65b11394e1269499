"""Catalogue results: which try-on results may be published, publishing them, and the
approved results of a garment that product pages show.

Only catalogue runs can be published: requests started from the admin on a house model
(``source="admin"`` with a model photo). A shopper's result shows the shopper and is never
published, whoever asks.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from .models import Garment, Source, TryOnResult
from .status import Status

#: The results that may ever be approved for product pages.
PUBLISHABLE = Q(
    request__source=Source.ADMIN,
    request__model_photo__isnull=False,
    request__status=Status.SUCCEEDED,
)


def is_publishable(result: TryOnResult) -> bool:
    """True when ``result`` comes from a finished catalogue run (uses the loaded request)."""
    request = result.request
    return (
        request.source == Source.ADMIN
        and request.model_photo_id is not None
        and request.status == Status.SUCCEEDED
    )


def publish(results: QuerySet[TryOnResult], user) -> tuple[int, int]:
    """Approve the publishable results among ``results``; returns (approved, refused).

    Results approved before keep their first approval (time and person).
    """
    wanted = results.count()
    publishable = results.filter(PUBLISHABLE)
    allowed = publishable.count()
    approved = TryOnResult.objects.filter(
        pk__in=publishable.filter(approved=False).values("pk")
    ).update(approved=True, approved_at=timezone.now(), approved_by=user)
    return approved, wanted - allowed


def unpublish(results: QuerySet[TryOnResult]) -> int:
    """Withdraw approval; returns how many results were approved before."""
    return TryOnResult.objects.filter(pk__in=results.filter(approved=True).values("pk")).update(
        approved=False, approved_at=None, approved_by=None
    )


def approved_results(garment: Garment) -> QuerySet[TryOnResult]:
    """Approved catalogue results showing ``garment`` (alone or in an outfit), newest first."""
    return (
        TryOnResult.objects.filter(PUBLISHABLE, approved=True)
        .filter(Q(request__garment=garment) | Q(request__lower_garment=garment))
        .select_related("request__model_photo")
        .order_by("-approved_at", "request_id", "index")
    )
