"""Input image checks (the providers' documented limits) and the simulated try-on render."""

from __future__ import annotations

import base64
import binascii
import io
from dataclasses import dataclass

import httpx
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

MAX_INPUT_BYTES = 10 * 1024 * 1024
MIN_SIDE = 300
MAX_OUTPUT_SIDE = 2048
ALLOWED_FORMATS = ("JPEG", "PNG")

# Where a garment is laid over the person, as fractions of the person image (l, t, r, b).
_REGIONS = {
    "garment": (0.20, 0.17, 0.80, 0.72),
    "dress": (0.20, 0.17, 0.80, 0.90),
    "outfit": (0.20, 0.17, 0.80, 0.92),  # a top stacked above a bottom (the app composes it)
    "upper": (0.20, 0.17, 0.80, 0.55),
    "lower": (0.25, 0.50, 0.75, 0.92),
}


class ImageRejected(ValueError):
    """An input image the provider would refuse; the message names the field."""


@dataclass(frozen=True)
class InputImage:
    """Checked input bytes and their size as displayed (EXIF orientation applied)."""

    data: bytes
    format: str
    width: int
    height: int


def decode_base64_image(value: str, field: str) -> bytes:
    """Decode raw base64 strictly, refusing a ``data:`` URI prefix as Kling does."""
    if value[:5].lower() == "data:":
        raise ImageRejected(
            f"{field}: Base64 must be raw, without a data: prefix "
            "(e.g. 'iVBORw0KGgo...', not 'data:image/png;base64,iVBORw0KGgo...')"
        )
    if len(value) > (MAX_INPUT_BYTES * 4) // 3 + 8:
        raise ImageRejected(f"{field}: image file size must not exceed 10MB")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ImageRejected(f"{field}: not a valid image URL or Base64 string") from None


def download_image(
    url: str, field: str, timeout: float, client: httpx.Client | None = None
) -> bytes:
    """GET ``url`` without redirects, capping the body at 10 MB."""
    own_client = client is None
    if client is None:
        client = httpx.Client(follow_redirects=False, trust_env=False)
    try:
        with client.stream("GET", url, timeout=timeout, follow_redirects=False) as response:
            if not 200 <= response.status_code < 300:
                raise ImageRejected(
                    f"{field}: image could not be downloaded from its URL "
                    f"(HTTP {response.status_code})"
                )
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_INPUT_BYTES:
                    raise ImageRejected(f"{field}: image file size must not exceed 10MB")
            return bytes(data)
    except httpx.HTTPError as exc:
        raise ImageRejected(
            f"{field}: image could not be downloaded from its URL ({type(exc).__name__})"
        ) from None
    finally:
        if own_client:
            client.close()


def check_image(data: bytes, field: str) -> InputImage:
    """Apply the documented limits: JPEG or PNG, at most 10 MB, both sides >= 300 px."""
    if len(data) > MAX_INPUT_BYTES:
        raise ImageRejected(f"{field}: image file size must not exceed 10MB")
    if not data:
        raise ImageRejected(f"{field}: image is empty")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            fmt = img.format or ""
            width, height = img.size
            if width * height > Image.MAX_IMAGE_PIXELS:
                raise ImageRejected(f"{field}: image has too many pixels ({width}x{height})")
            if width < MIN_SIDE or height < MIN_SIDE:
                raise ImageRejected(
                    f"{field}: image width and height must be at least {MIN_SIDE}px "
                    f"(got {width}x{height})"
                )
            orientation = img.getexif().get(0x0112, 1)
            img.load()  # a truncated or corrupt file fails here, not later in a render
    except ImageRejected:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageRejected(f"{field}: unsupported image format, only JPG/JPEG/PNG") from None
    except (OSError, SyntaxError, ValueError):
        raise ImageRejected(f"{field}: image file is corrupt or truncated") from None
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return InputImage(data=data, format=fmt, width=width, height=height)


def output_size(width: int, height: int) -> tuple[int, int]:
    """The result follows the person image, its long side capped at 2048 px."""
    longest = max(width, height)
    if longest <= MAX_OUTPUT_SIDE:
        return width, height
    scale = MAX_OUTPUT_SIDE / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def render_tryon(
    person: bytes,
    garments: list[tuple[str, bytes]],
    *,
    index: int = 0,
    watermark: bool = False,
    size: tuple[int, int] | None = None,
) -> bytes:
    """Lay each garment over the person, stamp SIMULATED, return PNG bytes.

    Pure and deterministic: the same inputs, index and watermark flag give the same bytes.
    ``garments`` holds (kind, bytes) with kind in garment, dress, upper, lower. ``size``:
    the output's own size (cropped to its shape), else the person's, capped.
    """
    with Image.open(io.BytesIO(person), formats=ALLOWED_FORMATS) as img:
        base = ImageOps.exif_transpose(img).convert("RGB")
    if size is not None:
        base = ImageOps.fit(base, size, Image.Resampling.LANCZOS)
    size = output_size(*base.size)
    if size != base.size:
        base = base.resize(size, Image.Resampling.LANCZOS)
    canvas = base.convert("RGBA")
    for kind, data in garments:
        _lay_garment(canvas, kind, data, index)
    _stamp_simulated(canvas, index)
    if watermark:
        _stamp_watermark(canvas)
    out = io.BytesIO()
    canvas.convert("RGB").save(out, "PNG")
    return out.getvalue()


