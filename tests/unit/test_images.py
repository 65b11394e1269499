"""django_tryon.images: the upload checks, provider preparation, outfits (SAFETY 12-15)."""

from __future__ import annotations

import io
import warnings

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile

from django_tryon import images
from django_tryon.images import (
    ALLOWED_UPLOAD_FORMATS,
    ImageError,
    ImageInfo,
    PreparedImage,
    compose_outfit,
    formats,
    inspect_image,
    prepare_for_provider,
    strip_and_reencode,
    thumbnail_bytes,
    verify_image,
)
from django_tryon.pipeline import validation
from kit import imagegen as g

MB = 1024 * 1024


@pytest.fixture(autouse=True)
def default_tryon_settings(settings):
    """Every test here runs against the documented defaults unless it says otherwise."""
    settings.TRYON = {}


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if anything decodes pixel data."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("pixel data was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def _close(pixel, expected, tolerance=12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


def _code(excinfo) -> str:
    return excinfo.value.code


# ---------------------------------------------------------------------------------------
# ImageError and the cheap inspection


def test_image_error_carries_code_and_shopper_message():
    err = ImageError("too_small", "This photo is too small.")
    assert isinstance(err, ValueError)
    assert err.code == "too_small"
    assert err.message == str(err) == "This photo is too small."


def test_allowed_formats():
    assert ALLOWED_UPLOAD_FORMATS == ("JPEG", "PNG", "WEBP")
    # Pillow 13 reads AVIF itself; the heic extra (installed for the suite) adds HEIF.
    assert formats.upload_formats() == ("JPEG", "PNG", "WEBP", "AVIF", "HEIF")


@pytest.mark.parametrize(
    ("make", "fmt"), [(g.make_heic, "HEIF"), (g.make_avif, "AVIF")], ids=["heic", "avif"]
)
def test_phone_formats_are_read_and_stored_as_a_plain_jpeg(make, fmt):
    """An iPhone's HEIC and an AVIF are accepted, and what is stored is an upright RGB
    JPEG without their metadata, like any upload that is not already JPEG or PNG."""
    from django_tryon.pipeline.validation import storable_upload, validated_person

    data = make(600, 800)
    info = inspect_image(data)
    assert (info.format, info.width, info.height) == (fmt, 600, 800)
    errors = validation.FieldErrors()
    upload = validated_person(data, None, errors)
    errors.raise_if_any()
    stored, ready = storable_upload(upload)
    with Image.open(io.BytesIO(stored)) as im:
        assert (im.format, im.mode, im.size) == ("JPEG", "RGB", (600, 800))
        assert not im.getexif()
    assert ready


def test_heic_without_the_extra_says_what_to_do(monkeypatch):
    monkeypatch.setattr(formats, "heif_readable", lambda: False)
    with pytest.raises(ImageError) as excinfo:
        inspect_image(g.make_heic())
    assert _code(excinfo) == "unsupported_format"
    assert "HEIC photos (the iPhone default) can't be read here" in excinfo.value.message


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (g.make_jpeg(640, 480), "JPEG"),
        (g.make_png(500, 400), "PNG"),
        (g.make_webp(400, 500), "WEBP"),
        (g.make_mpo(640, 480), "JPEG"),  # phone cameras' multi-picture JPEG
    ],
)
def test_inspect_accepts_allowed_formats(data, fmt):
    info = inspect_image(data)
    assert isinstance(info, ImageInfo)
    assert info.format == fmt
    assert (info.width, info.height) == Image.open(io.BytesIO(data)).size
    assert info.size == len(data)


@pytest.mark.parametrize("data", [b"", b"hello, world", bytes(range(256)) * 8, b"<html></html>"])
def test_not_an_image(data):
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "not_an_image"
    assert "JPEG, PNG or WebP" in excinfo.value.message


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (g.make_gif(), "GIF"),
        (g.make_gif(frames=3), "GIF"),
        (g.make_bmp(), "BMP"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "HEIC"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 64, "AVIF"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    ],
)
def test_readable_but_refused_formats_are_named(data, name, monkeypatch):
    # Named from their magic bytes when this installation cannot read them.
    monkeypatch.setattr(formats, "heif_readable", lambda: False)
    monkeypatch.setattr(formats, "_avif_readable", lambda: False)
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "unsupported_format"
    assert name in excinfo.value.message


