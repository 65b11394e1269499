"""The sandbox's settings, listed once: each :class:`~.base.Option` (the common ones below,
and those every provider API declares) is a ``SandboxConfig`` field, a constructor and
``configure()`` option, a control-API option and a command-line flag."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from .apis import PROVIDER_APIS
from .base import Option, seconds

COMMON_OPTIONS = (
    Option("queue_seconds", 1.0, kind=float, check=seconds()),
    Option("generation_seconds", 4.0, kind=float, check=seconds()),
    Option("result_ttl_seconds", None, kind=float, check=seconds(nullable=True)),
    Option(
        "fetch_timeout_seconds", 10.0, "input image downloads", kind=float, check=seconds(0.001)
    ),
    Option("callback_timeout_seconds", 5.0, "each callback POST", kind=float, check=seconds(0.001)),
)
OPTIONS: tuple[Option, ...] = (*COMMON_OPTIONS, *(o for api in PROVIDER_APIS for o in api.options))


def _validated(self):
    """The config itself, once every value passed its option's checks; else ValueError."""
    for option in OPTIONS:
        value = getattr(self, option.name)
        if option.choices and value not in option.choices:
            raise ValueError(f"{option.name} must be one of {list(option.choices)}, got {value!r}")
        if option.check is not None:
            option.check(option.name, value)
    return self


SandboxConfig = dataclasses.make_dataclass(
    "SandboxConfig",
    [
        (option.name, Any, dataclasses.field(default=option.default, metadata={"option": option}))
        for option in OPTIONS
    ],
    frozen=True,
    namespace={
        "__doc__": "Settings that may change while the sandbox runs (``Sandbox.configure``).",
        "validated": _validated,
    },
)
SandboxConfig.__module__ = __name__


def config_from(options: dict[str, Any], base: SandboxConfig | None = None) -> SandboxConfig:
    """A validated config from ``options`` (over ``base``); ValueError names what is wrong."""
    names = {option.name for option in OPTIONS}
    unknown = set(options) - names
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}; known: {sorted(names)}")
    return dataclasses.replace(base or SandboxConfig(), **options).validated()


def provider_settings(
    url: str, *, trust_downloads: bool = False, config: Any = None, **options: Any
) -> dict[str, dict[str, Any]]:
    """``TRYON["PROVIDERS"]`` for every provider API a sandbox at ``url`` serves, with the
    keys it accepts (``config``: a running sandbox's ``config_snapshot()``; default: the
    documented sandbox keys) and ``options`` added to each provider's entry.

    ``trust_downloads`` lets the app download results from the sandbox's plain-http
    loopback address for these providers only (``ALLOW_HTTP_DOWNLOADS`` and
    ``ALLOW_PRIVATE_DOWNLOADS`` per provider): what a shop trying the sandbox needs.
    """
    config = config or SandboxConfig()
    trust = {"ALLOW_HTTP_DOWNLOADS": True, "ALLOW_PRIVATE_DOWNLOADS": True}
    return {
        api.name: {
            **api.app_settings(config),
            "BASE_URL": url.rstrip("/"),
            **(trust if trust_downloads else {}),
            **options,
        }
        for api in PROVIDER_APIS
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--flag`` per option, with its default, type, choices and help."""
    for option in OPTIONS:
        kwargs: dict[str, Any] = {"default": option.default, "type": option.kind}
        if option.choices:
            kwargs["choices"] = option.choices
        if option.help:
            kwargs["help"] = option.help
        parser.add_argument("--" + option.name.replace("_", "-"), **kwargs)


def from_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """The options ``add_arguments``' flags were given (defaults included)."""
    return {option.name: getattr(args, option.name) for option in OPTIONS}
