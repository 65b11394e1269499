"""Make test images on the fly: deterministic, nothing downloaded, nothing stored in git.

Every helper returns encoded bytes. Images are drawn with Pillow only, so the same call
gives the same bytes on the same Pillow version.
"""

from __future__ import annotations

import io
import random
import struct
import zlib

from PIL import Image, ImageCms, ImageDraw

# A marker colour drawn in the top-left corner of the *stored* pixels by make_jpeg, so a
# test can tell where that corner ended up after EXIF orientation was applied.
MARKER = (255, 0, 0)

# EXIF tag numbers used below.
_ORIENTATION = 0x0112
_GPS_IFD = 0x8825
_MAKE = 0x010F


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def textured_image(width: int, height: int, *, seed: int = 1, grain: float = 0.12) -> Image.Image:
    """A photo-like RGB image: smooth colour blobs plus fine grain (a realistic JPEG size),
    deterministic."""
    rng = random.Random(seed)
    small = Image.frombytes("RGB", (16, 12), rng.randbytes(16 * 12 * 3))
    base = small.resize((width, height), Image.Resampling.BICUBIC)
    tile = Image.frombytes("RGB", (256, 256), rng.randbytes(256 * 256 * 3))
    noise = Image.new("RGB", (width, height))
    for y in range(0, height, 256):
        for x in range(0, width, 256):
            noise.paste(tile, (x, y))
    return Image.blend(base, noise, grain)


def srgb_icc_profile() -> bytes:
    """The bytes of an sRGB ICC profile (made by littlecms, not downloaded)."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def make_jpeg(
    width: int,
    height: int,
    *,
    color: tuple[int, int, int] = (40, 120, 200),
    exif_orientation: int | None = None,
    with_gps: bool = False,
    quality: int = 90,
    textured: bool = False,
    with_icc: bool = False,
    comment: bytes | None = None,
    with_xmp: bool = False,
    mode: str = "RGB",
    seed: int = 1,
) -> bytes:
    """A JPEG of the given stored size.

    The stored top-left corner carries a MARKER-coloured square (an eighth of the short
    side) so orientation handling can be checked. ``textured`` gives photo-like content
    (realistic file size and decode cost) instead of a flat colour. The metadata flags
    add EXIF orientation, a GPS block, an ICC profile, a COM comment or an XMP packet.
    """
    im = (
        textured_image(width, height, seed=seed)
        if textured
        else Image.new("RGB", (width, height), color)
    )
    side = max(1, min(width, height) // 8)
    ImageDraw.Draw(im).rectangle((0, 0, side - 1, side - 1), fill=MARKER)
    if mode != "RGB":
        im = im.convert(mode)
    params: dict = {"quality": quality}
    if exif_orientation is not None or with_gps:
        exif = Image.Exif()
        exif[_MAKE] = "TestCam"
        if exif_orientation is not None:
            exif[_ORIENTATION] = exif_orientation
        if with_gps:
            # GPSLatitudeRef, GPSLatitude, GPSLongitudeRef, GPSLongitude
            exif[_GPS_IFD] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
        params["exif"] = exif.tobytes()
    if with_icc:
        params["icc_profile"] = srgb_icc_profile()
    if comment is not None:
        params["comment"] = comment
    if with_xmp:
        params["xmp"] = (
            b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
            b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
            b'dc:creator="Secret Person"/></rdf:RDF></x:xmpmeta>'
        )
    return encode(im, "JPEG", **params)


def make_png(width: int, height: int, *, alpha: bool = False, mode: str | None = None) -> bytes:
    """A PNG. With ``alpha``: a fully transparent *black* background (so a naive
    ``convert("RGB")`` turns it black, not white) around an opaque blue rectangle covering
    the middle half. ``mode`` forces another Pillow mode (e.g. "P", "LA", "I;16")."""
    if alpha:
        im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
        ImageDraw.Draw(im).rectangle(
            (width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(0, 0, 255, 255)
        )
    else:
        im = Image.new("RGB", (width, height), (200, 80, 40))
        ImageDraw.Draw(im).ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4))
    if mode is not None:
        im = im.convert(mode)
    return encode(im, "PNG")


def make_webp(width: int, height: int, *, color: tuple[int, int, int] = (90, 160, 60)) -> bytes:
    return encode(Image.new("RGB", (width, height), color), "WEBP", quality=80)


def make_gif(width: int = 400, height: int = 400, *, frames: int = 1) -> bytes:
    """A (possibly animated) GIF: a format Pillow reads but the app does not accept."""
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200), (200, 200, 30)]
    ims = [Image.new("RGB", (width, height), colours[i % 4]) for i in range(frames)]
    params = {"save_all": True, "append_images": ims[1:]} if frames > 1 else {}
    return encode(ims[0], "GIF", **params)


def make_bmp(width: int = 400, height: int = 400) -> bytes:
    return encode(Image.new("RGB", (width, height), (1, 2, 3)), "BMP")


def make_person(width: int = 768, height: int = 1024) -> bytes:
    """A simple standing figure on a plain backdrop, JPEG (portrait by default)."""
    im = Image.new("RGB", (width, height), (214, 222, 230))
    d = ImageDraw.Draw(im)
    cx = width // 2
    u = height / 16  # one "head unit"
    skin, shirt, trousers = (224, 172, 140), (60, 90, 160), (50, 50, 60)
    d.ellipse((cx - u, 1 * u, cx + u, 3 * u), fill=skin)  # head
    d.rectangle((cx - 0.3 * u, 3 * u, cx + 0.3 * u, 3.6 * u), fill=skin)  # neck
    d.rectangle((cx - 1.8 * u, 3.6 * u, cx + 1.8 * u, 8.2 * u), fill=shirt)  # torso
    d.rectangle((cx - 2.6 * u, 3.8 * u, cx - 1.9 * u, 8.0 * u), fill=shirt)  # arms
    d.rectangle((cx + 1.9 * u, 3.8 * u, cx + 2.6 * u, 8.0 * u), fill=shirt)
    d.rectangle((cx - 1.6 * u, 8.2 * u, cx - 0.15 * u, 14.5 * u), fill=trousers)  # legs
    d.rectangle((cx + 0.15 * u, 8.2 * u, cx + 1.6 * u, 14.5 * u), fill=trousers)
    d.rectangle((cx - 1.8 * u, 14.5 * u, cx - 0.1 * u, 15 * u), fill=(20, 20, 20))  # shoes
    d.rectangle((cx + 0.1 * u, 14.5 * u, cx + 1.8 * u, 15 * u), fill=(20, 20, 20))
    return encode(im, "JPEG", quality=90)


_GARMENT_COLOURS = {"upper": (200, 40, 60), "lower": (30, 60, 140), "dress": (120, 40, 150)}


def make_garment(kind: str = "upper", size: int = 800) -> bytes:
    """A flat garment shape (T-shirt, trousers or dress) centred on white, PNG, square."""
    if kind not in _GARMENT_COLOURS:
        raise ValueError(f"unknown garment kind {kind!r}")
    im = Image.new("RGB", (size, size), (255, 255, 255))
    d = ImageDraw.Draw(im)
    s = size / 100
    colour = _GARMENT_COLOURS[kind]
    if kind == "upper":
        shape = [(30, 15), (42, 12), (58, 12), (70, 15), (90, 30), (80, 40), (72, 34), (72, 88)]
        shape += [(28, 88), (28, 34), (20, 40), (10, 30)]
    elif kind == "lower":
        shape = [(30, 8), (70, 8), (74, 92), (56, 92), (50, 35), (44, 92), (26, 92)]
    else:
        shape = [(40, 6), (60, 6), (62, 30), (80, 94), (20, 94), (38, 30)]
    d.polygon([(x * s, y * s) for x, y in shape], fill=colour)
    return encode(im, "PNG")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_bomb(width: int = 30000, height: int = 30000) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` 1-bit pixels.

    Only the first row of pixel data is present: opening it is cheap and lazy, decoding it
    would need width*height pixels of memory (and then fail as truncated). 30000x30000 is
    900 megapixels, above twice Pillow's own limit, so Pillow itself raises on open; pass a
    size between the app's cap and Pillow's (e.g. 9000x9000) to exercise the app's cap.
    """
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    first_row = b"\x00" + b"\x00" * ((width + 7) // 8)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(first_row))
        + _png_chunk(b"IEND", b"")
    )