def test_gif_is_refused_even_though_pillow_reads_it():
    data = g.make_gif()
    assert Image.open(io.BytesIO(data)).format == "GIF"  # Pillow would take it
    with pytest.raises(ImageError) as excinfo:
        verify_image(data)
    assert _code(excinfo) == "unsupported_format"


def test_truncated_jpeg_passes_cheap_inspect_but_not_verify():
    data = g.truncated_jpeg()
    info = inspect_image(data)  # header intact: the cheap check cannot know
    assert (info.width, info.height) == (600, 800)
    with pytest.raises(ImageError) as excinfo:
        verify_image(data)
    assert _code(excinfo) == "truncated"
    assert "damaged or incomplete" in excinfo.value.message


def test_truncated_png_fails_verify():
    data = g.make_png(600, 600)
    with pytest.raises(ImageError) as excinfo:
        verify_image(data[: len(data) // 2])
    assert _code(excinfo) == "truncated"


def test_truncated_jpeg_is_caught_on_the_scaled_decode_path_too():
    data = g.truncated_jpeg(3000, 2000)
    with pytest.raises(ImageError) as excinfo:
        prepare_for_provider(data)  # drafted (DCT-scaled) decode
    assert _code(excinfo) == "truncated"


def test_verify_does_not_turn_on_pillow_truncated_loading():
    verify_image(g.make_jpeg(400, 400))
    with pytest.raises(ImageError):
        verify_image(g.truncated_jpeg())
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_pixel_bomb_refused_by_inspect_without_decoding(no_decoding):
    data = g.make_bomb()  # 30000 x 30000, a few dozen bytes
    assert len(data) < 1000
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "too_many_pixels"


def test_bomb_refused_even_where_the_warning_is_ignored(no_decoding):
    # 100 MP: above Pillow's warning threshold, below its error threshold. Someone may
    # have silenced the warning process-wide; it must still be refused.
    data = g.make_bomb(10000, 10000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageError) as excinfo:
            inspect_image(data, max_pixels=10**10)
    assert _code(excinfo) == "too_many_pixels"


def test_pillow_bomb_warning_is_raised_as_an_error_by_open(no_decoding, monkeypatch):
    # Pillow's own check fires inside Image.open: with the process-wide filter set to
    # "ignore", images.py must still turn the warning into an exception there.
    raised = []
    real_open = Image.open

    def spy(*args, **kwargs):
        try:
            return real_open(*args, **kwargs)
        except BaseException as exc:
            raised.append(exc)
            raise

    monkeypatch.setattr(Image, "open", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ImageError):
            inspect_image(g.make_bomb(10000, 10000), max_pixels=10**10)
    assert len(raised) == 1
    assert isinstance(raised[0], Image.DecompressionBombWarning)


def test_own_pixel_cap_checked_right_after_open(no_decoding):
    data = g.make_bomb(9000, 9000)  # 81 MP: under Pillow's limit, over the app's 64 MP
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "too_many_pixels"
    assert "81.0" in excinfo.value.message


def test_pixel_cap_argument():
    data = g.make_jpeg(1000, 1000)
    assert inspect_image(data, max_pixels=1_000_000).width == 1000
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data, max_pixels=999_999)
    assert _code(excinfo) == "too_many_pixels"


@pytest.mark.parametrize(("width", "height"), [(299, 800), (800, 299), (299, 299)])
def test_299_pixels_is_too_small(width, height):
    with pytest.raises(ImageError) as excinfo:
        inspect_image(g.make_png(width, height))
    assert _code(excinfo) == "too_small"
    assert "at least 300 pixels on each side" in excinfo.value.message


@pytest.mark.parametrize(("width", "height"), [(300, 800), (800, 300), (300, 300)])
def test_300_pixels_is_enough(width, height):
    assert inspect_image(g.make_png(width, height)).width == width


def test_oversize_upload_refused_by_size_before_anything_is_read():
    class HugeUpload:
        """A 40 MB upload that must not be read."""

        size = 40 * MB

        def read(self, *args):
            raise AssertionError("read before the size check")

        def seek(self, *args):
            raise AssertionError("seek before the size check")

    with pytest.raises(ImageError) as excinfo:
        inspect_image(HugeUpload())
    assert _code(excinfo) == "too_large_file"
    assert "20 MB" in excinfo.value.message


def test_oversize_bytes_refused_before_opening(monkeypatch):
    data = g.make_jpeg(400, 400) + b"\x00" * (40 * MB)

    def refuse(*args, **kwargs):
        raise AssertionError("opened before the size check")

    monkeypatch.setattr(Image, "open", refuse)
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "too_large_file"


def test_oversize_seekable_file_without_size_attribute():
    data = io.BytesIO(g.make_jpeg(400, 400) + b"\x00" * 2000)
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data, max_bytes=2000)
    assert _code(excinfo) == "too_large_file"


