"""What every provider API in the sandbox shares: routing, the order of checks, faults.

A provider module subclasses :class:`ProviderApi`, says where its tasks live and which
methods mean what, declares its own settings (:class:`Option`) and fault switches
(:class:`Fault`), and writes its own answers: authentication, each endpoint, the task
data and its callbacks, and its error envelope. ``apis.PROVIDER_APIS`` lists the classes;
``options.SandboxConfig`` and ``faults.SPECS`` are built from what they declare.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from .callbacks import CallbackMessage
from .host import ProviderHost, Switch
from .tasks import Task
from .web import ApiRequest, ApiResponse


@dataclass(frozen=True)
class Option:
    """One sandbox setting: a ``SandboxConfig`` field, a ``configure()`` option and a flag.

    ``check(name, value)`` raises ValueError saying what is wrong with a value.
    """

    name: str
    default: Any
    help: str = ""
    choices: tuple[str, ...] = ()
    kind: type = str
    check: Callable[[str, Any], None] | None = None


@dataclass(frozen=True)
class Fault:
    """One of a provider's request fault switches (docs/sandbox.md lists them all).

    ``on`` is the request kind it hits by default, ``kinds`` those it may be aimed at
    (default: every kind the API routes, and "any"). With ``code``, the API answers
    ``error(code, message)`` instead of the request; without, the API's own code acts on
    it. ``needs`` names a key the switch's object must have ("code" or "http").
    """

    name: str
    description: str
    on: str = "create"
    kinds: tuple[str, ...] | None = None
    code: int | None = None
    message: str = ""
    needs: str | None = None
    #: The provider's own name for the error, for envelopes that carry one (FASHN's).
    error_name: str = ""


class ProviderApi:
    """One provider's API, served under ``prefix``.

    A request to ``tasks_path`` is routed by ``collection_methods`` (method -> kind) and
    handled by ``self.<kind>(request)``; one to ``<items_path>/<ref>`` (``tasks_path``
    unless set) by ``item_methods`` and ``self.<kind>(ref)``. Every routed request is authenticated first, then meets the
    request faults: ``<name>_error`` (answered by :meth:`custom_error`) and each of
    ``faults`` that has a code.
    """

    name: ClassVar[str]
    prefix: ClassVar[str | tuple[str, ...]]  # every path this API answers starts with one
    tasks_path: ClassVar[str]
    items_path: ClassVar[str] = ""  # where one task lives, when not under tasks_path
    status_field: ClassVar[str]  # where task_data() says the status word (or: status_word)
    serves_watermarks: ClassVar[bool] = False
    collection_methods: ClassVar[dict[str, str]]
    item_methods: ClassVar[dict[str, str]]
    options: ClassVar[tuple[Option, ...]] = ()
    faults: ClassVar[tuple[Fault, ...]] = ()

    def __init__(self, sandbox: ProviderHost) -> None:
        self.sandbox = sandbox

    @classmethod
    def request_kinds(cls) -> tuple[str, ...]:
        """Every kind of request this API routes (create, query, ...)."""
        kinds = [*cls.collection_methods.values(), *cls.item_methods.values()]
        return tuple(dict.fromkeys(kinds))

    def render_size(self, task: Task) -> tuple[int, int] | None:
        """The size a task's result images are drawn at; None: the person photo's."""
        return None

    def status_word(self, data: dict[str, Any]) -> str:
        """The provider's status word in ``task_data()``'s answer (the control API shows it)."""
        return data[self.status_field]

    @property
    def create_path(self) -> str:
        """Shown by the sandbox's health endpoint."""
        return self.tasks_path

    def handle(self, request: ApiRequest) -> ApiResponse:
        request.provider = self.name
        path, method = request.path, request.method
        items = self.items_path or self.tasks_path
        rest = path[len(items) + 1 :]
        ref = None
        if path == self.tasks_path:
            kind = self.collection_methods.get(method)
        elif path.startswith(items + "/") and "/" not in rest:
            ref = unquote(rest)
            kind = self.item_methods.get(method) if ref else None
        else:
            return self.no_such_path(request)
        if kind is None:
            return self.bad_method(request)
        request.kind = kind
        problem = self.authenticate(request) or self.request_fault(kind)
        if problem is not None:
            return problem
        endpoint = getattr(self, kind)
        return endpoint(request) if ref is None else endpoint(ref)

    @contextmanager
    def on_the_clock(self) -> Iterator[float]:
        """Hold the sandbox's lock with every task caught up to now; gives the time."""
        with self.sandbox.lock:
            now = time.time()
            self.sandbox.advance(now)
            yield now

    def start_task(self, now: float, *, callback_url: str = "", **fields: Any) -> Task:
        """Create and register a task (lock held), on the sandbox's clock, with the task
        faults armed for this provider; ``fields`` are the rest of ``Task``'s."""
        config = self.sandbox.config_snapshot()
        failure, hold = self.sandbox.task_faults(self.name, has_callback=bool(callback_url))
        fields.setdefault("staged_seconds", 0.0)
        task = Task(
            provider=self.name,
            created=now,
            queue_seconds=config.queue_seconds,
            generation_seconds=config.generation_seconds,
            callback_url=callback_url,
            failure=failure,
            hold_callbacks=hold,
            **fields,
        )
        self.sandbox.register(task)
        return task

    def take_fault(self, name: str, kind: str = "create"):
        """Fire this provider's fault switch ``name`` for a request of ``kind``, if armed."""
        return self.sandbox.take_fault(name, kind=kind, provider=self.name)

    def request_fault(self, kind: str) -> ApiResponse | None:
        """The answer an armed request fault gives instead of the real one, if any."""
        custom = self.take_fault(f"{self.name}_error", kind)
        if custom:
            return self.custom_error(custom)
        for fault in self.faults:
            if fault.code is not None:
                switch = self.take_fault(fault.name, kind)
                if switch:
                    return self.fault_error(fault, switch.message or fault.message)
        return None

    def fault_error(self, fault: Fault, message: str) -> ApiResponse:
        """The answer of an armed fault that has a code: the provider's error envelope."""
        return self.error(fault.code or 500, message)

    # -- what each provider answers ---------------------------------------------------------

    @classmethod
    def describe_keys(cls, config: Any) -> str:
        """The credentials it accepts, for the command line's banner."""
        raise NotImplementedError

    @classmethod
    def app_settings(cls, config: Any) -> dict[str, Any]:
        """The adapter's options (``TRYON["PROVIDERS"][name]``) holding keys this accepts."""
        raise NotImplementedError

    def authenticate(self, request: ApiRequest) -> ApiResponse | None:
        """None when the request's credentials pass, else the provider's refusal."""
        raise NotImplementedError

    def error(self, code: int, message: str) -> ApiResponse:
        """The provider's error envelope for one of its codes."""
        raise NotImplementedError

    def custom_error(self, switch: Switch) -> ApiResponse:
        """The answer to the ``<name>_error`` fault (its code, http and message)."""
        return self.error(switch.http or 500, switch.message or "simulated error")

    def internal_error(self, message: str) -> ApiResponse:
        """How the provider answers when something broke on its side."""
        return self.error(500, message)

    def no_such_path(self, request: ApiRequest) -> ApiResponse:
        return self.error(404, f"not found: {request.path}")

    def bad_method(self, request: ApiRequest) -> ApiResponse:
        return self.error(405, f"{request.method} is not allowed on {request.path}")

    def task_data(self, task: Task) -> dict[str, Any]:
        """The task as the provider's query answers it."""
        raise NotImplementedError

    def callback_message(self, task: Task) -> CallbackMessage | None:
        """The callback for the state the task just entered, or None for no callback."""
        raise NotImplementedError


# -- checks for Option.check ---------------------------------------------------------------


def nonempty(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")


def nonempty_or_none(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{name} must be a non-empty string or None")


def seconds(minimum: float = 0.0, *, nullable: bool = False) -> Callable[[str, Any], None]:
    def check(name: str, value: Any) -> None:
        if value is None and nullable:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise ValueError(f"{name} must be a number >= {minimum:g}, got {value!r}")

    return check


def positive_int(name: str, value: Any) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"{name} must be an integer >= 1")


def is_http_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)
