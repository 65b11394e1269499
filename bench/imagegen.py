"""Benchmark images, drawn on the fly with Pillow (deterministic, nothing downloaded)."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

_MAKE, _MODEL, _ORIENTATION, _GPS_IFD = 0x010F, 0x0110, 0x0112, 0x8825


def textured(width: int, height: int, *, seed: int = 1, grain: float = 0.12) -> Image.Image:
    """A photo-like RGB image: smooth colour blobs plus fine grain (realistic JPEG size)."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
    base = small.resize((width, height), Image.Resampling.BICUBIC)
    tile = Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
    noise = Image.new("RGB", (width, height))
    for y in range(0, height, 256):
        for x in range(0, width, 256):
            noise.paste(tile, (x, y))
    return Image.blend(base, noise, grain)


def phone_photo(width: int, height: int, *, seed: int = 1, quality: int = 90) -> bytes:
    """A camera-like JPEG: textured pixels with EXIF (make, model, orientation 1, GPS)."""
    im = textured(width, height, seed=seed)
    exif = Image.Exif()
    exif[_MAKE] = "BenchCam"
    exif[_MODEL] = "BC-1"
    exif[_ORIENTATION] = 1
    exif[_GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    return encode(im, "JPEG", quality=quality, exif=exif.tobytes())


def person(width: int, height: int, *, seed: int = 1, grain: float = 0.12) -> bytes:
    """A JPEG person photo (textured backdrop, a simple figure), no metadata."""
    im = textured(width, height, seed=seed, grain=grain)
    d = ImageDraw.Draw(im)
    cx, u = width // 2, height / 16
    d.ellipse((cx - u, 1 * u, cx + u, 3 * u), fill=(224, 172, 140))
    d.rectangle((cx - 1.8 * u, 3.6 * u, cx + 1.8 * u, 8.2 * u), fill=(60, 90, 160))
    d.rectangle((cx - 1.6 * u, 8.2 * u, cx + 1.6 * u, 14.5 * u), fill=(50, 50, 60))
    return encode(im, "JPEG", quality=90)


def garment(size: int = 600) -> bytes:
    """A flat T-shirt shape on white, PNG (what a shop's product cut-out looks like)."""
    im = Image.new("RGB", (size, size), (255, 255, 255))
    s = size / 100
    shape = [(30, 15), (42, 12), (58, 12), (70, 15), (90, 30), (80, 40), (72, 34), (72, 88)]
    shape += [(28, 88), (28, 34), (20, 40), (10, 30)]
    ImageDraw.Draw(im).polygon([(x * s, y * s) for x, y in shape], fill=(200, 40, 60))
    return encode(im, "PNG")


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()