def test_unseekable_stream_read_only_up_to_the_cap():
    class Stream:
        def __init__(self):
            self.requested = []

        def seekable(self):
            return False

        def read(self, n=-1):
            self.requested.append(n)
            return b"\xff" * n

    stream = Stream()
    with pytest.raises(ImageError) as excinfo:
        inspect_image(stream, max_bytes=1000)
    assert _code(excinfo) == "too_large_file"
    assert stream.requested == [1001]


def test_inspect_uploaded_file_and_rewind():
    data = g.make_jpeg(640, 480)
    upload = SimpleUploadedFile("me.jpg", data, content_type="image/jpeg")
    upload.read(10)
    info = inspect_image(upload)
    assert (info.format, info.width, info.height, info.size) == ("JPEG", 640, 480, len(data))
    assert upload.read() == data  # rewound, still open


def test_inspect_reads_limits_from_settings_at_call_time(settings):
    data = g.make_jpeg(640, 480)
    assert inspect_image(data).width == 640
    settings.TRYON = {"MIN_IMAGE_SIDE": 500}
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "too_small"
    settings.TRYON = {"UPLOAD_MAX_BYTES": 100}
    with pytest.raises(ImageError) as excinfo:
        inspect_image(data)
    assert _code(excinfo) == "too_large_file"


# ---------------------------------------------------------------------------------------
# prepare_for_provider


def test_prepare_returns_a_clean_jpeg():
    prepared = prepare_for_provider(g.make_person())
    assert isinstance(prepared, PreparedImage)
    assert prepared.content_type == "image/jpeg"
    im = _open(prepared.data)
    assert im.format == "JPEG"
    assert im.mode == "RGB"
    assert (prepared.width, prepared.height) == im.size == (768, 1024)


# Where the stored top-left corner (the red marker) must appear once shown upright.
_CORNERS = {
    1: "top_left",
    3: "bottom_right",
    6: "top_right",
    8: "bottom_left",
}


@pytest.mark.parametrize("orientation", sorted(_CORNERS))
def test_exif_orientation_is_applied(orientation):
    data = g.make_jpeg(800, 400, exif_orientation=orientation)
    prepared = prepare_for_provider(data)
    im = _open(prepared.data)
    rotated = orientation in (6, 8)
    assert im.size == ((400, 800) if rotated else (800, 400))
    w, h = im.size
    corners = {
        "top_left": (5, 5),
        "top_right": (w - 6, 5),
        "bottom_left": (5, h - 6),
        "bottom_right": (w - 6, h - 6),
    }
    for name, xy in corners.items():
        red = _close(im.getpixel(xy), g.MARKER, tolerance=40)
        assert red == (name == _CORNERS[orientation]), (name, im.getpixel(xy))


def test_landscape_stored_orientation_6_comes_out_portrait():
    prepared = prepare_for_provider(g.make_jpeg(1200, 900, exif_orientation=6))
    assert prepared.width < prepared.height
    assert (prepared.width, prepared.height) == (900, 1200)


def test_orientation_applied_on_the_downscaled_path():
    prepared = prepare_for_provider(g.make_jpeg(4000, 3000, exif_orientation=6))
    assert (prepared.width, prepared.height) == (1536, 2048)


