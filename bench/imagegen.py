"""Benchmark images, drawn on the fly with Pillow (deterministic, nothing downloaded).

The pixels come from the tests' own image helpers (kit/imagegen.py); these are the
shapes the benchmarks need on top: a phone photo with camera metadata, a person, a garment.
"""

from __future__ import annotations

from PIL import ImageDraw

from kit.imagegen import encode, make_garment, make_jpeg, textured_image


def phone_photo(width: int, height: int, *, seed: int = 1, quality: int = 90) -> bytes:
    """A camera-like JPEG: textured pixels with EXIF (camera make, orientation 1, GPS)."""
    return make_jpeg(
        width, height, textured=True, seed=seed, quality=quality, exif_orientation=1, with_gps=True
    )


def person(width: int, height: int, *, seed: int = 1, grain: float = 0.12) -> bytes:
    """A JPEG person photo (textured backdrop, a simple figure), no metadata."""
    im = textured_image(width, height, seed=seed, grain=grain)
    d = ImageDraw.Draw(im)
    cx, u = width // 2, height / 16
    d.ellipse((cx - u, 1 * u, cx + u, 3 * u), fill=(224, 172, 140))
    d.rectangle((cx - 1.8 * u, 3.6 * u, cx + 1.8 * u, 8.2 * u), fill=(60, 90, 160))
    d.rectangle((cx - 1.6 * u, 8.2 * u, cx + 1.6 * u, 14.5 * u), fill=(50, 50, 60))
    return encode(im, "JPEG", quality=90)


def garment(size: int = 600) -> bytes:
    """A flat T-shirt shape on white, PNG (what a shop's product cut-out looks like)."""
    return make_garment("upper", size)
