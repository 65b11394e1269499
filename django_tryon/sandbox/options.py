"""The sandbox's settings, listed once: ``SandboxConfig``'s fields (with their help and
choices) make the constructor's options, ``configure()``'s, the control API's and the
command line's flags."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .callbacks import webhook_key

DEFAULT_KLING_ACCESS_KEY = "sandbox-access-key"
DEFAULT_KLING_SECRET_KEY = "sandbox-secret-key-0123456789abcdef"  # noqa: S105 (a documented sandbox key)
DEFAULT_PIAPI_KEY = "sandbox-piapi-key"


def _option(default: Any, help: str = "", *, choices: tuple[str, ...] = (), kind: type = str):
    return field(default=default, metadata={"help": help, "choices": choices, "kind": kind})


@dataclass(frozen=True)
class SandboxConfig:
    """Settings that may change while the sandbox runs (``Sandbox.configure``)."""

    kling_access_key: str = _option(DEFAULT_KLING_ACCESS_KEY)
    kling_secret_key: str = _option(DEFAULT_KLING_SECRET_KEY)
    kling_api_key: str | None = _option(None, "also accept this plain API key as Bearer")
    piapi_key: str = _option(DEFAULT_PIAPI_KEY)
    kling_webhook_secret: str | None = _option(None, "whsec_... to sign Kling callbacks")
    kling_callback_shape: str = _option("legacy", choices=("legacy", "new"))
    kling_unknown_task: str = _option("failed", choices=("failed", "not_found"))
    queue_seconds: float = _option(1.0, kind=float)
    generation_seconds: float = _option(4.0, kind=float)
    slots: int = _option(5, "Kling concurrency slots of the account", kind=int)
    piapi_status_case: str = _option("lower", choices=("lower", "title"))
    piapi_staged_seconds: float = _option(0.0, kind=float)
    result_ttl_seconds: float | None = _option(None, kind=float)
    fetch_timeout_seconds: float = _option(10.0, "input image downloads", kind=float)
    callback_timeout_seconds: float = _option(5.0, "each callback POST", kind=float)

    def validated(self) -> SandboxConfig:
        for name in ("kling_access_key", "kling_secret_key", "piapi_key"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        if self.kling_api_key is not None and (
            not isinstance(self.kling_api_key, str) or not self.kling_api_key
        ):
            raise ValueError("kling_api_key must be a non-empty string or None")
        if self.kling_webhook_secret is not None:
            webhook_key(self.kling_webhook_secret)
        for option in dataclasses.fields(self):
            allowed = option.metadata["choices"]
            value = getattr(self, option.name)
            if allowed and value not in allowed:
                raise ValueError(f"{option.name} must be one of {list(allowed)}, got {value!r}")
        for name in ("queue_seconds", "generation_seconds", "piapi_staged_seconds"):
            _seconds(name, getattr(self, name), minimum=0.0)
        for name in ("fetch_timeout_seconds", "callback_timeout_seconds"):
            _seconds(name, getattr(self, name), minimum=0.001)
        if self.result_ttl_seconds is not None:
            _seconds("result_ttl_seconds", self.result_ttl_seconds, minimum=0.0)
        if type(self.slots) is not int or self.slots < 1:
            raise ValueError("slots must be an integer >= 1")
        return self


def config_from(options: dict[str, Any], base: SandboxConfig | None = None) -> SandboxConfig:
    """A validated config from ``options`` (over ``base``); ValueError names what is wrong."""
    names = {f.name for f in dataclasses.fields(SandboxConfig)}
    unknown = set(options) - names
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; known: {sorted(names)}")
    return dataclasses.replace(base or SandboxConfig(), **options).validated()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per option, with its default, type, choices and help."""
    for option in dataclasses.fields(SandboxConfig):
        meta = option.metadata
        kwargs: dict[str, Any] = {"default": option.default, "type": meta["kind"]}
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        if meta["help"]:
            kwargs["help"] = meta["help"]
        parser.add_argument("--" + option.name.replace("_", "-"), **kwargs)


def from_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options ``add_arguments``' flags were given (defaults included)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(SandboxConfig)}


def _seconds(name: str, value: Any, *, minimum: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ValueError(f"{name} must be a number >= {minimum:g}, got {value!r}")
