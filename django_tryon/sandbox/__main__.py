"""Command line: ``python -m django_tryon.sandbox --port 8765``; runs until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from typing import Any

from .faults import FAULT_NAMES
from .options import add_arguments, from_arguments
from .server import DEFAULT_HOST, DEFAULT_PORT, Sandbox


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve, and return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        faults = dict(parse_fault_arg(text) for text in args.fault)
        sandbox = Sandbox(
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            faults=faults,
            **from_arguments(args),
        )
    except ValueError as exc:
        parser.error(str(exc))

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        sandbox.start()
    except OSError as exc:
        print(f"sandbox: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    config = sandbox.config_snapshot()
    keys = [api.describe_keys(config) for api in sandbox.apis.values()]
    print(" | ".join([f"django-tryon sandbox listening on {sandbox.url}", *keys]), flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        sandbox.stop()
    return 0


def parse_fault_arg(text: str) -> tuple[str, Any]:
    """``NAME`` (always), ``NAME=3`` (next 3), ``NAME=3@any``, ``NAME=2.5``, ``NAME={json}``."""
    name, sep, raw = text.partition("=")
    name = name.strip()
    if name not in FAULT_NAMES:
        raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(FAULT_NAMES)}")
    raw = raw.strip()
    if not sep:
        return name, True
    if raw.startswith("{"):
        try:
            return name, json.loads(raw)
        except ValueError:
            raise ValueError(f"fault {name}: invalid JSON {raw!r}") from None
    if "@" in raw:
        count, _, on = raw.partition("@")
        return name, {"count": int(count) if count else None, "on": on}
    lowered = raw.lower()
    if lowered in ("true", "on", "yes", "always"):
        return name, True
    if lowered in ("false", "off", "no", "0"):
        return name, 0
    try:
        return name, int(raw)
    except ValueError:
        pass
    try:
        return name, float(raw)
    except ValueError:
        raise ValueError(f"fault {name}: cannot read value {raw!r}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m django_tryon.sandbox",
        description="Local stand-in for the providers' try-on APIs (see docs/sandbox.md).",
    )
    add = parser.add_argument
    add("--host", default=DEFAULT_HOST, help="address to bind (default %(default)s)")
    add("--port", type=int, default=DEFAULT_PORT, help="port, 0 for any (default %(default)s)")
    add_arguments(parser)
    add("--public-url", default=None, help="base URL put in result links (default: bound URL)")
    add(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help=f"arm a fault switch; repeatable. Names: {', '.join(FAULT_NAMES)}",
    )
    add("--verbose", action="store_true", help="log every request to stderr")
    return parser


if __name__ == "__main__":
    sys.exit(main())
