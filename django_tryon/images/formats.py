"""Which image formats an upload may be in here, and naming the ones it may not.

JPEG, PNG and WebP everywhere; AVIF where Pillow has its AVIF plugin; HEIF/HEIC (an
iPhone's default) with the optional ``heic`` extra, pillow-heif.
"""

from __future__ import annotations

import functools

from PIL import features

#: What every shop accepts; ``upload_formats()`` adds AVIF (Pillow's own plugin) and
#: HEIF/HEIC (the optional ``heic`` extra, pillow-heif) when they can be read here.
ALLOWED_UPLOAD_FORMATS = ("JPEG", "PNG", "WEBP")


def upload_formats() -> tuple[str, ...]:
    """The formats an upload may be in on this installation."""
    extra = ("AVIF",) if _avif_readable() else ()
    return ALLOWED_UPLOAD_FORMATS + extra + (("HEIF",) if heif_readable() else ())


@functools.cache
def heif_readable() -> bool:
    """Whether iPhone HEIC photos can be read: pillow-heif installed (the ``heic`` extra),
    its opener registered with Pillow once."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


@functools.cache
def _avif_readable() -> bool:
    return bool(features.check("avif"))


def sniff_other_format(head: bytes) -> str | None:
    """Name a common image format that is not accepted, from its magic bytes.

    Cheaper and safer than a second ``Image.open`` across every Pillow plugin, and it
    also names formats Pillow cannot read at all (HEIC, AVIF without plugins)."""
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM" and len(head) >= 18 and head[14] in (12, 40, 52, 56, 64, 108, 124):
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"):
            return "HEIC"
        if brand in (b"avif", b"avis"):
            return "AVIF"
    if head[:2] == b"\xff\x0a" or head[:12] == b"\x00\x00\x00\x0cJXL \r\n\x87\n":
        return "JPEG XL"
    if head[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n":
        return "JPEG 2000"
    if head[:4] == b"8BPS":
        return "Photoshop"
    if head[:4] == b"%PDF":
        return "PDF"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    text = head.lstrip().lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in head.lower()):
        return "SVG"
    return None
