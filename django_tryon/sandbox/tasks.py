"""A simulated try-on task and the clock that moves it through its states."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

# Internal states; each provider module maps them to its own words.
STAGED = "staged"
QUEUED = "queued"
PROCESSING = "processing"
SUCCEEDED = "succeeded"
FAILED = "failed"
ACTIVE_STATES = frozenset({STAGED, QUEUED, PROCESSING})
TERMINAL_STATES = frozenset({SUCCEEDED, FAILED})


@dataclass
class Failure:
    """Why a task ends (or ended) failed."""

    kind: str  # "content", "generic" or "cancelled"
    message: str | None = None  # None: the provider's default text for the kind


@dataclass
class Task:
    """One try-on task of either provider.

    Durations are copied from the configuration at creation, so changing the clock later
    does not move tasks already running. ``skew`` is added by ``fast_forward``.
    """

    provider: str
    task_id: str
    account: str
    created: float
    staged_seconds: float
    queue_seconds: float
    generation_seconds: float
    person: bytes
    garments: list[tuple[str, bytes]]
    output_width: int
    output_height: int
    batch_size: int = 1
    external_task_id: str = ""
    callback_url: str = ""
    webhook_secret: str = ""
    request: dict[str, Any] = field(default_factory=dict)
    failure: Failure | None = None
    hold_callbacks: bool = False
    held_callbacks: list[Any] = field(default_factory=list)
    state: str = QUEUED
    updated: float = 0.0
    started: float | None = None
    ended: float | None = None
    skew: float = 0.0
    result_downloads: int = 0
    results: dict[tuple[int, bool], bytes] = field(default_factory=dict)
    result_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.state = STAGED if self.staged_seconds > 0 else QUEUED
        self.updated = self.created

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def next_transition(self) -> tuple[float, str] | None:
        """(when, state) of the next scheduled change, or None once ended."""
        start = self.created - self.skew
        queued_at = start + self.staged_seconds
        processing_at = queued_at + self.queue_seconds
        ended_at = processing_at + self.generation_seconds
        if self.state == STAGED:
            return queued_at, QUEUED
        if self.state == QUEUED:
            return processing_at, PROCESSING
        if self.state == PROCESSING:
            return ended_at, FAILED if self.failure else SUCCEEDED
        return None

    def advance(self, now: float, entered: Callable[[Task], None]) -> None:
        """Apply every change due by ``now``, calling ``entered`` after each one."""
        while True:
            step = self.next_transition()
            if step is None or step[0] > now:
                return
            at, state = step
            # Never report a change as older than the one before it (fast_forward moves time).
            self.enter(state, max(at, self.updated))
            entered(self)

    def enter(self, state: str, at: float) -> None:
        self.state = state
        self.updated = at
        if state == PROCESSING:
            self.started = at
        elif state in TERMINAL_STATES:
            self.ended = at
            if state == FAILED:  # no result will ever be rendered: free the inputs
                self.person = b""
                self.garments = []


class TaskStore:
    """Every task the sandbox holds: by id, the ones still running, and each provider's
    external (client-side) ids. It has no lock of its own: the sandbox's lock guards it."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._running: set[str] = set()
        self._external: dict[tuple[str, str, str], str] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def clear(self) -> None:
        self._tasks.clear()
        self._running.clear()
        self._external.clear()

    def add(self, task: Task) -> None:
        self._tasks[task.task_id] = task
        self._running.add(task.task_id)
        if task.external_task_id:
            key = (task.provider, task.account, task.external_task_id)
            self._external[key] = task.task_id

    def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def all(self) -> list[Task]:
        """Every task, oldest first."""
        return list(self._tasks.values())

    def of(self, provider: str) -> Iterator[Task]:
        return (t for t in self._tasks.values() if t.provider == provider)

    def by_external(self, provider: str, account: str, external_task_id: str) -> Task | None:
        task_id = self._external.get((provider, account, external_task_id))
        return self._tasks.get(task_id) if task_id else None

    def running(self) -> list[Task]:
        return [self._tasks[task_id] for task_id in self._running]

    def settled(self, task: Task) -> None:
        """``task`` changed state: it leaves the running set once it has ended."""
        if not task.active:
            self._running.discard(task.task_id)
