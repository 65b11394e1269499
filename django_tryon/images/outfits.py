"""Composing an outfit (a top and a bottom) into one image, for providers that take one
garment image."""

from __future__ import annotations

from typing import Any

from PIL import Image, ImageChops

from .opening import input_cap, setting_or_default
from .preparing import WHITE, PreparedImage, encode_within, load_rgb


def _trim_white(im: Image.Image, tolerance: int = 24) -> Image.Image:
    """Crop away near-white margins around the garment (keeps the image if all white)."""
    diff = ImageChops.difference(im, Image.new("RGB", im.size, WHITE)).convert("L")
    bbox = diff.point(lambda v: 255 if v > tolerance else 0).getbbox()
    if not bbox or bbox == (0, 0, im.width, im.height):
        return im
    return im.crop(bbox)


def compose_outfit(
    upper: Any,
    lower: Any,
    *,
    max_side: int | None = None,
    max_bytes: int | None = None,
    min_side: int | None = None,
    max_pixels: int | None = None,
) -> PreparedImage:
    """One white-background JPEG with the upper garment above the lower one.

    Both garments are trimmed of white margins, scaled to a common width, stacked with a
    margin and centred. The long side is at most ``max_side``; the canvas is padded with
    white to at least ``min_side`` pixels a side. (Kling v1-5 reads such an image as an
    outfit; PROVIDERS.md, "Outfits".)
    """
    max_side = setting_or_default(max_side, "MAX_PROVIDER_SIDE")
    min_side = setting_or_default(min_side, "MIN_IMAGE_SIDE")
    max_pixels = setting_or_default(max_pixels, "MAX_IMAGE_PIXELS")
    garments = [
        _trim_white(
            load_rgb(
                source,
                box=(max_side, max_side),
                max_input_bytes=input_cap(None),
                min_side=min_side,
                max_pixels=max_pixels,
            )
        )
        for source in (upper, lower)
    ]
    # Layout at a common width (the narrower garment's, so nothing is upscaled)...
    width = min(g.width for g in garments)
    heights = [g.height * width / g.width for g in garments]
    margin = width * 0.06
    canvas_w = width + 2 * margin
    canvas_h = sum(heights) + 3 * margin
    # ...then scaled once so the long side fits.
    scale = min(1.0, max_side / max(canvas_w, canvas_h))
    gw = max(1, round(width * scale))
    ghs = [max(1, round(h * scale)) for h in heights]
    m = round(margin * scale)
    out_w = max(min(max_side, gw + 2 * m), min_side)
    out_h = max(min(max_side, sum(ghs) + 3 * m), min_side)
    canvas = Image.new("RGB", (out_w, out_h), WHITE)
    top = (out_h - (sum(ghs) + m)) // 2
    left = (out_w - gw) // 2
    for garment, gh in zip(garments, ghs, strict=True):
        canvas.paste(garment.resize((gw, gh), Image.Resampling.LANCZOS), (left, top))
        top += gh + m
    return encode_within(
        canvas, max_bytes=setting_or_default(max_bytes, "MAX_PROVIDER_BYTES"), min_side=min_side
    )
