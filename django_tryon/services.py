"""The public face of the try-on pipeline (``django_tryon.pipeline``).

Every entry point (API, widget, admin, terminal command, Celery tasks, callbacks) calls
these functions. Status moves are compare-and-set UPDATEs (``transition``); no row lock
is ever held across an HTTP call. Each job lives in its own module of the pipeline
package; import from here, which stays stable when they move.
"""

from __future__ import annotations

from .pipeline.cancel import cancel, cancel_at_provider
from .pipeline.charges import estimated_charge, next_tryon_allowance, reserved_charge
from .pipeline.create import SHOPPER_SOURCES, already_made, create_tryon
from .pipeline.dispatch import enqueue_refresh
from .pipeline.hints import act_on_hint
from .pipeline.identity import OWNER_KEY_SALT, owner_key_for, owner_key_of
from .pipeline.maintenance import (
    PurgeReport,
    ReapReport,
    erase_shopper,
    purge,
    reap,
    resolve_stuck_submission,
)
from .pipeline.recovery import Recovery, is_recoverable, recover_results
from .pipeline.results import (
    RECOVERABLE_CODES,
    mark_generating,
    persist_results,
    persist_time_budget,
    poll_delay,
    refresh,
)
from .pipeline.retry import retry
from .pipeline.signing import (
    CALLBACK_TOKEN_SALT,
    INPUT_URL_SALT,
    RESULT_URL_SALT,
    callback_secret,
    callback_secrets,
    callback_token,
    callback_url,
    hash_token,
    request_for_callback_token,
    result_from_signed,
    result_url,
    signed_input_url,
    storage_name_from_signed,
)
from .pipeline.slots import WAITING_FOR_SLOT, wake_waiting
from .pipeline.submission import give_up_pending, submit
from .pipeline.transitions import fail, fail_unsent, transition
from .pipeline.validation import IdempotencyConflict, TryOnValidationError
from .quotas import QuotaExceeded, TryOnDisabled

__all__ = [
    "CALLBACK_TOKEN_SALT",
    "INPUT_URL_SALT",
    "OWNER_KEY_SALT",
    "RECOVERABLE_CODES",
    "RESULT_URL_SALT",
    "SHOPPER_SOURCES",
    "WAITING_FOR_SLOT",
    "IdempotencyConflict",
    "PurgeReport",
    "QuotaExceeded",
    "ReapReport",
    "Recovery",
    "TryOnDisabled",
    "TryOnValidationError",
    "act_on_hint",
    "already_made",
    "callback_secret",
    "callback_secrets",
    "callback_token",
    "callback_url",
    "cancel",
    "cancel_at_provider",
    "create_tryon",
    "enqueue_refresh",
    "erase_shopper",
    "estimated_charge",
    "fail",
    "fail_unsent",
    "give_up_pending",
    "hash_token",
    "is_recoverable",
    "mark_generating",
    "next_tryon_allowance",
    "owner_key_for",
    "owner_key_of",
    "persist_results",
    "persist_time_budget",
    "poll_delay",
    "purge",
    "reap",
    "recover_results",
    "refresh",
    "request_for_callback_token",
    "reserved_charge",
    "resolve_stuck_submission",
    "result_from_signed",
    "result_url",
    "retry",
    "signed_input_url",
    "storage_name_from_signed",
    "submit",
    "transition",
    "wake_waiting",
]
