"""Kling's wire format: its status words and messages, the ``{code, message, request_id,
data}`` envelope, the HTTP status of each documented code, paging, and the HS256 JWT.

The JWT is checked by hand so every failure maps to its documented code: 1002 for a
malformed or wrongly signed token, 1003 before ``nbf``, 1004 after ``exp``; a general JWT
library would fold these into one error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from .tasks import FAILED, PROCESSING, QUEUED, SUCCEEDED
from .web import ApiResponse, encode_json

# -- the words of its answers -----------------------------------------------------------

STATUS_WORDS = {
    QUEUED: "submitted",
    PROCESSING: "processing",
    SUCCEEDED: "succeed",
    FAILED: "failed",
}
# The newer callback shape says "succeeded", as Kling's newer APIs do.
NEW_STATUS_WORDS = {**STATUS_WORDS, SUCCEEDED: "succeeded"}

CONTENT_REFUSED_MESSAGE = (
    "Failure to pass the risk control system: the input was blocked by content risk control"
)
TASK_FAILED_MESSAGE = "Image generation failed, please try again later"
NOT_FOUND_MESSAGE = "task not found"


#: HTTP status of every documented business code.
HTTP_STATUS = {
    0: 200,
    1000: 401,
    1001: 401,
    1002: 401,
    1003: 401,
    1004: 401,
    1100: 429,
    1101: 429,
    1102: 429,
    1103: 403,
    1200: 400,
    1201: 400,
    1202: 404,
    1203: 404,
    1300: 400,
    1301: 400,
    1302: 429,
    1303: 429,
    1304: 429,
    5000: 500,
    5001: 503,
    5002: 504,
}


def ok(data: Any) -> ApiResponse:
    return ApiResponse(
        200, {"code": 0, "message": "SUCCEED", "request_id": _request_id(), "data": data}
    )


def error(code: int, message: str, *, http: int | None = None) -> ApiResponse:
    """A Kling error envelope; ``data`` is null."""
    status = http or HTTP_STATUS.get(code, 400)
    return ApiResponse(
        status, {"code": code, "message": message, "request_id": _request_id(), "data": None}
    )


def _request_id() -> str:
    return str(uuid.uuid4())


# -- the JWT ---------------------------------------------------------------------------------


class TokenError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def encode_jwt(access_key: str, secret_key: str, *, ttl: int = 1800, **claims: Any) -> str:
    """Mint a token the way Kling's docs do: iss, exp = now + ttl, nbf = now - 5."""
    now = int(time.time())
    payload = {"iss": access_key, "exp": now + ttl, "nbf": now - 5, **claims}
    header = {"alg": "HS256", "typ": "JWT"}
    signing_input = f"{_b64url(encode_json(header))}.{_b64url(encode_json(payload))}"
    signature = hmac.new(secret_key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64url(signature)}"


def verify_jwt(token: str, secret_key: str, access_key: str, now: float) -> dict[str, Any]:
    """Check signature, alg, iss, exp and nbf; raise TokenError with Kling's code."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError(1002, "Authorization is invalid: malformed token")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        payload = json.loads(_b64url_decode(parts[1]))
        signature = _b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise TokenError(1002, "Authorization is invalid: malformed token") from None
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise TokenError(1002, "Authorization is invalid: malformed token")
    if header.get("alg") != "HS256":
        raise TokenError(1002, "Authorization is invalid: the token must be signed with HS256")
    expected = hmac.new(
        secret_key.encode(), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
    ).digest()
    if not hmac.compare_digest(signature, expected):
        raise TokenError(1002, "Authorization is invalid: signature verification failed")
    issuer = payload.get("iss")
    if not isinstance(issuer, str) or not hmac.compare_digest(issuer.encode(), access_key.encode()):
        raise TokenError(1002, "Authorization is invalid: unknown access key (iss)")
    exp = payload.get("exp")
    if not _is_number(exp):
        raise TokenError(1002, "Authorization is invalid: the token has no valid exp")
    nbf = payload.get("nbf")
    if nbf is not None and not _is_number(nbf):
        raise TokenError(1002, "Authorization is invalid: nbf must be a number")
    if exp <= now:
        raise TokenError(1004, "Authorization token has expired")
    if nbf is not None and nbf > now:
        raise TokenError(1003, "Authorization token is not yet valid (nbf)")
    return payload


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    if not text or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def page_param(query: dict[str, str], name: str, default: int, maximum: int) -> int | str:
    """The integer value, or a string saying what is wrong with it."""
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit():
        return f"must be an integer between 1 and {maximum}"
    value = int(raw)
    if not 1 <= value <= maximum:
        return f"must be between 1 and {maximum}"
    return value


def duplicate_message(external_task_id: str) -> str:
    return f"external_task_id '{external_task_id}' is duplicated: it must be unique per account"


def ms(seconds: float) -> int:
    return int(seconds * 1000)
