"""A local stand-in for Kling's and PiAPI's try-on APIs (like stripe-mock for Stripe).

Run it with ``python -m django_tryon.sandbox`` or in-process::

    with Sandbox(port=0, queue_seconds=0, generation_seconds=0) as sb:
        ...  # point the providers at sb.url

It imports neither Django nor any settings. See ``docs/sandbox.md``.
"""

from .callbacks import SentCallback, sign_webhook
from .faults import FAULT_NAMES
from .options import SandboxConfig, provider_settings
from .server import DEFAULT_HOST, DEFAULT_PORT, Sandbox
from .web import RecordedRequest

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "FAULT_NAMES",
    "RecordedRequest",
    "Sandbox",
    "SandboxConfig",
    "SentCallback",
    "provider_settings",
    "sign_webhook",
]
