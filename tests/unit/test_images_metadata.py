"""Metadata removed without decoding (django_tryon/images/metadata.py): what a shopper's upload
loses before it is stored, and that its pixels are untouched."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image, PngImagePlugin

from django_tryon.images.metadata import without_metadata
from kit import imagegen

GPS_IFD = 0x8825


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.convert("RGB").tobytes()


def test_a_phone_jpeg_keeps_its_pixels_and_loses_gps_camera_comment_and_xmp():
    data = imagegen.make_jpeg(
        900, 1200, with_gps=True, comment=b"a private note", with_xmp=True, textured=True
    )
    clean = without_metadata(data, "JPEG")
    assert clean is not None and pixels(clean) == pixels(data)
    with Image.open(io.BytesIO(clean)) as im:
        assert not im.getexif() and "xmp" not in im.info and "comment" not in im.info
    for secret in (b"TestCam", b"Secret Person", b"a private note"):
        assert secret in data and secret not in clean


def test_only_the_orientation_tag_is_kept_so_a_worker_can_turn_it_upright():
    data = imagegen.make_jpeg(1200, 900, with_gps=True, exif_orientation=6)
    clean = without_metadata(data, "JPEG", orientation=6)
    with Image.open(io.BytesIO(clean)) as im:
        exif = im.getexif()
        assert dict(exif) == {0x0112: 6} and not exif.get_ifd(GPS_IFD)
    assert pixels(clean) == pixels(data)


def test_the_colour_profile_is_kept():
    data = imagegen.make_jpeg(600, 800, with_icc=True, with_gps=True)
    with Image.open(io.BytesIO(without_metadata(data, "JPEG"))) as im:
        assert im.info.get("icc_profile") == imagegen.srgb_icc_profile()


def test_a_second_frame_and_anything_after_the_image_are_dropped():
    """Phones append previews (MPF) after the image; each can carry its own EXIF."""
    data = imagegen.make_mpo(640, 480) + b"trailing bytes"
    clean = without_metadata(data, "MPO")
    with Image.open(io.BytesIO(clean)) as im:
        assert im.format == "JPEG" and getattr(im, "n_frames", 1) == 1
    assert clean.endswith(b"\xff\xd9") and len(clean) < len(data) // 2 + 200


def test_a_progressive_jpeg_keeps_every_scan():
    im = Image.open(io.BytesIO(imagegen.make_jpeg(800, 600, textured=True)))
    out = io.BytesIO()
    im.save(out, "JPEG", progressive=True, quality=85, exif=Image.Exif().tobytes())
    data = out.getvalue()
    assert pixels(without_metadata(data, "JPEG")) == pixels(data)


def test_a_png_loses_its_text_and_exif_chunks():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Secret Person")
    info.add_itxt("Comment", "a private note", zip=True)
    im = Image.open(io.BytesIO(imagegen.make_png(500, 600)))
    exif = Image.Exif()
    exif[0x010F] = "TestCam"
    out = io.BytesIO()
    im.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    data = out.getvalue()
    clean = without_metadata(data, "PNG")
    assert pixels(clean) == pixels(data)
    for kind in (b"tEXt", b"iTXt", b"eXIf"):
        assert kind in data and kind not in clean
    assert b"Secret Person" not in clean and zlib.compress(b"a private note") not in clean


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (imagegen.truncated_jpeg(), "JPEG"),  # no end of image
        (b"\xff\xd8\xff\xe0\x00", "JPEG"),
        (imagegen.make_png(400, 400)[:-12], "PNG"),  # no IEND
        (imagegen.make_webp(400, 400), "WEBP"),  # re-encoded from pixels instead
    ],
)
def test_what_is_not_understood_is_left_to_a_re_encoding(data, fmt):
    assert without_metadata(data, fmt) is None


def test_a_png_that_needs_turning_is_left_to_a_re_encoding():
    assert without_metadata(imagegen.make_png(400, 400), "PNG", orientation=6) is None
