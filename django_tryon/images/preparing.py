"""Turning an accepted image into what a provider takes: a JPEG (alpha flattened onto
white), EXIF orientation applied, long side at most ``MAX_PROVIDER_SIDE``, at most
``MAX_PROVIDER_BYTES``, re-encoded from pixels so no EXIF, GPS, XMP, ICC profile or
comment survives. JPEGs are DCT-scaled while decoding (``Image.draft``), so a
24-megapixel photo is never held at full size in memory."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageCms

from .opening import (
    TRANSPOSE,
    ImageError,
    decode,
    fit_within,
    input_cap,
    megabytes,
    opened,
    orientation_of,
    setting_or_default,
    shape_error,
)

# What the providers get.
_PROVIDER_CONTENT_TYPE = "image/jpeg"


_JPEG_QUALITY = 90


# Lower qualities tried, in order, when an encoded image exceeds the byte cap.
_FALLBACK_QUALITIES = (85, 80, 75, 70, 60, 50, 40)


_THUMBNAIL_QUALITY = 80


WHITE = (255, 255, 255)


_MAX_ICC_BYTES = 1024 * 1024


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    content_type: str
    width: int
    height: int


def _normalise_mode(im: Image.Image) -> Image.Image:
    """Bring any decoded mode to one of L, LA, RGB, RGBA, CMYK (resizable, 8 bit)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode == "P":
        has_alpha = "transparency" in im.info or (im.palette and im.palette.mode == "RGBA")
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode in ("PA", "RGBa"):
        return im.convert("RGBA")
    if mode == "La":
        return im.convert("LA")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I;16") or mode == "I":
        # 16-bit greyscale: scale to 8 bit instead of clipping everything above 255.
        return im.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "F":
        return im.convert("L")
    return im.convert("RGB")


