"""The public face of the try-on pipeline (``django_tryon.pipeline``).

Every entry point (API, widget, admin, terminal command, Celery tasks, callbacks) calls
these functions and nothing else of the pipeline (tests/unit/test_layout.py holds it
to that). Status moves are compare-and-set UPDATEs; no row lock is ever held across an
HTTP call. Each job lives in its own module of the pipeline package; import from here,
which stays stable when they move. Who is calling is ``django_tryon.callers``; what a
caller may be refused with is ``django_tryon.errors``; signed links to inputs and
results, and callback tokens, are ``django_tryon.links``.
"""

from __future__ import annotations

from .pipeline.batches import create_batch, plan_batch
from .pipeline.cancel import cancel, cancel_at_provider
from .pipeline.charges import charge_for, next_tryon_allowance
from .pipeline.create import already_made, create_tryon
from .pipeline.dispatch import enqueue_refresh
from .pipeline.hints import act_on_hint
from .pipeline.maintenance import erase_shopper, purge, reap
from .pipeline.recovery import is_recoverable, recover_results
from .pipeline.results import refresh
from .pipeline.retry import retry
from .pipeline.submission import give_up_pending, submit
from .pipeline.validation import check_outfit

__all__ = [  # noqa: RUF022 (grouped by what a caller does)
    # Making try-ons, and what they would cost.
    "already_made",
    "charge_for",
    "check_outfit",
    "create_batch",
    "create_tryon",
    "next_tryon_allowance",
    "plan_batch",
    # Following them: the worker's steps, the reaper, the purge, callbacks.
    "act_on_hint",
    "cancel",
    "cancel_at_provider",
    "enqueue_refresh",
    "give_up_pending",
    "purge",
    "reap",
    "refresh",
    "submit",
    # Mending: a failed try-on again, results fetched again, a shopper's data erased.
    "erase_shopper",
    "is_recoverable",
    "recover_results",
    "retry",
]