def test_metadata_does_not_survive():
    data = g.make_jpeg(
        800,
        600,
        exif_orientation=1,
        with_gps=True,
        with_icc=True,
        comment=b"secret comment",
        with_xmp=True,
    )
    source = Image.open(io.BytesIO(data))
    # The input really carries all of it (so this test can fail).
    assert source.getexif().get_ifd(0x8825)
    assert {"icc_profile", "comment", "exif", "xmp"} <= set(source.info)
    for needle in (b"TestCam", b"secret comment", b"Secret Person"):
        assert needle in data

    prepared = prepare_for_provider(data)
    out = Image.open(io.BytesIO(prepared.data))
    assert dict(out.getexif()) == {}
    assert not set(out.info) & {"icc_profile", "comment", "exif", "xmp", "XML:com.adobe.xmp"}
    for needle in (b"TestCam", b"secret comment", b"Secret Person", b"Exif", b"ICC_PROFILE"):
        assert needle not in prepared.data


def test_colour_profiles_are_dropped_without_shifting_colours():
    tagged = g.make_jpeg(400, 400, color=(200, 100, 50), with_icc=True)
    out = _open(prepare_for_provider(tagged).data)
    assert "icc_profile" not in out.info
    assert _close(out.getpixel((300, 300)), (200, 100, 50), tolerance=4)


def test_a_broken_colour_profile_is_ignored():
    buf = io.BytesIO()
    Image.new("RGB", (400, 400), (200, 100, 50)).save(buf, "JPEG", icc_profile=b"not a profile")
    out = _open(prepare_for_provider(buf.getvalue()).data)
    assert "icc_profile" not in out.info
    assert _close(out.getpixel((200, 200)), (200, 100, 50), tolerance=4)


def test_png_text_metadata_does_not_survive():
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Author", "Secret Person")
    buf = io.BytesIO()
    Image.new("RGB", (400, 400), (10, 20, 30)).save(buf, "PNG", pnginfo=meta)
    assert b"Secret Person" in buf.getvalue()
    assert b"Secret Person" not in prepare_for_provider(buf.getvalue()).data


def test_png_alpha_is_flattened_onto_white():
    data = g.make_png(600, 600, alpha=True)  # transparent *black* around a blue square
    prepared = prepare_for_provider(data)
    im = _open(prepared.data)
    assert im.mode == "RGB"
    assert _close(im.getpixel((10, 10)), (255, 255, 255))
    assert _close(im.getpixel((300, 300)), (0, 0, 255), tolerance=20)


@pytest.mark.parametrize("mode", ["P", "LA", "RGBA"])
def test_other_alpha_modes_are_flattened_onto_white(mode):
    if mode == "P":
        # A palette image with a transparent index.
        im = Image.new("P", (400, 400), 0)
        im.putpalette([0, 0, 0, 0, 160, 0] + [0] * 762)
        im.paste(1, (100, 100, 300, 300))
        im.info["transparency"] = 0
    else:
        im = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
        im.paste((0, 160, 0, 255), (100, 100, 300, 300))
        im = im.convert(mode)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    out = _open(prepare_for_provider(buf.getvalue()).data)
    assert _close(out.getpixel((10, 10)), (255, 255, 255))
    assert not _close(out.getpixel((200, 200)), (255, 255, 255))


def test_sixteen_bit_greyscale_is_scaled_not_clipped():
    buf = io.BytesIO()
    Image.new("I;16", (400, 400), 40000).save(buf, "PNG")
    out = _open(prepare_for_provider(buf.getvalue()).data)
    assert _close(out.getpixel((200, 200)), (156, 156, 156), tolerance=3)


@pytest.mark.parametrize("mode", ["CMYK", "L"])
def test_cmyk_and_greyscale_jpegs_become_rgb(mode):
    data = g.make_jpeg(500, 500, mode=mode)
    assert Image.open(io.BytesIO(data)).mode == mode
    out = _open(prepare_for_provider(data).data)
    assert out.mode == "RGB"


def test_webp_becomes_jpeg():
    out = prepare_for_provider(g.make_webp(500, 400))
    assert out.content_type == "image/jpeg"
    assert _open(out.data).format == "JPEG"


def test_prepare_refuses_what_inspect_refuses():
    for data, code in [
        (g.make_gif(), "unsupported_format"),
        (g.make_png(299, 900), "too_small"),
        (g.make_bomb(), "too_many_pixels"),
        (b"nope", "not_an_image"),
    ]:
        with pytest.raises(ImageError) as excinfo:
            prepare_for_provider(data)
        assert _code(excinfo) == code