_SRGB = None


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Convert from an embedded colour profile to sRGB, so dropping the profile does not
    shift colours (iPhone photos are Display P3, print files CMYK). Best effort."""
    global _SRGB
    if not icc or len(icc) > _MAX_ICC_BYTES or im.mode not in ("RGB", "RGBA", "CMYK", "L"):
        return im
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        description = (ImageCms.getProfileDescription(source) or "").strip().lower()
        if im.mode in ("RGB", "RGBA") and description.startswith("srgb"):
            return im
        if _SRGB is None:
            _SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(im, source, _SRGB, outputMode=out_mode)
    except Exception:
        return im
    return converted if converted is not None else im


def _flatten(im: Image.Image) -> Image.Image:
    """RGB with any transparency composited onto white."""
    if im.mode in ("RGBA", "LA"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", im.size, WHITE)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return im.convert("RGB") if im.mode != "RGB" else im


def _resampling(size: tuple[int, int], target: tuple[int, int], drafted: bool) -> dict[str, Any]:
    """Filter (and reducing gap) for the last resize step.

    After DCT scaling the JPEG decoder has done the bulk of the reduction (with proper
    filtering); what is left is less than 2x, and area averaging (BOX) does it at a
    fraction of Lanczos' cost. Measured on a 24 MP textured JPEG scaled to 2048 px and
    re-encoded at quality 90: 39.6 dB PSNR against a full-resolution Lanczos reference,
    against 40.4 dB for bilinear and 40.5 dB for Lanczos throughout, while the whole
    prepare step runs about 8% faster than with bilinear. Images decoded at full size
    (PNG, WebP, small JPEGs) get Lanczos, with a box pre-reduction for large ratios.
    """
    if drafted and size[0] < 2 * target[0] and size[1] < 2 * target[1]:
        return {"resample": Image.Resampling.BOX}
    return {"resample": Image.Resampling.LANCZOS, "reducing_gap": 2.0}


def load_rgb(
    source: Any,
    *,
    box: tuple[int, int],
    max_input_bytes: int,
    min_side: int,
    max_pixels: int,
    keep_min_side: int | None = None,
) -> Image.Image:
    """Open with every check, decode at (about) the size needed, return upright RGB.

    The result fits ``box`` (never upscaled). When ``keep_min_side`` is given and fitting
    the box would push the short side below it, raise too_small about the shape.
    """
    with opened(source, max_bytes=max_input_bytes, min_side=min_side, max_pixels=max_pixels) as (
        im,
        _info,
    ):
        target = fit_within(im.width, im.height, *box)
        if keep_min_side is not None and min(target) < keep_min_side:
            raise shape_error(keep_min_side, max(box))
        drafted = False
        if target != im.size and im.format in ("JPEG", "MPO"):
            # DCT scaling: libjpeg decodes at 1/2, 1/4 or 1/8 size, never below target.
            stored = im.size
            im.draft("RGB", target)
            drafted = im.size != stored
        decode(im)
        orientation = orientation_of(im)
        icc = im.info.get("icc_profile")
        pixels = _normalise_mode(im)
        if pixels.size != target:
            pixels = pixels.resize(target, **_resampling(pixels.size, target, drafted))
        pixels = _to_srgb(pixels, icc)
        if orientation in TRANSPOSE:
            pixels = pixels.transpose(TRANSPOSE[orientation])
        pixels = _flatten(pixels)
        if pixels is im:
            pixels = im.copy()
    pixels.info = {}  # nothing from the original (exif, icc, comment, xmp, dpi) survives
    return pixels


def _save_jpeg(im: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    im.info = {}
    im.save(buf, "JPEG", quality=quality, optimize=False, progressive=False)
    return buf.getvalue()


def encode_within(im: Image.Image, *, max_bytes: int, min_side: int) -> PreparedImage:
    """JPEG-encode at the default quality, lowering it (then the size) to fit max_bytes."""
    while True:
        for quality in (_JPEG_QUALITY, *_FALLBACK_QUALITIES):
            data = _save_jpeg(im, quality)
            if len(data) <= max_bytes:
                return PreparedImage(data, _PROVIDER_CONTENT_TYPE, im.width, im.height)
        smaller = (round(im.width * 0.8), round(im.height * 0.8))
        if min(smaller) < min_side:
            raise ImageError(
                "too_large_file",
                f"This image cannot be made smaller than {megabytes(max_bytes)} without becoming "
                "too small. Please upload a simpler or smaller photo.",
            )
        im = im.resize(smaller, Image.Resampling.LANCZOS)


def prepare_for_provider(
    data: Any,
    *,
    max_side: int | None = None,
    max_bytes: int | None = None,
    min_side: int | None = None,
    max_pixels: int | None = None,
    max_input_bytes: int | None = None,
) -> PreparedImage:
    """Make an image provider-ready: a clean upright RGB JPEG, long side <= max_side,
    at most max_bytes, at least min_side pixels a side.

    ``max_bytes`` caps the *output* (``MAX_PROVIDER_BYTES``); ``max_input_bytes`` caps the
    input (default: the larger of ``UPLOAD_MAX_BYTES`` and ``DOWNLOAD_MAX_BYTES``).
    """
    max_side = setting_or_default(max_side, "MAX_PROVIDER_SIDE")
    min_side = setting_or_default(min_side, "MIN_IMAGE_SIDE")
    im = load_rgb(
        data,
        box=(max_side, max_side),
        max_input_bytes=input_cap(max_input_bytes),
        min_side=min_side,
        max_pixels=setting_or_default(max_pixels, "MAX_IMAGE_PIXELS"),
        keep_min_side=min_side,
    )
    return encode_within(
        im, max_bytes=setting_or_default(max_bytes, "MAX_PROVIDER_BYTES"), min_side=min_side
    )


def strip_and_reencode(
    data: Any,
    *,
    max_bytes: int | None = None,
    max_pixels: int | None = None,
) -> PreparedImage:
    """Re-encode from pixels at full size (upright, RGB JPEG, no metadata), for storing an
    image that must not be kept as it came. No minimum side; ``max_bytes`` caps both the
    input and the output (default: the larger of the upload and download caps)."""
    cap = input_cap(max_bytes)
    im = load_rgb(
        data,
        box=(2**31, 2**31),
        max_input_bytes=cap,
        min_side=1,
        max_pixels=setting_or_default(max_pixels, "MAX_IMAGE_PIXELS"),
    )
    return encode_within(im, max_bytes=cap, min_side=1)


def thumbnail_bytes(
    data: Any,
    size: tuple[int, int] = (256, 256),
    *,
    max_pixels: int | None = None,
    max_input_bytes: int | None = None,
) -> bytes:
    """A small upright JPEG fitting ``size`` (for the admin). Cheap: JPEGs decode scaled."""
    im = load_rgb(
        data,
        box=size,
        max_input_bytes=input_cap(max_input_bytes),
        min_side=1,
        max_pixels=setting_or_default(max_pixels, "MAX_IMAGE_PIXELS"),
    )
    return _save_jpeg(im, _THUMBNAIL_QUALITY)
