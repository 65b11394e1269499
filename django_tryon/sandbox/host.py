"""The declared interfaces between the sandbox's server and what it serves.

The provider APIs (``kling``, ``piapi``, ``fashn``) and the control API (``control``) are
written against these protocols, never against ``server.Sandbox`` itself, so the
dependency runs one way: the server imports them, they import this. ``server.Sandbox``
is the one class that provides every method below.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from .callbacks import SentCallback
from .tasks import Failure, Task
from .web import RecordedRequest


@dataclass(frozen=True)
class Switch:
    """One armed fault: how many more times it fires (None: until cleared) and its aim."""

    name: str
    remaining: int | None
    on: str = "any"
    provider: str = "any"
    message: str | None = None
    http: int | None = None
    code: int | None = None


class ProviderHost(Protocol):
    """What a provider API may ask of the sandbox serving it.

    Methods marked "lock held" expect the caller to hold ``lock``.
    """

    #: Held while reading or changing tasks; re-entrant.
    lock: AbstractContextManager

    def config_snapshot(self) -> Any:
        """The current ``options.SandboxConfig`` (keys, clock, slots...)."""

    def advance(self, now: float) -> None:
        """Move every running task to where the clock says it is (lock held)."""

    def register(self, task: Task) -> None:
        """Add a new task and announce its first state (lock held)."""

    def get_task(self, task_id: str) -> Task | None:
        """A task by its id (lock held)."""

    def iter_tasks(self, provider: str) -> Iterator[Task]:
        """One provider's tasks, oldest first (lock held)."""

    def find_external(self, provider: str, account: str, external_task_id: str) -> Task | None:
        """A task by the caller's own id for it."""

    def task_faults(self, provider: str, *, has_callback: bool) -> tuple[Failure | None, bool]:
        """The task faults armed for a task being created: (failure, hold callbacks)."""

    def take_fault(self, name: str, *, kind: str | None = None, provider: str | None = None):
        """Fire fault switch ``name`` if it is armed for this event: the Switch, or None."""

    def result_url(self, task_id: str, index: int = 0, *, watermarked: bool = False) -> str:
        """Where a finished task's image is served."""

    def download(self, url: str, field: str) -> bytes:
        """Fetch an input image the way the provider does (ValueError if it cannot)."""

    def pause(self, seconds: float) -> None:
        """Hold this request's thread for ``seconds``, or until the sandbox stops."""


class ControlledSandbox(ProviderHost, Protocol):
    """What the control API (``/_sandbox/``) reads and changes."""

    url: str
    apis: dict[str, Any]
    task_count: int
    requests: list[RecordedRequest]
    callbacks_sent: list[SentCallback]
    callbacks_dropped: list[SentCallback]
    faults: dict[str, Any]
    config: dict[str, Any]
    tasks: list[dict[str, Any]]

    def api(self, name: str) -> Any: ...

    def task(self, task_id: str) -> dict[str, Any] | None: ...

    def fault_number(self, name: str) -> float | None: ...

    def set_faults(self, **faults: Any) -> dict[str, Any]: ...

    def clear_faults(self) -> None: ...

    def configure(self, **options: Any) -> dict[str, Any]: ...

    def reset(self) -> None: ...

    def fast_forward(self, seconds: float) -> None: ...

    def hang(self) -> None: ...