def truncated_jpeg(width: int = 600, height: int = 800, *, keep: float = 0.5) -> bytes:
    """A textured JPEG cut after ``keep`` of its bytes: the header is intact (cheap checks
    pass), a full decode fails."""
    data = make_jpeg(width, height, textured=True)
    return data[: int(len(data) * keep)]


def make_mpo(width: int = 640, height: int = 480) -> bytes:
    """A two-frame MPO (what some phone cameras write): Pillow opens it as format "MPO"
    through the JPEG plugin."""
    first = Image.new("RGB", (width, height), (10, 200, 10))
    second = Image.new("RGB", (width, height), (200, 10, 10))
    return encode(first, "MPO", save_all=True, append_images=[second])


def make_heic(
    width: int = 768, height: int = 1024, *, exif_orientation: int | None = None
) -> bytes:
    """An iPhone-style HEIC photo of the standing figure (needs pillow-heif to encode)."""
    import pillow_heif

    im = Image.open(io.BytesIO(make_person(width, height)))
    heif = pillow_heif.from_pillow(im)
    out = io.BytesIO()
    extra = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        extra["exif"] = exif.tobytes()
    heif.save(out, quality=80, **extra)
    return out.getvalue()


def make_avif(width: int = 768, height: int = 1024) -> bytes:
    """The standing figure as AVIF (Pillow's own plugin encodes it)."""
    return encode(Image.open(io.BytesIO(make_person(width, height))), "AVIF")
