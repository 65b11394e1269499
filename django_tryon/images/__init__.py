"""Images: opening and checking them, preparing them for a provider, composing outfits,
and cutting a photo's metadata out without decoding it.

Two costs, two entry points for checks: ``inspect_image`` is the cheap upload-path
check (header only, never decodes pixels); ``verify_image`` adds a full decode, which
catches truncated or damaged files. ``prepare_for_provider`` makes any accepted image
provider-ready. Every function raises ``ImageError`` (a ``ValueError``) with a stable
``code`` and a ``message`` a shopper can act on; limits default to the ``TRYON``
settings, read at call time.

Note on threads: the decompression-bomb warning is turned into an error with
``warnings.catch_warnings``, which changes process-wide filters and is not thread-safe.
The app's own pixel cap is therefore also clamped to Pillow's ``Image.MAX_IMAGE_PIXELS``
and checked right after open, so a bomb is refused even if another thread's
``catch_warnings`` block briefly restores the default filters.
"""

from __future__ import annotations

from .formats import ALLOWED_UPLOAD_FORMATS
from .isolated import prepare_isolated, thumbnail_isolated
from .metadata import without_metadata
from .opening import (
    ImageError,
    ImageInfo,
    check_complete,
    check_sendable,
    inspect_image,
    verify_image,
)
from .outfits import compose_outfit
from .preparing import PreparedImage, prepare_for_provider, strip_and_reencode, thumbnail_bytes

__all__ = [
    "ALLOWED_UPLOAD_FORMATS",
    "ImageError",
    "ImageInfo",
    "PreparedImage",
    "check_complete",
    "check_sendable",
    "compose_outfit",
    "inspect_image",
    "prepare_for_provider",
    "prepare_isolated",
    "strip_and_reencode",
    "thumbnail_bytes",
    "thumbnail_isolated",
    "verify_image",
    "without_metadata",
]
