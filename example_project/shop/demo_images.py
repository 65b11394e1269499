"""Demo pictures drawn with Pillow: flat garments and simple full-body house models.

Nothing is downloaded and nothing binary is committed: ``seed_demo``, the tests and the
docs all draw what they need on the fly. Every function returns encoded bytes and is
deterministic (the same arguments give the same bytes on the same Pillow version).

- ``garment_image(kind, color, size=800)``: a recognisable flat-lay garment on white,
  ``size`` x ``size`` PNG. ``kind`` is a category (``"upper"``, ``"lower"``, ``"dress"``)
  or a shape (see ``GARMENT_KINDS``).
- ``person_image(seed, size=(768, 1024))``: a front-facing full-body figure on a plain
  studio background, JPEG. Each seed gives a different palette.
"""

from __future__ import annotations

import functools
import io
import random
from collections.abc import Callable, Sequence

from PIL import Image, ImageChops, ImageDraw, ImageFilter

RGB = tuple[int, int, int]
Point = tuple[float, float]

WHITE: RGB = (255, 255, 255)
# Drawn at this multiple of the output size, then scaled down: smooth, anti-aliased edges.
_SUPERSAMPLE = 2


# -- small helpers ------------------------------------------------------------------------


def _clamp(v: float) -> int:
    return max(0, min(255, round(v)))


def _shade(color: Sequence[int], factor: float) -> RGB:
    """Darker (factor < 1) or lighter (factor > 1, towards white) version of a colour."""
    r, g, b = color[:3]
    if factor <= 1:
        return (_clamp(r * factor), _clamp(g * factor), _clamp(b * factor))
    t = min(factor - 1, 1)
    return (_clamp(r + (255 - r) * t), _clamp(g + (255 - g) * t), _clamp(b + (255 - b) * t))


def _contrast(color: Sequence[int]) -> RGB:
    """A detail colour that reads on top of ``color`` (darker on light, lighter on dark)."""
    r, g, b = color[:3]
    luma = 0.299 * r + 0.587 * g + 0.114 * b
    return _shade(color, 0.62) if luma > 90 else _shade(color, 1.45)


def _rgb(color: Sequence[int]) -> RGB:
    if len(color) < 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in color[:3]):
        raise ValueError(f"color must be an (r, g, b) tuple of 0-255 ints, not {color!r}")
    return (color[0], color[1], color[2])


def _encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


class _Canvas:
    """Draw in unit coordinates (0..1 on both axes) on a supersampled mask."""

    def __init__(self, width: int, height: int):
        self.w = width * _SUPERSAMPLE
        self.h = height * _SUPERSAMPLE

    def new_mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        mask = Image.new("L", (self.w, self.h), 0)
        return mask, ImageDraw.Draw(mask)

    def pts(self, points: Sequence[Point]) -> list[tuple[float, float]]:
        return [(x * self.w, y * self.h) for x, y in points]

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[float, float, float, float]:
        return (x0 * self.w, y0 * self.h, x1 * self.w, y1 * self.h)

    def px(self, v: float) -> int:
        """A length given as a fraction of the width, in supersampled pixels (at least 1)."""
        return max(1, round(v * self.w))


def _outline(mask: Image.Image, width: int) -> Image.Image:
    """The band just inside the edge of ``mask`` (for a seam-like outline)."""
    # Erode by blurring and keeping only what stays fully inside: much faster than a
    # MinFilter of the same width on a large mask.
    inner = mask.filter(ImageFilter.BoxBlur(width)).point(lambda v: 255 if v >= 250 else 0)
    return ImageChops.subtract(mask, inner)


def _vertical_shading(size: tuple[int, int], top: float, bottom: float) -> Image.Image:
    """An "L" gradient from ``top`` to ``bottom`` (0..255), used to darken fabric a little."""
    height = size[1]
    column = bytes(round(top + (bottom - top) * y / max(height - 1, 1)) for y in range(height))
    return Image.frombytes("L", (1, height), column).resize(size, Image.Resampling.NEAREST)


