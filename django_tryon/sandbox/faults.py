"""Fault switches: named misbehaviours the sandbox applies on purpose, optionally counted.

A counted switch is armed with a value:

* ``True``: every matching event until the switch is cleared;
* an ``int`` N >= 1: the next N matching events, then the switch disarms itself;
* ``0``, ``False`` or ``None``: off;
* a ``dict`` with any of ``count`` (int, or null for unlimited: the default), ``on``
  (which request kind it hits: create, query, list, cancel, any), ``provider`` (a
  provider's name, or any), ``message``, ``http`` and ``code`` (for the custom-error switches).

Numeric settings (``slow_seconds`` and friends) take a number >= 0; 0 or None turns them off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

from .apis import PROVIDER_APIS
from .host import Switch

REQUEST_KINDS = (*dict.fromkeys(k for api in PROVIDER_APIS for k in api.request_kinds()), "any")
PROVIDER_NAMES = (*(api.name for api in PROVIDER_APIS), "any")

#: The most a hanging request sleeps, so a forgotten switch cannot wedge a test run.
MAX_HANG_SECONDS = 30.0


@dataclass(frozen=True)
class FaultSpec:
    """What one fault switch means and what it may be aimed at."""

    name: str
    group: str  # "request", "task", "result", "callback" or "number"
    provider: str  # the provider it belongs to, or "any"
    default_on: str  # default request kind (request faults only)
    allowed_on: tuple[str, ...]
    description: str
    needs: str | None = None  # a key the switch's object must have ("code", "http")


# Faults of any provider; each provider API declares its own (``ProviderApi.faults``).
_COMMON = (
    FaultSpec(
        "result_error",
        "result",
        "any",
        "any",
        (),
        "The next result image downloads answer HTTP 503 (the task itself is fine).",
    ),
    FaultSpec(
        "result_stall",
        "result",
        "any",
        "any",
        (),
        "The next result image downloads stall for hang_seconds before answering.",
    ),
    FaultSpec(
        "hang",
        "request",
        "any",
        "any",
        REQUEST_KINDS,
        "The request is processed (a create creates its task), then the answer is held "
        "back for hang_seconds (default 30, at most 30) so the client times out.",
    ),
    FaultSpec(
        "content_refused",
        "task",
        "any",
        "any",
        (),
        "The next tasks end failed for content moderation (Kling task_status_msg about "
        "risk control; PiAPI error about content policy).",
    ),
    FaultSpec(
        "task_fail",
        "task",
        "any",
        "any",
        (),
        "The next tasks end failed with a generic reason (dict message overrides it).",
    ),
    FaultSpec(
        "callbacks_drop",
        "callback",
        "any",
        "any",
        (),
        "The next callbacks are not sent (listed in callbacks_dropped instead).",
    ),
    FaultSpec(
        "callbacks_duplicate",
        "callback",
        "any",
        "any",
        (),
        "The next callbacks are each sent twice, with the same webhook-id.",
    ),
    FaultSpec(
        "callbacks_reorder",
        "callback",
        "any",
        "any",
        (),
        "The next tasks hold their callbacks until the task ends, then send them newest first.",
    ),
    FaultSpec(
        "slow_seconds",
        "number",
        "any",
        "any",
        (),
        "Every provider answer is delayed this many seconds.",
    ),
    FaultSpec(
        "hang_seconds",
        "number",
        "any",
        "any",
        (),
        f"How long a hanging request sleeps (default and maximum {MAX_HANG_SECONDS:g}).",
    ),
    FaultSpec(
        "callbacks_delay_seconds",
        "number",
        "any",
        "any",
        (),
        "Every callback is sent this many seconds after its status change.",
    ),
    FaultSpec(
        "result_ttl_seconds",
        "number",
        "any",
        "any",
        (),
        "Result images answer 404 this many seconds after their task ended "
        "(overrides the constructor option while set).",
    ),
)


def _provider_specs():
    for api in PROVIDER_APIS:
        for fault in api.faults:
            kinds = fault.kinds or (*api.request_kinds(), "any")
            yield FaultSpec(
                fault.name, "request", api.name, fault.on, kinds, fault.description, fault.needs
            )


SPECS: dict[str, FaultSpec] = {spec.name: spec for spec in (*_provider_specs(), *_COMMON)}
FAULT_NAMES: tuple[str, ...] = tuple(SPECS)

_SWITCH_KEYS = {"count", "on", "provider", "message", "http", "code"}


class Faults:
    """The armed fault switches of one sandbox; every method is thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._switches: dict[str, Switch] = {}
        self._numbers: dict[str, float] = {}

    def set(self, **values: Any) -> None:
        """Arm, re-arm or disarm switches; all values are checked before any is applied."""
        parsed = {name: parse_fault(name, value) for name, value in values.items()}
        with self._lock:
            for name, value in parsed.items():
                self._switches.pop(name, None)
                self._numbers.pop(name, None)
                if isinstance(value, Switch):
                    self._switches[name] = value
                elif value is not None:
                    self._numbers[name] = value

    def clear(self) -> None:
        with self._lock:
            self._switches.clear()
            self._numbers.clear()

    def take(self, name: str, *, kind: str | None = None, provider: str | None = None):
        """Fire switch ``name`` if it is armed for this event; return it, or None."""
        with self._lock:
            switch = self._switches.get(name)
            if switch is None:
                return None
            if SPECS[name].group == "request" and switch.on not in ("any", kind):
                return None
            if switch.provider != "any" and switch.provider != provider:
                return None
            if switch.remaining is not None:
                if switch.remaining <= 1:
                    del self._switches[name]
                else:
                    self._switches[name] = replace(switch, remaining=switch.remaining - 1)
            return switch

    def number(self, name: str) -> float | None:
        with self._lock:
            return self._numbers.get(name)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = {n: _shown(s) for n, s in self._switches.items()}
            out.update(self._numbers)
            return out


