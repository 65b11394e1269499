"""Fetching the results of a finished task again, without paying for a new one."""

from __future__ import annotations

from dataclasses import dataclass

from ..fetch import DownloadError
from ..models import TryOnRequest
from ..providers import get_provider
from ..providers.base import ProviderError, TaskNotFound, TaskState
from ..status import Status
from .results import RECOVERABLE_CODES, persist_results


@dataclass
class Recovery:
    """The outcome of ``recover_results``, in words a merchandiser can act on."""

    recovered: bool
    message: str


def is_recoverable(request: TryOnRequest) -> bool:
    """Failed on our side after the provider finished a task we know: ``recover_results``
    can store its images without a new task."""
    return (
        request.status == Status.FAILED
        and request.error_code in RECOVERABLE_CODES
        and bool(request.provider_task_id)
    )


def recover_results(request: TryOnRequest) -> Recovery:
    """Fetch a finished task's images again after a failure on our side (the download
    was refused, the image check failed): no new task, no new charge. (Storage being
    down fails nothing: the next poll tries again.)

    Works while the provider still keeps the task (Kling: 30 days).
    """
    request.refresh_from_db()
    if request.status == Status.SUCCEEDED:
        return Recovery(True, "This try-on already has its results.")
    if not is_recoverable(request):
        return Recovery(
            False,
            "Only a try-on the provider finished, but whose images could not be stored, "
            "can fetch them again. Use Retry instead (a new task, charged again).",
        )
    adapter = get_provider(request.provider)
    try:
        task = adapter.fetch(request.provider_task_id)
    except TaskNotFound:
        return Recovery(False, "The provider no longer keeps this task: use Retry instead.")
    except ProviderError as exc:
        return Recovery(False, f"The provider could not be asked ({exc}). Try again later.")
    if task.state != TaskState.SUCCEEDED:
        return Recovery(False, f"The provider reports this task as '{task.raw_status}'.")
    try:
        moved = persist_results(request, adapter, task, recovering=True)
    except DownloadError as exc:
        return Recovery(False, f"The images could not be downloaded yet ({exc.reason}).")
    request.refresh_from_db()
    if moved:
        count = request.results.count()
        return Recovery(True, f"Stored {count} image{'s' if count != 1 else ''}.")
    if request.persist_claimed_at:
        return Recovery(False, "Another worker is fetching these images right now.")
    return Recovery(False, f"The images could not be stored again: {request.error_detail}")
