"""Serve prepared input images at signed, expiring URLs (PiAPI fetches inputs by URL)."""

from __future__ import annotations

import posixpath

from django.http import FileResponse, Http404
from django.views.decorators.http import require_GET

from . import services
from .models import tryon_storage

SERVABLE_PREFIXES = ("tryon/prepared/", "tryon/persons/")


@require_GET
def input_image(request, signed: str):
    """Stream one prepared input image; 404 when the signature is bad or expired."""
    name = services.storage_name_from_signed(signed)
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
