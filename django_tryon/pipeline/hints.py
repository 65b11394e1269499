"""What an authenticated provider callback means for its try-on: fetch the task now, show
"generating", or nothing.

A callback is only ever a hint. Its status word and URLs are never acted on as facts:
the worker fetches the task from the provider with the shop's own key. The callback view
checks, parses, records and answers; this module decides.
"""

from __future__ import annotations

from ..models import CallbackReceipt, TryOnRequest
from ..providers.base import CallbackHint, Provider, TaskState
from ..status import AT_PROVIDER, Status
from .dispatch import enqueue_refresh
from .results import mark_generating

Outcome = CallbackReceipt.Outcome


def act_on_hint(tryon: TryOnRequest, hint: CallbackHint, adapter: Provider) -> str:
    """Do what the hint is worth for ``tryon`` and return what was done, as the
    receipt's outcome: a fetch queued, "generating" shown, or ignored."""
    if _worth_a_fetch(tryon, hint, adapter):
        # Only a request whose create answer was never seen needs the callback's task id.
        lost = tryon.status == Status.SUBMITTING and not tryon.provider_task_id
        # "Still running" before the create call's answer was saved: worth a fetch only
        # if that answer is still missing when the refresh runs.
        state = adapter.hint_state(hint)
        running = state is not None and not state.is_terminal
        enqueue_refresh(
            tryon.pk,
            callback_task_id=hint.task_id if lost and hint.task_id else "",
            early=tryon.status == Status.SUBMITTING and running,
        )
        return Outcome.FETCH_QUEUED
    if _generating(tryon, hint, adapter) and mark_generating(tryon):
        return Outcome.PROGRESS
    return Outcome.IGNORED


def _worth_a_fetch(tryon: TryOnRequest, hint: CallbackHint, adapter: Provider) -> bool:
    """Fetch only when the hint may mean the task ended (a wrong hint costs one GET)."""
    if tryon.status not in AT_PROVIDER and tryon.status != Status.SUBMITTING:
        return False
    if (
        tryon.provider_task_id
        and hint.task_id
        and hint.task_id != tryon.provider_task_id
        and hint.external_id != str(tryon.pk)
    ):
        return False  # about some other task
    state = adapter.hint_state(hint)
    return state is None or state.is_terminal or tryon.status == Status.SUBMITTING


def _generating(tryon: TryOnRequest, hint: CallbackHint, adapter: Provider) -> bool:
    """The callback says this request's own task is being generated.

    Trusted for this one move (submitted -> processing) without asking the provider: it
    changes no money state and no result, only what the shopper is told, and a wrong hint
    is corrected by the next poll. So "Generating" lights up at no extra provider call."""
    return (
        tryon.status == Status.SUBMITTED
        and bool(tryon.provider_task_id)
        and hint.task_id in ("", tryon.provider_task_id)
        and adapter.hint_state(hint) is TaskState.RUNNING
    )
