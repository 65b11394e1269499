"""Outgoing callbacks: Standard Webhooks signing and a background sender."""

from __future__ import annotations

import heapq
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .. import webhooks
from .web import Log

USER_AGENT = "django-tryon-sandbox/1"


#: The HMAC key of a Standard Webhooks secret (ValueError when it is not one).
webhook_key = webhooks.decode_secret


def sign_webhook(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """Return the Standard Webhooks signature ``v1,<base64 HMAC-SHA256>`` of one message:
    the app's own signing (``django_tryon.webhooks``), so both sides agree by construction."""
    return webhooks.sign(
        secret, msg_id, timestamp, body.encode() if isinstance(body, str) else body
    )


@dataclass
class CallbackMessage:
    """One callback to deliver; ``message_id`` is kept by duplicates (like a retry)."""

    provider: str
    task_id: str
    task_status: str
    url: str
    body: bytes
    headers: dict[str, str]
    signing_secret: str | None = None
    message_id: str = field(default_factory=lambda: str(secrets.randbelow(9 * 10**18) + 10**18))


@dataclass(frozen=True)
class SentCallback:
    """A callback the sandbox POSTed (or tried to): ``status`` or ``error`` says how it went."""

    provider: str
    task_id: str
    task_status: str
    url: str
    headers: dict[str, str]
    body: bytes
    time: float
    status: int | None = None
    error: str | None = None

    @classmethod
    def of(
        cls,
        message: CallbackMessage,
        headers: dict[str, str],
        *,
        status: int | None = None,
        error: str | None = None,
    ) -> SentCallback:
        """What became of ``message``, sent now with ``headers`` (or not sent: ``error``)."""
        return cls(
            provider=message.provider,
            task_id=message.task_id,
            task_status=message.task_status,
            url=message.url,
            headers=headers,
            body=message.body,
            time=time.time(),
            status=status,
            error=error,
        )

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def as_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "task_id": self.task_id,
            "task_status": self.task_status,
            "url": self.url,
            "headers": self.headers,
            "json": self.json,
            "time": self.time,
            "status": self.status,
            "error": self.error,
        }


class CallbackLog:
    """The callbacks sent (or tried) and those a fault dropped, oldest first; thread-safe."""

    def __init__(self) -> None:
        self.sent: Log[SentCallback] = Log()
        self.dropped: Log[SentCallback] = Log()

    def record(self, sent: SentCallback) -> None:
        self.sent.append(sent)

    def drop(self, message: CallbackMessage, reason: str) -> None:
        """Keep ``message`` as not sent, saying why."""
        self.dropped.append(SentCallback.of(message, dict(message.headers), error=reason))

    def clear(self) -> None:
        self.sent.clear()
        self.dropped.clear()


class CallbackDispatcher:
    """Send queued callbacks one at a time, in order of due time, from a daemon thread."""

    def __init__(
        self,
        on_result: Callable[[SentCallback], None],
        timeout: Callable[[], float],
    ) -> None:
        self._on_result = on_result
        self._timeout = timeout
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, CallbackMessage]] = []
        self._seq = itertools.count()
        self._stopping = False
        self._sending = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="tryon-sandbox-callbacks", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._heap.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self._timeout() + 2)
            self._thread = None

    def enqueue(self, message: CallbackMessage, delay: float = 0.0) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._seq), message))
            self._cond.notify_all()

    def clear(self) -> None:
        with self._cond:
            self._heap.clear()

    def pending(self) -> int:
        """Callbacks queued or being sent right now."""
        with self._cond:
            return len(self._heap) + self._sending

    def _run(self) -> None:
        with httpx.Client(follow_redirects=False, trust_env=False) as client:
            while True:
                with self._cond:
                    message = self._next_due()
                    if message is None:
                        return
                    self._sending += 1
                try:
                    self._on_result(self._send(client, message))
                finally:
                    with self._cond:
                        self._sending -= 1
                        self._cond.notify_all()

    def _next_due(self) -> CallbackMessage | None:
        while not self._stopping:
            if self._heap:
                wait = self._heap[0][0] - time.monotonic()
                if wait <= 0:
                    return heapq.heappop(self._heap)[2]
                self._cond.wait(timeout=wait)
            else:
                self._cond.wait(timeout=1.0)
        return None

    def _send(self, client: httpx.Client, message: CallbackMessage) -> SentCallback:
        headers = {"content-type": "application/json", "user-agent": USER_AGENT}
        headers.update(message.headers)
        if message.signing_secret:
            timestamp = int(time.time())
            headers["webhook-id"] = message.message_id
            headers["webhook-timestamp"] = str(timestamp)
            headers["webhook-signature"] = sign_webhook(
                message.signing_secret, message.message_id, timestamp, message.body
            )
        status = error = None
        try:
            response = client.post(
                message.url, content=message.body, headers=headers, timeout=self._timeout()
            )
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        return SentCallback.of(message, headers, status=status, error=error)
