"""Callback tokens and secrets, and the signed links the app hands out (inputs for the
provider, results for shoppers and staff)."""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.urls import reverse

from . import files
from .conf import get_setting
from .models import TryOnRequest, TryOnResult, tryon_storage
from .status import ACTIVE

INPUT_URL_SALT = "django_tryon.input-url"


RESULT_URL_SALT = "django_tryon.result-url"


CALLBACK_TOKEN_SALT = "django_tryon.callback-token"  # noqa: S105 (a salt, not a secret)


def callback_token(request: TryOnRequest) -> str:
    """The request's callback URL token: derived from SECRET_KEY, never stored.

    Once a token was handed out (its hash is stored), the same one is made again after a
    SECRET_KEY rotation, with the key in SECRET_KEY_FALLBACKS that made it: a provider
    may still hold that URL, and a re-sent task must carry one the callback view knows.
    """
    current = _callback_token(request, settings.SECRET_KEY)
    if request.callback_token_hash and hash_token(current) != request.callback_token_hash:
        for key in settings.SECRET_KEY_FALLBACKS:
            token = _callback_token(request, key)
            if hmac.compare_digest(hash_token(token), request.callback_token_hash):
                return token
    return current


def _callback_token(request: TryOnRequest, key: str) -> str:
    mac = hmac.new(
        key.encode(),
        f"{CALLBACK_TOKEN_SALT}:{request.pk}:{request.callback_salt}".encode(),
        hashlib.sha256,
    )
    return signing.b64_encode(mac.digest()).decode()


def callback_secret(request: TryOnRequest, *, key: str | None = None) -> str:
    """Per-request secret PiAPI echoes back in x-webhook-secret (from SECRET_KEY, or ``key``)."""
    mac = hmac.new(
        (key or settings.SECRET_KEY).encode(),
        f"django_tryon.webhook-secret:{request.pk}:{request.callback_salt}".encode(),
        hashlib.sha256,
    )
    return mac.hexdigest()


def callback_secrets(request: TryOnRequest) -> list[str]:
    """Every secret a genuine callback may carry: SECRET_KEY's, then each of
    SECRET_KEY_FALLBACKS' (a task created before the key was rotated still calls back)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [callback_secret(request, key=key) for key in keys]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def callback_url(request: TryOnRequest) -> str | None:
    base = get_setting("PUBLIC_BASE_URL")
    if not base:
        return None
    path = reverse(
        "django_tryon:callback",
        kwargs={"provider": request.provider, "token": callback_token(request)},
    )
    return base.rstrip("/") + path


def request_for_callback_token(token: str) -> TryOnRequest | None:
    """The request a callback token belongs to, or None (same answer for unknown and bad)."""
    digest = hash_token(token)
    request = TryOnRequest.objects.filter(callback_token_hash=digest).first()
    if request is None or not hmac.compare_digest(request.callback_token_hash, digest):
        return None
    return request


def signed_input_url(name: str, request_id) -> str:
    """An expiring, unguessable URL under PUBLIC_BASE_URL that serves one prepared input
    image to the provider, only while the try-on ``request_id`` is unfinished."""
    value = signing.dumps([name, str(request_id)], salt=INPUT_URL_SALT, compress=True)
    path = reverse("django_tryon:input-image", kwargs={"signed": value})
    return get_setting("PUBLIC_BASE_URL").rstrip("/") + path


def result_url(result: TryOnResult, http_request=None) -> str:
    """A short-lived URL a browser can load one result image from.

    Storages that sign their own URLs (S3 through django-storages: ``url(name, expire=)``,
    checked by ``files.storage_signs_urls``) hand out a presigned URL; any other storage
    (FileSystemStorage, or S3 set up to hand out permanent links) gets an expiring,
    signed URL of the app's own ``result-image`` view, which works whether or not the
    shop serves MEDIA_URL. Both stop working after ``RESULT_URL_MAX_AGE_SECONDS``. The
    app's URL names the result by its id, never by its storage name.
    """
    storage = tryon_storage()
    max_age = int(get_setting("RESULT_URL_MAX_AGE_SECONDS"))
    if files.storage_signs_urls(storage):
        return storage.url(result.image.name, expire=max_age)
    value = signing.dumps(str(result.pk), salt=RESULT_URL_SALT)
    path = reverse("django_tryon:result-image", kwargs={"signed": value})
    return http_request.build_absolute_uri(path) if http_request is not None else path


def result_from_signed(value: str) -> TryOnResult | None:
    """The result a signed result URL names, or None when bad, expired or gone."""
    try:
        pk = signing.loads(
            value, salt=RESULT_URL_SALT, max_age=get_setting("RESULT_URL_MAX_AGE_SECONDS")
        )
    except signing.BadSignature:
        return None
    try:
        return TryOnResult.objects.filter(pk=pk).first()
    except (ValueError, ValidationError):
        return None


def storage_name_from_signed(value: str) -> str | None:
    """The storage name inside a signed input URL, or None when bad, expired, or when the
    try-on it was made for has ended."""
    try:
        payload = signing.loads(
            value, salt=INPUT_URL_SALT, max_age=get_setting("INPUT_URL_MAX_AGE_SECONDS")
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, list):
        return None  # every URL names the try-on it was made for
    name, request_id = [*payload, "", ""][:2]
    try:
        unfinished = TryOnRequest.objects.filter(pk=request_id, status__in=ACTIVE).exists()
    except (ValueError, ValidationError):
        return None
    return name if unfinished else None