def _shown(switch: Switch) -> dict[str, Any]:
    """A switch as the control API shows it: its count, and its aim where it has one."""
    out: dict[str, Any] = {"count": switch.remaining}
    spec = SPECS[switch.name]
    if spec.group == "request":
        out["on"] = switch.on
    if spec.provider == "any" and switch.provider != "any":
        out["provider"] = switch.provider
    for key in ("message", "http", "code"):
        value = getattr(switch, key)
        if value is not None:
            out[key] = value
    return out


def parse_fault(name: str, value: Any) -> Switch | float | None:
    """Check one fault value; return a Switch, a number, or None for "off"."""
    spec = SPECS.get(name)
    if spec is None:
        raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(FAULT_NAMES)}")
    if spec.group == "number":
        return _parse_number(name, value)
    if value is None or value is False or (type(value) is int and value == 0):
        return None
    base = Switch(name=name, remaining=None, on=spec.default_on)
    if value is True:
        switch = base
    elif type(value) is int:
        if value < 0:
            raise ValueError(f"fault {name}: a count must be >= 0, got {value}")
        switch = replace(base, remaining=value)
    elif isinstance(value, dict):
        switch = _parse_dict(spec, base, value)
        if switch is None:
            return None
    else:
        raise ValueError(
            f"fault {name}: expected true, a count, or an object, got {type(value).__name__}"
        )
    if spec.needs == "code" and switch.code is None:
        raise ValueError(f"fault {name} needs an object with a 'code', e.g. {{'code': 1102}}")
    if spec.needs == "http" and switch.http is None:
        raise ValueError(f"fault {name} needs an object with an 'http' status")
    return switch


def _parse_dict(spec: FaultSpec, base: Switch, value: dict) -> Switch | None:
    unknown = set(value) - _SWITCH_KEYS
    if unknown:
        raise ValueError(f"fault {spec.name}: unknown keys {sorted(unknown)}")
    count = value.get("count")
    if count is not None:
        if type(count) is not int or count < 0:
            raise ValueError(f"fault {spec.name}: count must be an integer >= 0 or null")
        if count == 0:
            return None
    on = value.get("on", spec.default_on)
    if spec.group == "request":
        if on not in spec.allowed_on:
            raise ValueError(f"fault {spec.name}: 'on' must be one of {list(spec.allowed_on)}")
    elif "on" in value:
        raise ValueError(f"fault {spec.name} applies to tasks or callbacks; it takes no 'on'")
    provider = value.get("provider", "any")
    if provider not in PROVIDER_NAMES:
        raise ValueError(f"fault {spec.name}: provider must be one of {list(PROVIDER_NAMES)}")
    if spec.provider != "any" and provider not in ("any", spec.provider):
        raise ValueError(f"fault {spec.name} belongs to {spec.provider}")
    message = value.get("message")
    if message is not None and not isinstance(message, str):
        raise ValueError(f"fault {spec.name}: message must be a string")
    http = value.get("http")
    if http is not None and (type(http) is not int or not 400 <= http <= 599):
        raise ValueError(f"fault {spec.name}: http must be an error status 400-599")
    code = value.get("code")
    if code is not None and type(code) is not int:
        raise ValueError(f"fault {spec.name}: code must be an integer")
    return replace(
        base, remaining=count, on=on, provider=provider, message=message, http=http, code=code
    )


def _parse_number(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"fault {name}: expected a number of seconds, got {value!r}")
    if value < 0:
        raise ValueError(f"fault {name}: seconds must be >= 0")
    if name == "hang_seconds":
        return min(float(value), MAX_HANG_SECONDS)
    if value == 0 and name != "result_ttl_seconds":
        return None
    return float(value)