@pytest.fixture(scope="module")
def jpeg_24mp():
    return g.make_jpeg(6000, 4000, textured=True)


def test_24mp_jpeg_is_downscaled_within_provider_limits(jpeg_24mp):
    prepared = prepare_for_provider(jpeg_24mp)
    assert max(prepared.width, prepared.height) <= 2048
    assert (prepared.width, prepared.height) == (2048, 1365)
    assert len(prepared.data) <= 10 * MB
    assert _open(prepared.data).size == (2048, 1365)


def test_24mp_jpeg_is_decoded_at_reduced_size(jpeg_24mp, monkeypatch):
    decoded = []
    original = ImageFile.ImageFile.load

    def spy(self):
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    prepare_for_provider(jpeg_24mp)
    assert decoded, "nothing decoded?"
    largest = max(w * h for w, h in decoded)
    assert largest <= 6000 * 4000 // 4  # DCT-scaled by at least 2 per side


def test_max_side_setting_and_argument(settings):
    data = g.make_jpeg(3000, 2000)
    assert prepare_for_provider(data, max_side=1000).width == 1000
    settings.TRYON = {"MAX_PROVIDER_SIDE": 1200}
    out = prepare_for_provider(data)
    assert (out.width, out.height) == (1200, 800)


def test_small_images_are_not_upscaled():
    out = prepare_for_provider(g.make_jpeg(400, 300))
    assert (out.width, out.height) == (400, 300)


def test_quality_is_lowered_to_fit_the_byte_cap():
    data = g.make_jpeg(1500, 1500, textured=True)
    full = prepare_for_provider(data)
    cap = len(full.data) // 2
    capped = prepare_for_provider(data, max_bytes=cap)
    assert len(capped.data) <= cap
    assert (capped.width, capped.height) == (full.width, full.height)


def test_impossible_byte_cap_is_an_error():
    with pytest.raises(ImageError) as excinfo:
        prepare_for_provider(g.make_jpeg(800, 800, textured=True), max_bytes=2000)
    assert _code(excinfo) == "too_large_file"


def test_extreme_aspect_ratio_that_would_shrink_below_300_is_too_small():
    data = g.make_png(400, 4000)  # 10:1, scaled to 2048 long -> 205 px wide
    with pytest.raises(ImageError) as excinfo:
        prepare_for_provider(data)
    assert _code(excinfo) == "too_small"
    assert "long and narrow" in excinfo.value.message


def test_tall_but_acceptable_aspect_ratio():
    out = prepare_for_provider(g.make_png(600, 4000))  # 6.67:1 -> 307 x 2048
    assert out.height == 2048
    assert out.width >= 300


# ---------------------------------------------------------------------------------------
# Outfits


