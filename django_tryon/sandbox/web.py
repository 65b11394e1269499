"""Plain request, response and record objects shared by the provider modules."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

_UNSET: Any = object()


@dataclass
class ApiRequest:
    """One incoming HTTP request; header names are lower-cased."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received: float
    provider: str | None = None
    kind: str | None = None  # create, query, list or cancel, once routed
    _json: Any = field(default=_UNSET, repr=False)

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or None when it is empty or not JSON."""
        if self._json is _UNSET:
            try:
                self._json = json.loads(self.body) if self.body else None
            except (ValueError, UnicodeDecodeError):
                self._json = None
        return self._json


@dataclass
class ApiResponse:
    """What to answer: a JSON ``payload``, or raw ``body`` bytes with their content type."""

    status: int
    payload: Any = None
    body: bytes | None = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        if self.body is not None:
            return self.body
        return json.dumps(self.payload, ensure_ascii=False).encode()


@dataclass(frozen=True)
class RecordedRequest:
    """A provider request as the sandbox saw it, with the status it answered."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    body: bytes
    time: float
    status: int
    provider: str | None = None
    kind: str | None = None

    def as_dict(self, body_limit: int = 65536) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "json": self.json,
            "body": self.body[:body_limit].decode("utf-8", "replace"),
            "body_size": len(self.body),
            "time": self.time,
            "status": self.status,
            "provider": self.provider,
            "kind": self.kind,
        }


Entry = TypeVar("Entry")

#: What a record keeps of its request under the request's own names.
_AS_RECEIVED = ("method", "path", "query", "headers", "json", "body", "provider", "kind")


class Log(Generic[Entry]):
    """Entries in the order they came, oldest first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []

    def append(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)

    def all(self) -> list[Entry]:
        """A copy of every entry."""
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class RequestLog(Log[RecordedRequest]):
    """Every provider request the sandbox answered, with the status it answered."""

    def record(self, request: ApiRequest, status: int) -> None:
        seen = {name: getattr(request, name) for name in _AS_RECEIVED}
        self.append(RecordedRequest(**seen, time=request.received, status=status))


def encode_json(value: Any) -> bytes:
    """Compact JSON bytes, the form callbacks are signed and sent in."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
