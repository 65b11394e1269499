"""Serve images at signed, expiring URLs: prepared inputs (PiAPI fetches inputs by URL)
and result images (the API's result URLs when the storage cannot sign its own)."""

from __future__ import annotations

import posixpath

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from . import links
from .conf import get_setting
from .models import tryon_storage

SERVABLE_PREFIXES = ("tryon/prepared/", "tryon/persons/")
RESULT_PREFIX = "tryon/results/"
CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}


@require_GET
def input_image(request, signed: str):
    """Stream one prepared input image; 404 when the signature is bad or expired."""
    name = links.storage_name_from_signed(signed)
    # Only what the app itself signs: prepared inputs and normalised person photos.
    if (
        not isinstance(name, str)
        or posixpath.normpath(name) != name
        or not name.startswith(SERVABLE_PREFIXES)
    ):
        raise Http404("unknown image")
    storage = tryon_storage()
    try:
        fh = storage.open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("unknown image") from None
    response = FileResponse(fh, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_GET
def result_image(request, signed: str):
    """Stream one result image; 404 when the signature is bad or expired."""
    result = links.result_from_signed(signed)
    name = result.image.name if result is not None else ""
    if not name or posixpath.normpath(name) != name or not name.startswith(RESULT_PREFIX):
        raise Http404("unknown image")
    try:
        fh = tryon_storage().open(name, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("unknown image") from None
    content_type = CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
    response = FileResponse(fh, content_type=content_type)
    # The URL itself expires; a browser may keep the bytes for as long.
    response["Cache-Control"] = f"private, max-age={int(get_setting('RESULT_URL_MAX_AGE_SECONDS'))}"
    response["X-Robots-Tag"] = "noindex"
    return response
