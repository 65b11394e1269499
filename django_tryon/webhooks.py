"""Standard Webhooks signatures (https://www.standardwebhooks.com/): sign and verify.

Pure functions, no Django (the sandbox signs its callbacks with them too, and imports no
Django): Kling signs callbacks this way when a signing secret is set.
The signed content is ``"{webhook-id}.{webhook-timestamp}.{raw body}"``, the key is the
base64-decoded secret after its ``whsec_`` prefix, and ``webhook-signature`` holds one or
more space-separated ``v1,<base64 HMAC-SHA256>`` entries (several during key rotation).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format marker, not a secret
SIGNATURE_VERSION = "v1"


def decode_secret(secret: str) -> bytes:
    """Return the HMAC key of a ``whsec_...`` secret; raise ValueError when it is not base64."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64 after the 'whsec_' prefix") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """Return the ``v1,<base64>`` signature of one message."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(decode_secret(secret), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(
    secret: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    tolerance_seconds: float = 300,
    now: float | None = None,
) -> bool:
    """Return True when the headers carry a valid, fresh signature of ``body``.

    The timestamp window stops replays of an old, validly signed callback.
    """
    msg_id = get_header(headers, "webhook-id")
    timestamp = get_header(headers, "webhook-timestamp")
    signatures = get_header(headers, "webhook-signature")
    if not (msg_id and timestamp and signatures):
        return False
    try:
        sent_at = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance_seconds:
        return False
    try:
        expected = sign(secret, msg_id, sent_at, body).encode("ascii")
    except ValueError:
        return False
    # Any one matching entry is enough: during rotation the sender signs with old and new keys.
    # Other versions (v1a is asymmetric) are skipped, not failed.
    return any(
        hmac.compare_digest(candidate.encode("utf-8"), expected)
        for candidate in signatures.split()
        if candidate.startswith(f"{SIGNATURE_VERSION},")
    )


def get_header(headers: Mapping[str, str], name: str) -> str:
    """Return a header value whatever its case (a plain dict is not case-insensitive)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return (value or "").strip()
