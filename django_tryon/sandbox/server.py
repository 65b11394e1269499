"""The sandbox server: one HTTP port serving both provider APIs and a control API."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from . import control
from .apis import PROVIDER_APIS
from .callbacks import CallbackDispatcher, CallbackLog, CallbackMessage, SentCallback
from .faults import MAX_HANG_SECONDS, Faults
from .http import SandboxHTTPServer
from .images import download_image
from .options import SandboxConfig, config_from
from .tasks import Failure, Task, TaskStore
from .web import ApiRequest, ApiResponse, RecordedRequest, RequestLog

logger = logging.getLogger("django_tryon.sandbox")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


class Sandbox:
    """A local stand-in for the providers' try-on APIs (``apis.PROVIDER_APIS``).

    ``Sandbox(port=0).start()`` serves on a free port from a daemon thread; ``url`` says
    where. Use it as a context manager to stop it at the end.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        public_url: str | None = None,
        faults: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        """``options`` are ``SandboxConfig``'s fields (keys, clock, slots, ...)."""
        self.host = host
        self.port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self._config = config_from(options)
        self.lock = threading.RLock()
        self._faults = Faults()
        if faults:
            self._faults.set(**faults)
        self.apis = {api.name: api(self) for api in PROVIDER_APIS}
        self.store = TaskStore()
        self.request_log = RequestLog()
        self.callback_log = CallbackLog()
        self._dispatcher = CallbackDispatcher(
            self._callback_done, lambda: self._config.callback_timeout_seconds
        )
        self._server: SandboxHTTPServer | None = None
        self._http: httpx.Client | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._wake = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind, then serve from background threads; return self."""
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = SandboxHTTPServer((self.host, self.port), self.respond)
        self.port = self._server.server_address[1]
        self._dispatcher.start()
        self._threads = [
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.02},
                name="tryon-sandbox-http",
                daemon=True,
            ),
            threading.Thread(target=self._clock, name="tryon-sandbox-clock", daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        logger.info("sandbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; pending callbacks are discarded. Safe to call twice."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._wake.set()
        server.shutdown()
        server.server_close()
        self._dispatcher.stop()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        with self.lock:
            client, self._http = self._http, None
        if client is not None:
            client.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """Base URL of both APIs, e.g. ``http://127.0.0.1:8765``."""
        if self._public_url:
            return self._public_url
        host = self.host
        if host in ("", "0.0.0.0"):  # noqa: S104 (a name for "all interfaces", not a bind)
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    # -- control --------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget tasks, recorded requests, callbacks and faults (configuration stays)."""
        with self.lock:
            self.store.clear()
            self.request_log.clear()
            self.callback_log.clear()
            self._dispatcher.clear()
            self._faults.clear()

    def set_faults(self, **faults: Any) -> dict[str, Any]:
        """Arm fault switches (see ``docs/sandbox.md``); return all armed faults."""
        self._faults.set(**faults)
        return self.faults

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def faults(self) -> dict[str, Any]:
        """The armed fault switches, with their remaining counts."""
        return self._faults.snapshot()

    def configure(self, **options: Any) -> dict[str, Any]:
        """Change settings at run time (clock, slots, keys ...); new tasks use them."""
        with self.lock:
            self._config = config_from(options, base=self._config)
        return self.config

    @property
    def config(self) -> dict[str, Any]:
        return dataclasses.asdict(self._config)

    def config_snapshot(self) -> SandboxConfig:
        return self._config

    def fast_forward(self, seconds: float) -> None:
        """Move every running task ``seconds`` further along its schedule."""
        with self.lock:
            for task in self.store.running():
                task.skew += seconds
            self.advance(time.time())
        self._wake.set()

    def api(self, name: str):
        """The provider API served under ``name`` (its module's ``name``), for helpers of
        its own, such as a valid token for the sandbox's keys."""
        return self.apis[name]

    # -- inspection -----------------------------------------------------------------------

    @property
    def task_count(self) -> int:
        with self.lock:
            return len(self.store)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request to a provider path, oldest first (a copy)."""
        return self.request_log.all()

    @property
    def callbacks_sent(self) -> list[SentCallback]:
        """Every callback POSTed, oldest first, with the HTTP status or the error."""
        return self.callback_log.sent.all()

    @property
    def callbacks_dropped(self) -> list[SentCallback]:
        """Callbacks the ``callbacks_drop`` fault swallowed."""
        return self.callback_log.dropped.all()

    @property
    def tasks(self) -> list[dict[str, Any]]:
        """A snapshot of every task, oldest first."""
        with self.lock:
            self.advance(time.time())
            return [self._describe(task) for task in self.store.all()]

    def task(self, task_id: str) -> dict[str, Any] | None:
        with self.lock:
            self.advance(time.time())
            task = self.store.get(task_id)
            return self._describe(task) if task else None

    def result_url(self, task_id: str, index: int = 0, *, watermarked: bool = False) -> str:
        suffix = "-watermarked" if watermarked else ""
        return f"{self.url}{control.RESULTS_PREFIX}{task_id}/{index}{suffix}.png"

    def wait_for_callbacks(self, count: int, timeout: float = 5.0) -> list[SentCallback]:
        """Wait until at least ``count`` callbacks were sent; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            sent = self.callbacks_sent
            if len(sent) >= count:
                return sent
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{len(sent)} of {count} callbacks sent after {timeout}s")
            time.sleep(0.01)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every task has ended and every queued callback has been sent."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                self.advance(time.time())
                busy = bool(self.store.running())
            if not busy and self._dispatcher.pending() == 0:
                return
            if time.monotonic() >= deadline:
                raise TimeoutError(f"sandbox still busy after {timeout}s")
            time.sleep(0.01)

    # -- used by the provider modules (call with ``lock`` held where noted) ----------------

    def iter_tasks(self, provider: str) -> Iterator[Task]:
        return self.store.of(provider)

    def get_task(self, task_id: str) -> Task | None:
        return self.store.get(task_id)

    def find_external(self, provider: str, account: str, external_task_id: str) -> Task | None:
        with self.lock:
            return self.store.by_external(provider, account, external_task_id)

    def download(self, url: str, field: str) -> bytes:
        """Fetch an input image the way the provider does (no redirects, 10 MB cap)."""
        with self.lock:
            if self._http is None:  # built on first use: loading CA certificates is slow
                self._http = httpx.Client(follow_redirects=False, trust_env=False)
            client = self._http
        return download_image(url, field, self._config.fetch_timeout_seconds, client)

    def task_faults(self, provider: str, *, has_callback: bool) -> tuple[Failure | None, bool]:
        """Take the task-level faults for a task being created: (failure, hold callbacks)."""
        faults = self._faults
        failure = None
        switch = faults.take("content_refused", provider=provider)
        if switch:
            failure = Failure("content", switch.message)
        else:
            switch = faults.take("task_fail", provider=provider)
            if switch:
                failure = Failure("generic", switch.message)
        hold = has_callback and faults.take("callbacks_reorder", provider=provider) is not None
        return failure, hold

    def take_fault(self, name: str, *, kind: str | None = None, provider: str | None = None):
        """Fire fault switch ``name`` if it is armed for this event: the Switch, or None."""
        return self._faults.take(name, kind=kind, provider=provider)

    def fault_number(self, name: str) -> float | None:
        """A numeric fault setting (``slow_seconds``...), or None when off."""
        return self._faults.number(name)

    def register(self, task: Task) -> None:
        """Add a new task (lock held) and announce its first state."""
        self.store.add(task)
        self.task_changed(task)
        self._wake.set()

    def advance(self, now: float) -> None:
        """Move every running task to where the clock says it is (lock held)."""
        for task in self.store.running():
            task.advance(now, self.task_changed)

    def task_changed(self, task: Task) -> None:
        """A task entered a new state (lock held): queue its callback."""
        self.store.settled(task)
        message = self.apis[task.provider].callback_message(task)
        if message is None:
            return
        if task.hold_callbacks:
            task.held_callbacks.append(message)
            if not task.active:
                held, task.held_callbacks = task.held_callbacks, []
                for queued in reversed(held):
                    self._queue_callback(queued)
            return
        self._queue_callback(message)

    # -- internals ------------------------------------------------------------------------

    def _queue_callback(self, message: CallbackMessage) -> None:
        faults = self._faults
        if faults.take("callbacks_drop", provider=message.provider):
            self.callback_log.drop(message, "dropped by fault callbacks_drop")
            return
        delay = faults.number("callbacks_delay_seconds") or 0.0
        self._dispatcher.enqueue(message, delay)
        if faults.take("callbacks_duplicate", provider=message.provider):
            self._dispatcher.enqueue(message, delay)

    def _callback_done(self, sent: SentCallback) -> None:
        self.callback_log.record(sent)
        if sent.error:
            logger.info("callback to %s failed: %s", sent.url, sent.error)

    def _clock(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            with self.lock:
                now = time.time()
                self.advance(now)
                wait = 0.5
                for task in self.store.running():
                    step = task.next_transition()
                    if step is not None:
                        wait = min(wait, step[0] - now)
            self._wake.wait(max(wait, 0.002))

    def _describe(self, task: Task) -> dict[str, Any]:
        api = self.apis[task.provider]
        data = api.task_data(task)
        return {
            "provider": task.provider,
            "task_id": task.task_id,
            "external_task_id": task.external_task_id,
            "state": task.state,
            "status": api.status_word(data),
            "created": task.created,
            "ended": task.ended,
            "callback_url": task.callback_url,
            "batch_size": task.batch_size,
            "result_downloads": task.result_downloads,
            "request": task.request,  # what the create asked for, without image bytes
            "data": data,
        }

    def api_for(self, path: str):
        """The provider API whose prefix matches ``path`` most closely (Kling's ``/v1/``
        and FASHN's ``/v1/run`` share a root), or None."""
        matches = [
            (len(prefix), api)
            for api in self.apis.values()
            for prefix in ((api.prefix,) if isinstance(api.prefix, str) else api.prefix)
            if path.startswith(prefix)
        ]
        return max(matches, key=lambda match: match[0])[1] if matches else None

    def respond(self, request: ApiRequest) -> ApiResponse:
        """Answer one request; provider requests are recorded and may be delayed."""
        if control.is_control(request.path):
            try:
                return control.answer(self, request)
            except Exception as exc:  # a test must read the bug, not a hung-up connection
                logger.exception("sandbox error on %s %s", request.method, request.path)
                return ApiResponse(500, {"error": f"sandbox: {type(exc).__name__}: {exc}"})
        api = self.api_for(request.path)
        try:
            if api is None:
                response = ApiResponse(404, {"error": f"not found: {request.path}"})
            else:
                response = api.handle(request)
        except Exception as exc:  # a sandbox bug must still answer in the provider's shape
            logger.exception("sandbox error on %s %s", request.method, request.path)
            message = f"sandbox internal error: {type(exc).__name__}: {exc}"
            response = api.internal_error(message)
        self.request_log.record(request, response.status)
        faults = self._faults
        slow = faults.number("slow_seconds")
        if slow:
            self.pause(slow)
        if faults.take("hang", kind=request.kind, provider=request.provider):
            self.hang()
        return response

    def pause(self, seconds: float) -> None:
        """Hold this request's thread for ``seconds``, or until the sandbox stops."""
        self._stopping.wait(seconds)

    def hang(self) -> None:
        """Hold this request's thread as the ``hang_seconds`` fault says."""
        hang = self._faults.number("hang_seconds")
        self.pause(MAX_HANG_SECONDS if hang is None else hang)