def _fabric(base: Image.Image, mask: Image.Image, color: RGB) -> None:
    """Paint ``color`` through ``mask`` with a soft top-to-bottom shading."""
    fill = Image.new("RGB", base.size, color)
    dark = Image.new("RGB", base.size, _shade(color, 0.82))
    fill = Image.composite(dark, fill, _vertical_shading(base.size, 0, 110))
    base.paste(fill, (0, 0), mask)


def _stripes(mask: Image.Image, period: int, width: int, *, vertical=False) -> Image.Image:
    """``mask`` restricted to regular stripes."""
    stripes = Image.new("L", mask.size, 0)
    d = ImageDraw.Draw(stripes)
    length = mask.size[0] if vertical else mask.size[1]
    other = mask.size[1] if vertical else mask.size[0]
    for start in range(period // 2, length, period):
        if vertical:
            d.rectangle((start, 0, start + width, other), fill=255)
        else:
            d.rectangle((0, start, other, start + width), fill=255)
    return ImageChops.multiply(mask, stripes)


def _dots(mask: Image.Image, spacing: int, radius: int) -> Image.Image:
    """``mask`` restricted to a staggered polka-dot grid."""
    dots = Image.new("L", mask.size, 0)
    d = ImageDraw.Draw(dots)
    for row, y in enumerate(range(spacing // 2, mask.size[1], spacing)):
        offset = spacing // 2 if row % 2 else 0
        for x in range(offset, mask.size[0] + spacing, spacing):
            d.ellipse((x - radius, y - radius, x + radius, y + radius), fill=255)
    return ImageChops.multiply(mask, dots)


def _finish(im: Image.Image) -> Image.Image:
    return im.reduce(_SUPERSAMPLE)  # box-filter down to the output size: anti-aliased edges


# -- garments -----------------------------------------------------------------------------


def _draw_tshirt(c: _Canvas, base: Image.Image, color: RGB) -> None:
    mask, d = c.new_mask()
    body = [
        (0.36, 0.14), (0.43, 0.12), (0.57, 0.12), (0.64, 0.14),  # shoulders and neckline
        (0.86, 0.26), (0.78, 0.40), (0.70, 0.35),  # right sleeve
        (0.70, 0.86), (0.30, 0.86),  # hem
        (0.30, 0.35), (0.22, 0.40), (0.14, 0.26),  # left sleeve
    ]  # fmt: skip
    d.polygon(c.pts(body), fill=255)
    d.ellipse(c.box(0.42, 0.07, 0.58, 0.20), fill=0)  # neck opening
    _fabric(base, mask, color)
    detail = _contrast(color)
    base.paste(detail, (0, 0), _outline(mask, c.px(0.004)))
    draw = ImageDraw.Draw(base)
    # Collar rib.
    draw.arc(c.box(0.405, 0.055, 0.595, 0.215), 0, 180, fill=detail, width=c.px(0.012))
    for x0, y0, x1, y1 in ((0.30, 0.35, 0.22, 0.40), (0.70, 0.35, 0.78, 0.40)):  # sleeve seams
        draw.line(c.pts([(x0, 0.185), (x0, y0)]), fill=detail, width=c.px(0.003))
        draw.line(
            c.pts([(x0 + (x1 - x0) * 0.1, y0 - 0.015), (x1 - (x1 - x0) * 0.05, y1 - 0.02)]),
            fill=detail,
            width=c.px(0.003),
        )
    draw.line(c.pts([(0.30, 0.835), (0.70, 0.835)]), fill=detail, width=c.px(0.003))  # hem stitch


def _draw_shirt(c: _Canvas, base: Image.Image, color: RGB) -> None:
    """A long-sleeved button-down shirt with a collar and horizontal stripes."""
    mask, d = c.new_mask()
    body = [
        (0.35, 0.13), (0.44, 0.11), (0.56, 0.11), (0.65, 0.13),
        (0.80, 0.22), (0.90, 0.72), (0.80, 0.74), (0.71, 0.38),  # right sleeve
        (0.71, 0.88), (0.50, 0.90), (0.29, 0.88),  # curved hem
        (0.29, 0.38), (0.20, 0.74), (0.10, 0.72), (0.20, 0.22),  # left sleeve
    ]  # fmt: skip
    d.polygon(c.pts(body), fill=255)
    base.paste(Image.new("RGB", base.size, (250, 250, 248)), (0, 0), mask)
    period = c.px(0.04)
    base.paste(color, (0, 0), _stripes(mask, period, period // 2))
    detail = _shade(color, 0.55)
    base.paste(detail, (0, 0), _outline(mask, c.px(0.004)))
    draw = ImageDraw.Draw(base)
    # Collar: two triangles over the neckline.
    for side in (-1, 1):
        collar = [
            (0.5, 0.20),
            (0.5 + side * 0.075, 0.105),
            (0.5 + side * 0.13, 0.115),
            (0.5 + side * 0.10, 0.215),
        ]
        draw.polygon(c.pts(collar), fill=(250, 250, 248), outline=detail, width=c.px(0.004))
    # Placket and buttons.
    draw.line(c.pts([(0.5, 0.20), (0.5, 0.89)]), fill=detail, width=c.px(0.004))
    for i in range(6):
        y = 0.26 + i * 0.11
        draw.ellipse(
            c.box(0.488, y - 0.012, 0.512, y + 0.012),
            fill=(245, 245, 240),
            outline=detail,
            width=c.px(0.002),
        )
    # Cuffs and armhole seams.
    draw.line(c.pts([(0.81, 0.68), (0.90, 0.665)]), fill=detail, width=c.px(0.004))
    draw.line(c.pts([(0.19, 0.68), (0.10, 0.665)]), fill=detail, width=c.px(0.004))
    draw.line(c.pts([(0.29, 0.16), (0.29, 0.38)]), fill=detail, width=c.px(0.003))
    draw.line(c.pts([(0.71, 0.16), (0.71, 0.38)]), fill=detail, width=c.px(0.003))
    # Chest pocket.
    draw.rectangle(c.box(0.56, 0.30, 0.64, 0.39), outline=detail, width=c.px(0.003))


def _draw_trousers(c: _Canvas, base: Image.Image, color: RGB, *, short: bool) -> None:
    """Jeans (``short=False``) or shorts: waistband, fly, pockets, contrast stitching."""
    mask, d = c.new_mask()
    hem = 0.50 if short else 0.92
    flare = 0.04 if short else 0.0
    shape = [
        (0.27, 0.10), (0.73, 0.10),  # waistband top
        (0.76, 0.30), (0.75 + flare + (0.0 if short else 0.02), hem),  # outer right leg
        (0.53 + (0.02 if short else 0.0), hem + (0.0 if short else 0.005)),  # right hem inner
        (0.50, 0.36 if short else 0.40),  # crotch
        (0.47 - (0.02 if short else 0.0), hem + (0.0 if short else 0.005)),
        (0.25 - flare - (0.0 if short else 0.02), hem),  # left hem outer
        (0.24, 0.30),
    ]  # fmt: skip
    d.polygon(c.pts(shape), fill=255)
    _fabric(base, mask, color)
    stitch = (214, 150, 60) if sum(color) < 400 else _shade(color, 0.6)
    detail = _shade(color, 0.6)
    base.paste(detail, (0, 0), _outline(mask, c.px(0.004)))
    draw = ImageDraw.Draw(base)
    w = c.px(0.003)
    # Waistband, button and belt loops.
    draw.line(c.pts([(0.268, 0.165), (0.732, 0.165)]), fill=stitch, width=w)
    draw.ellipse(c.box(0.488, 0.12, 0.512, 0.145), fill=(190, 180, 160), outline=detail, width=w)
    for x in (0.30, 0.40, 0.60, 0.70):
        draw.rectangle(c.box(x - 0.008, 0.095, x + 0.008, 0.18), outline=stitch, width=w)
    # Fly (a J-shaped stitch).
    draw.line(c.pts([(0.535, 0.17), (0.535, 0.29)]), fill=stitch, width=w)
    draw.arc(c.box(0.465, 0.25, 0.535, 0.33), 0, 90, fill=stitch, width=w)
    # Front pockets.
    draw.arc(c.box(0.20, 0.10, 0.38, 0.30), 270, 360, fill=stitch, width=w)
    draw.arc(c.box(0.62, 0.10, 0.80, 0.30), 180, 270, fill=stitch, width=w)
    # Hems and a leg crease.
    # Hem stitching, just inside each leg opening (the legs are shape[3..4] and shape[6..7]).
    for outer, inner in ((shape[3], shape[4]), (shape[7], shape[6])):
        y = hem - 0.02
        x_out = outer[0] - (outer[0] - 0.5) * 0.02 / (hem - 0.30)  # the outer seam slopes
        inset = 0.012 if x_out > inner[0] else -0.012
        draw.line(c.pts([(x_out - inset, y), (inner[0] + inset, y)]), fill=stitch, width=w)
    if not short:
        draw.line(c.pts([(0.36, 0.42), (0.355, 0.88)]), fill=detail, width=w)
        draw.line(c.pts([(0.64, 0.42), (0.645, 0.88)]), fill=detail, width=w)


def _draw_dress(c: _Canvas, base: Image.Image, color: RGB, *, evening: bool) -> None:
    """A sleeveless summer dress with dots, or a long evening gown with a sash."""
    mask, d = c.new_mask()
    if evening:
        shape = [
            (0.40, 0.05), (0.43, 0.05), (0.50, 0.20), (0.57, 0.05), (0.60, 0.05),  # V-neck
            (0.62, 0.20), (0.59, 0.34), (0.62, 0.55), (0.74, 0.95),  # waist, long skirt
            (0.26, 0.95), (0.38, 0.55), (0.41, 0.34), (0.38, 0.20),
        ]  # fmt: skip
    else:
        shape = [
            (0.39, 0.06), (0.42, 0.06), (0.43, 0.14),  # left strap
            (0.57, 0.14), (0.58, 0.06), (0.61, 0.06),  # right strap
            (0.64, 0.22), (0.61, 0.38), (0.80, 0.86),  # bodice, flared skirt
            (0.50, 0.89), (0.20, 0.86), (0.39, 0.38), (0.36, 0.22),
        ]  # fmt: skip
    d.polygon(c.pts(shape), fill=255)
    if not evening:
        # A scooped neckline between the straps.
        d.ellipse(c.box(0.42, 0.07, 0.58, 0.19), fill=0)
        d.polygon(c.pts([(0.43, 0.0), (0.57, 0.0), (0.57, 0.13), (0.43, 0.13)]), fill=0)
        d.polygon(c.pts([(0.39, 0.06), (0.42, 0.06), (0.43, 0.14), (0.40, 0.15)]), fill=255)
        d.polygon(c.pts([(0.61, 0.06), (0.58, 0.06), (0.57, 0.14), (0.60, 0.15)]), fill=255)
    _fabric(base, mask, color)
    detail = _contrast(color)
    draw = ImageDraw.Draw(base)
    if evening:
        # Satin sheen: lighter vertical folds on the skirt.
        folds, fd = c.new_mask()
        for x_top, x_bottom in ((0.45, 0.38), (0.50, 0.50), (0.55, 0.62)):
            fd.line(c.pts([(x_top, 0.40), (x_bottom, 0.94)]), fill=150, width=c.px(0.012))
        folds = ImageChops.multiply(folds.filter(ImageFilter.GaussianBlur(c.px(0.01))), mask)
        base.paste(_shade(color, 1.35), (0, 0), folds)
        base.paste(_shade(color, 0.55), (0, 0), _outline(mask, c.px(0.004)))
        # Sash at the waist with a bow.
        sash = _shade(color, 1.6)
        draw.polygon(c.pts([(0.405, 0.325), (0.595, 0.325), (0.60, 0.36), (0.40, 0.36)]), fill=sash)
        draw.polygon(c.pts([(0.56, 0.34), (0.62, 0.31), (0.62, 0.38)]), fill=sash)
        draw.polygon(c.pts([(0.56, 0.345), (0.59, 0.45), (0.575, 0.46), (0.55, 0.35)]), fill=sash)
    else:
        dots = _dots(mask, c.px(0.07), c.px(0.012))
        base.paste(_shade(color, 1.7), (0, 0), dots)
        base.paste(detail, (0, 0), _outline(mask, c.px(0.004)))
        # Waist seam and a few skirt gathers.
        draw.line(c.pts([(0.39, 0.38), (0.61, 0.38)]), fill=detail, width=c.px(0.004))
        for x_top, x_bottom in ((0.44, 0.36), (0.50, 0.50), (0.56, 0.64)):
            draw.line(
                c.pts([(x_top, 0.39), (x_bottom, 0.82)]),
                fill=_shade(color, 0.85),
                width=c.px(0.003),
            )


_Drawer = Callable[[_Canvas, Image.Image, RGB], None]

GARMENT_KINDS: dict[str, _Drawer] = {
    "tshirt": _draw_tshirt,
    "shirt": _draw_shirt,
    "jeans": lambda c, im, col: _draw_trousers(c, im, col, short=False),
    "shorts": lambda c, im, col: _draw_trousers(c, im, col, short=True),
    "dress": lambda c, im, col: _draw_dress(c, im, col, evening=False),
    "evening-dress": lambda c, im, col: _draw_dress(c, im, col, evening=True),
}

# A try-on category names its most typical shape.
_CATEGORY_KINDS = {"upper": "tshirt", "lower": "jeans"}

# The try-on category of each shape (django_tryon.models.Category values).
KIND_CATEGORY = {
    "tshirt": "upper",
    "shirt": "upper",
    "jeans": "lower",
    "shorts": "lower",
    "dress": "dress",
    "evening-dress": "dress",
}


def garment_image(
    kind: str,
    color: tuple[int, int, int],
    size: int = 800,
    *,
    background: tuple[int, int, int] = WHITE,
    fmt: str = "PNG",
) -> bytes:
    """A flat-lay garment of ``kind`` in ``color``, centred on a plain background.

    ``kind`` is ``"upper"``, ``"lower"`` or ``"dress"`` (a typical garment of that try-on
    category) or one of ``GARMENT_KINDS``. Returns ``size`` x ``size`` image bytes in
    ``fmt`` ("PNG" or "JPEG").
    """
    key = _CATEGORY_KINDS.get(kind, kind)
    if key not in GARMENT_KINDS:
        raise ValueError(f"unknown garment kind {kind!r}; use one of {sorted(GARMENT_KINDS)}")
    if size < 64:
        raise ValueError("size must be at least 64 pixels")
    if fmt.upper() not in ("PNG", "JPEG", "JPG"):
        raise ValueError(f"fmt must be 'PNG' or 'JPEG', not {fmt!r}")
    return _garment_bytes(key, _rgb(color), size, _rgb(background), fmt.upper())


@functools.lru_cache(maxsize=32)
def _garment_bytes(key: str, color: RGB, size: int, background: RGB, fmt: str) -> bytes:
    canvas = _Canvas(size, size)
    im = Image.new("RGB", (canvas.w, canvas.h), background)
    GARMENT_KINDS[key](canvas, im, color)
    im = _finish(im)
    if fmt in ("JPEG", "JPG"):
        return _encode(im, "JPEG", quality=92)
    return _encode(im, "PNG")


# -- people -------------------------------------------------------------------------------

_SKIN: list[RGB] = [(241, 204, 178), (198, 144, 107), (141, 94, 66), (224, 172, 130)]
_HAIR: list[RGB] = [(60, 42, 30), (25, 22, 22), (176, 126, 70), (110, 70, 40)]
_TOPS: list[RGB] = [(236, 236, 232), (70, 80, 96), (196, 206, 214), (222, 214, 196)]
_BOTTOMS: list[RGB] = [(52, 56, 66), (40, 40, 44), (96, 102, 112), (70, 62, 58)]
_BACKDROPS: list[RGB] = [(226, 230, 236), (236, 228, 220), (222, 232, 226), (232, 226, 236)]


def person_image(seed: int, size: tuple[int, int] = (768, 1024)) -> bytes:
    """A front-facing, full-body figure in neutral fitted clothes on a studio background.

    Each ``seed`` picks a skin tone, hair, clothing colours, backdrop and a slightly
    different build. Returns JPEG bytes of ``size`` (width, height), portrait by default.
    """
    width, height = size
    if width < 64 or height < 64:
        raise ValueError("size must be at least 64 x 64 pixels")
    return _person_bytes(int(seed), int(width), int(height))


@functools.lru_cache(maxsize=16)
def _person_bytes(seed: int, width: int, height: int) -> bytes:
    rng = random.Random(seed)
    skin = _SKIN[seed % len(_SKIN)]
    hair = _HAIR[(seed * 3 + 1) % len(_HAIR)]
    top = _TOPS[(seed + 1) % len(_TOPS)]
    bottom = _BOTTOMS[seed % len(_BOTTOMS)]
    backdrop = _BACKDROPS[seed % len(_BACKDROPS)]
    shoulder = 0.145 + rng.uniform(-0.01, 0.015)  # half shoulder width
    hip = 0.105 + rng.uniform(-0.005, 0.02)  # half hip width
    long_hair = seed % 2 == 1

    c = _Canvas(width, height)
    # Figures are drawn in a box of the output's aspect ratio; x is scaled so that
    # proportions hold on any size (a unit of x is worth aspect units of y).
    aspect = height / width
    cx = 0.5

    k = aspect * 0.75

    def X(dx: float) -> float:  # a horizontal offset from the centre line
        return cx + dx * k

    def W(d: float) -> float:  # a horizontal length
        return d * k

    # Studio: backdrop with a vertical light falloff and a floor.
    im = Image.new("RGB", (c.w, c.h), backdrop)
    im = Image.composite(
        Image.new("RGB", im.size, _shade(backdrop, 0.86)), im, _vertical_shading(im.size, 0, 160)
    )
    draw = ImageDraw.Draw(im)
    draw.rectangle(c.box(0, 0.90, 1, 1), fill=_shade(backdrop, 0.8))
    shadow, sd = c.new_mask()
    sd.ellipse(c.box(X(-0.16), 0.925, X(0.16), 0.955), fill=120)
    im.paste((60, 60, 60), (0, 0), shadow.filter(ImageFilter.GaussianBlur(c.px(0.02))))

    outline = _shade(skin, 0.7)

    def part(points: Sequence[Point], color: RGB) -> None:
        draw.polygon(c.pts(points), fill=color, outline=_shade(color, 0.75), width=c.px(0.002))

    def limb(p0: Point, p1: Point, w0: float, w1: float, color: RGB) -> None:
        # A tapered quad from p0 (half-width w0) to p1 (half-width w1).
        (x0, y0), (x1, y1) = p0, p1
        part([(x0 - W(w0), y0), (x0 + W(w0), y0), (x1 + W(w1), y1), (x1 - W(w1), y1)], color)

    def oval(x: float, y: float, rx: float, ry: float, color: RGB, edge: RGB | None = None):
        draw.ellipse(
            c.box(x - W(rx), y - ry, x + W(rx), y + ry), fill=color, outline=edge, width=c.px(0.002)
        )

    # Hair behind the head: to the shoulders when long, a close crop otherwise.
    if long_hair:
        draw.rounded_rectangle(
            c.box(X(-0.085), 0.065, X(0.085), 0.235), radius=c.px(0.06), fill=hair
        )
    oval(X(0), 0.095, 0.069, 0.062, hair)
    # Shoes, then fitted trousers from the waist to the ankles in one piece.
    ankle, ankle_w = 0.058, 0.03
    for side in (-1, 1):
        ax = side * ankle
        xs = sorted((X(ax - side * 0.032), X(ax + side * 0.05)))
        part(
            [(X(ax - 0.03), 0.875), (X(ax + 0.03), 0.875), (xs[1], 0.93), (xs[0], 0.93)],
            (48, 44, 44),
        )
    trousers = [
        (X(-hip), 0.46), (X(hip), 0.46), (X(hip + 0.012), 0.56),  # waistband, right hip
        (X(ankle + ankle_w), 0.885), (X(ankle - ankle_w), 0.885),  # right ankle
        (X(0.006), 0.575), (X(-0.006), 0.575),  # crotch
        (X(-ankle + ankle_w), 0.885), (X(-ankle - ankle_w), 0.885),  # left ankle
        (X(-hip - 0.012), 0.56),
    ]  # fmt: skip
    part(trousers, bottom)
    draw.line(c.pts([(X(0), 0.47), (X(0), 0.575)]), fill=_shade(bottom, 0.75), width=c.px(0.002))
    # Arms, slightly away from the body (an A-pose suits try-on); the sleeves cover the tops.
    for side in (-1, 1):
        sx = side * shoulder
        elbow = (X(sx + side * 0.045), 0.36)
        wrist = (X(sx + side * 0.075), 0.515)
        limb((X(sx), 0.25), elbow, 0.026, 0.022, skin)
        limb(elbow, wrist, 0.022, 0.017, skin)
        oval(X(sx + side * 0.078), 0.535, 0.021, 0.026, skin, outline)
    # Neck, then a fitted short-sleeved top over torso and upper arms.
    part([(X(-0.03), 0.14), (X(0.03), 0.14), (X(0.035), 0.2), (X(-0.035), 0.2)], skin)
    torso = [
        (X(-0.05), 0.185), (X(0.05), 0.185), (X(shoulder), 0.205),
        (X(shoulder + 0.05), 0.285), (X(shoulder - 0.01), 0.30),  # right short sleeve
        (X(hip - 0.01), 0.38), (X(hip + 0.002), 0.48),  # waist to hip
        (X(-hip - 0.002), 0.48), (X(-hip + 0.01), 0.38),
        (X(-shoulder + 0.01), 0.30), (X(-shoulder - 0.05), 0.285), (X(-shoulder), 0.205),
    ]  # fmt: skip
    part(torso, top)
    draw.arc(
        c.box(X(-0.05), 0.16, X(0.05), 0.215), 0, 180, fill=_shade(top, 0.75), width=c.px(0.003)
    )
    # Head: ears, face, hair on top, simple features.
    for side in (-1, 1):
        oval(X(side * 0.062), 0.11, 0.012, 0.016, skin, outline)
    oval(X(0), 0.105, 0.062, 0.06, skin, outline)
    draw.chord(c.box(X(-0.066), 0.038, X(0.066), 0.118), 180, 360, fill=hair)
    eye = _shade(skin, 0.35)
    for side in (-1, 1):
        ex = X(side * 0.025)
        oval(ex, 0.104, 0.007, 0.004, eye)
        draw.line(
            c.pts([(ex - W(0.012), 0.093), (ex + W(0.012), 0.092)]),
            fill=_shade(hair, 0.9),
            width=c.px(0.003),
        )
    draw.line(c.pts([(X(0), 0.108), (X(-0.006), 0.128)]), fill=outline, width=c.px(0.002))
    draw.arc(
        c.box(X(-0.022), 0.125, X(0.022), 0.145),
        20,
        160,
        fill=_shade(skin, 0.55),
        width=c.px(0.003),
    )

    return _encode(_finish(im), "JPEG", quality=90)