def test_compose_outfit_stacks_upper_above_lower_on_white():
    out = compose_outfit(g.make_garment("upper"), g.make_garment("lower"))
    assert out.content_type == "image/jpeg"
    im = _open(out.data)
    assert im.size == (out.width, out.height)
    assert max(im.size) <= 2048
    assert min(im.size) >= 300
    assert im.height > im.width  # stacked vertically
    w, h = im.size
    for xy in [(2, 2), (w - 3, 2), (2, h - 3), (w - 3, h - 3)]:
        assert _close(im.getpixel(xy), (255, 255, 255)), xy
    colours = g._GARMENT_COLOURS

    def rows_with(colour):
        return [
            y
            for y in range(0, h, 2)
            if any(_close(im.getpixel((x, y)), colour, tolerance=30) for x in range(0, w, 4))
        ]

    upper_rows, lower_rows = rows_with(colours["upper"]), rows_with(colours["lower"])
    assert upper_rows and lower_rows
    assert max(upper_rows) < min(lower_rows)  # the top above the bottom, not overlapping
    # Centred: the garments' horizontal extents are balanced around the middle.
    upper_cols = [
        x
        for x in range(w)
        if _close(im.getpixel((x, upper_rows[len(upper_rows) // 2])), colours["upper"], 30)
    ]
    assert abs((min(upper_cols) + max(upper_cols)) / 2 - w / 2) < w * 0.1


def test_compose_outfit_respects_max_side():
    out = compose_outfit(g.make_garment("upper", 1600), g.make_garment("lower", 1600), max_side=600)
    assert max(out.width, out.height) <= 600
    assert min(out.width, out.height) >= 300


def test_compose_outfit_pads_to_300_pixels_a_side():
    tall = g.make_png(300, 1800)
    out = compose_outfit(tall, tall, max_side=800)
    assert out.height <= 800
    assert out.width >= 300


def test_compose_outfit_flattens_transparent_garments_onto_white():
    garment = g.make_png(600, 600, alpha=True)
    im = _open(compose_outfit(garment, garment).data)
    assert _close(im.getpixel((2, 2)), (255, 255, 255))


def test_compose_outfit_checks_each_image():
    with pytest.raises(ImageError) as excinfo:
        compose_outfit(g.make_garment("upper"), g.make_gif())
    assert _code(excinfo) == "unsupported_format"


# ---------------------------------------------------------------------------------------
# Thumbnails and re-encoding


def test_thumbnail_fits_the_box_and_keeps_the_aspect_ratio():
    thumb = thumbnail_bytes(g.make_jpeg(3000, 2000))
    im = _open(thumb)
    assert im.format == "JPEG"
    assert im.size == (256, 171)


def test_thumbnail_is_upright_and_accepts_small_images():
    assert _open(thumbnail_bytes(g.make_jpeg(1200, 900, exif_orientation=6))).size == (192, 256)
    assert _open(thumbnail_bytes(g.make_png(100, 80))).size == (100, 80)
    assert _open(thumbnail_bytes(g.make_jpeg(1000, 1000), size=(64, 64))).size == (64, 64)


def test_thumbnail_refuses_bombs(no_decoding):
    with pytest.raises(ImageError) as excinfo:
        thumbnail_bytes(g.make_bomb())
    assert _code(excinfo) == "too_many_pixels"


def test_strip_and_reencode_keeps_size_and_drops_metadata():
    data = g.make_jpeg(3000, 2000, with_gps=True, comment=b"secret comment")
    out = strip_and_reencode(data)
    assert (out.width, out.height) == (3000, 2000)
    assert b"secret comment" not in out.data
    assert dict(Image.open(io.BytesIO(out.data)).getexif()) == {}


# ---------------------------------------------------------------------------------------
# The generators other tests rely on


def test_imagegen_is_deterministic_and_as_described(monkeypatch):
    assert g.make_jpeg(500, 400, textured=True) == g.make_jpeg(500, 400, textured=True)
    assert g.make_person() == g.make_person()
    assert Image.open(io.BytesIO(g.make_person())).size == (768, 1024)
    for kind in ("upper", "lower", "dress"):
        im = Image.open(io.BytesIO(g.make_garment(kind, size=500)))
        assert (im.format, im.size) == ("PNG", (500, 500))
        assert im.getpixel((0, 0)) == (255, 255, 255)
    assert Image.open(io.BytesIO(g.make_gif(frames=2))).n_frames == 2
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # to look at the bomb's header
    assert Image.open(io.BytesIO(g.make_bomb())).size == (30000, 30000)


def test_module_exports():
    for name in images.__all__:
        assert hasattr(images, name)


# -- check_complete: the upload path's cut-short check ---------------------------------


def test_check_complete_accepts_whole_jpegs_even_with_bytes_after_the_end():
    data = g.make_jpeg(800, 600, textured=True)
    images.check_complete(data, "JPEG")
    images.check_complete(data + b"trailer some phones append", "JPEG")


def test_check_complete_refuses_a_jpeg_cut_inside_its_scan():
    data = g.make_jpeg(800, 600, textured=True)
    with pytest.raises(ImageError) as excinfo:
        images.check_complete(data[: len(data) // 2], "JPEG")
    assert _code(excinfo) == "truncated"


def test_check_complete_needs_the_end_marker_after_the_scan_not_before_it():
    # An end-of-image marker inside a comment before the scan proves nothing.
    data = g.make_jpeg(800, 600, textured=True, comment=b"\xff\xd9 in a comment")
    images.check_complete(data, "JPEG")
    with pytest.raises(ImageError):
        images.check_complete(data[: len(data) - 100], "JPEG")