def _lay_garment(canvas: Image.Image, kind: str, data: bytes, index: int) -> None:
    width, height = canvas.size
    with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
        garment = ImageOps.exif_transpose(img).convert("RGBA")
    if kind == "garment":  # Kling does not say which: tell from the image, as a person would
        kind = garment_kind(garment)
    left, top, right, bottom = _REGIONS.get(kind, _REGIONS["garment"])
    box_w = max(1, int((right - left) * width))
    box_h = max(1, int((bottom - top) * height))
    garment = ImageOps.contain(garment, (box_w, box_h), Image.Resampling.LANCZOS)
    # Near-white (a product photo's background) stays faint, the garment itself nearly opaque.
    shade = garment.convert("L").point(lambda v: 45 if v >= 240 else 235)
    garment.putalpha(ImageChops.darker(garment.getchannel("A"), shade))
    # Each image of a batch is shifted a little, so the outputs differ visibly.
    shift = ((index + 1) // 2) * (1 if index % 2 else -1) * max(1, width // 40)
    x = int(left * width) + (box_w - garment.width) // 2 + shift
    y = int(top * height) + (box_h - garment.height) // 2
    x = min(max(x, 0), width - garment.width)
    canvas.alpha_composite(garment, dest=(x, y))


def garment_kind(garment: Image.Image) -> str:
    """ "upper", "lower", "dress" or "outfit", from a product image on a light background.

    An outfit is two garments stacked with white between them; otherwise the outline
    decides: trousers and shorts leave a gap between the legs at the bottom centre, and of
    the rest, about as wide as tall is a top and taller is a dress.
    """
    rgb = garment.convert("RGB")
    if "A" in garment.getbands():  # transparent cut-outs count as background
        rgb.paste((255, 255, 255), mask=ImageOps.invert(garment.getchannel("A")))
    small = ImageOps.contain(rgb, (160, 160))
    ink = ImageChops.difference(small, Image.new("RGB", small.size, (255, 255, 255)))
    red, green, blue = ink.split()  # a pale colour differs from white in one channel
    strongest = ImageChops.lighter(ImageChops.lighter(red, green), blue)
    mask = strongest.point(lambda v: 255 if v > 24 else 0)
    box = mask.getbbox()
    if box is None:
        return "upper"
    shape = mask.crop(box)
    width, height = shape.size
    rows = [any(shape.getpixel((x, y)) for x in range(width)) for y in range(height)]
    gap = max((len(run) for run in "".join("1" if r else "0" for r in rows).split("1")), default=0)
    if gap >= max(2, height // 80):
        return "outfit"
    centre = [shape.getpixel((width // 2, y)) for y in range(int(height * 0.7), height)]
    if centre.count(0) > len(centre) // 2:
        return "lower"  # trousers or shorts: the legs part at the bottom
    return "upper" if height < width * 1.25 else "dress"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # Pillow without FreeType
        return ImageFont.load_default()


def _stamp_simulated(canvas: Image.Image, index: int) -> None:
    width, height = canvas.size
    band = max(24, height // 12)
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, 170))
    text = "SIMULATED TRY-ON" + (f" #{index + 1}" if index else "")
    # In the right half, right-aligned: a before/after view opened at 50/50 shows the
    # result's right half, and the stamp must be read whole there.
    size = max(12, int(band * 0.6))
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    while right - left > width * 0.44 and size > 8:
        size -= 1
        font = _font(size)
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = width - (right - left) - max(4, width // 50) - left
    y = height - band + (band - (bottom - top)) // 2 - top
    draw.text((x, y), text, font=font, fill=(255, 255, 255, 255))
    canvas.alpha_composite(layer)


def _stamp_watermark(canvas: Image.Image) -> None:
    width, height = canvas.size
    layer = Image.new("RGBA", canvas.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    stripe = max(6, min(width, height) // 25)
    draw.line((0, 0, width, height), fill=(220, 0, 0, 110), width=stripe)
    draw.line((0, height, width, 0), fill=(220, 0, 0, 110), width=stripe)
    text = "WATERMARK"
    font = _font(max(14, width // 8))
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (width - (right - left)) // 2 - left
    y = (height - (bottom - top)) // 2 - top
    draw.text(
        (x, y),
        text,
        font=font,
        fill=(255, 255, 255, 170),
        stroke_width=max(1, stripe // 3),
        stroke_fill=(220, 0, 0, 200),
    )
    canvas.alpha_composite(layer)
