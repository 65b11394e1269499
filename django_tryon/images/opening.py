"""Opening an image safely and the cheap checks: format allow-list, size, pixel and
side caps, decompression bombs, completeness (SAFETY rules 12-15). Every function
raises ``ImageError`` with a stable ``code`` and a ``message`` a shopper can act on."""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from PIL import Image, UnidentifiedImageError

from ..conf import get_setting
from ..errors import TryOnError
from . import formats

_ACCEPTED_HINT = "Please upload a JPEG, PNG or WebP photo."


# EXIF orientation -> the transpose that shows the image upright (as ImageOps.exif_transpose).
ORIENTATION_TAG = 0x0112


TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageError(TryOnError, ValueError):
    """An image the app refuses. ``code`` is stable; ``message`` is for the shopper."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.error_code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"ImageError({self.code!r}, {self.message!r})"


@dataclass(frozen=True)
class ImageInfo:
    format: str
    width: int
    height: int
    size: int  # bytes
    orientation: int = 1  # EXIF orientation (1: upright as stored)


def setting_or_default(value: Any, name: str) -> Any:
    return get_setting(name) if value is None else value


def input_cap(value: int | None) -> int:
    """Byte cap for images the app already holds (stored uploads, downloads): a backstop,
    the stricter cap was applied where the bytes came in."""
    if value is not None:
        return value
    return max(get_setting("UPLOAD_MAX_BYTES"), get_setting("DOWNLOAD_MAX_BYTES"))


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.3g} MB"


def _too_large_file(limit: int) -> ImageError:
    return ImageError(
        "too_large_file",
        f"This file is too large: the limit is {megabytes(limit)}. Please upload a smaller photo.",
    )


def _too_many_pixels(limit: int, actual: int | None = None) -> ImageError:
    has = f" (this one has {actual / 1e6:.1f})" if actual else ""
    return ImageError(
        "too_many_pixels",
        f"This image has too many pixels: at most {limit / 1e6:.3g} megapixels are "
        f"accepted{has}. Please upload a smaller version.",
    )


def _too_small(min_side: int, width: int, height: int) -> ImageError:
    return ImageError(
        "too_small",
        f"This photo is too small: it must be at least {min_side} pixels on each side "
        f"(it is {width} x {height}). Please upload a larger photo.",
    )


def _damaged() -> ImageError:
    return ImageError(
        "truncated",
        "This image file is damaged or incomplete. Please upload it again or choose another photo.",
    )


class _KeepOpen:
    """A caller's file object, shielded from Pillow closing it (``ImageFile.close``
    closes its fp even when it did not open it)."""

    def __init__(self, fp: Any) -> None:
        self._fp = fp

    def read(self, *args: Any) -> bytes:
        return self._fp.read(*args)

    def seek(self, *args: Any) -> int:
        return self._fp.seek(*args)

    def tell(self) -> int:
        return self._fp.tell()

    def close(self) -> None:
        pass


def _as_file(source: Any, max_bytes: int) -> tuple[IO[bytes], int]:
    """Return a seekable file object and the byte size, refusing oversize input before
    reading it when the size is knowable."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        size = len(source)
        if size > max_bytes:
            raise _too_large_file(max_bytes)
        return io.BytesIO(source), size

    size = None
    with contextlib.suppress(Exception):
        declared = getattr(source, "size", None)
        if isinstance(declared, int) and not isinstance(declared, bool):
            size = declared
    seekable = False
    with contextlib.suppress(Exception):
        seekable = bool(source.seekable()) if hasattr(source, "seekable") else True
    if size is None and seekable:
        with contextlib.suppress(Exception):
            size = source.seek(0, io.SEEK_END)
            if not isinstance(size, int):
                size = source.tell()
    if size is not None and size > max_bytes:
        raise _too_large_file(max_bytes)
    if seekable and size is not None:
        source.seek(0)
        return _KeepOpen(source), size
    # Not seekable (or size unknown): read at most one byte past the cap.
    data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise _too_large_file(max_bytes)
    return io.BytesIO(data), len(data)


def _unsupported(fp: IO[bytes]) -> ImageError:
    fp.seek(0)
    head = fp.read(512)
    kind = formats.sniff_other_format(head)
    if {"HEIC": "HEIF"}.get(kind, kind) in formats.upload_formats():
        return _damaged()  # a format read here (AVIF, HEIC with the extra): this one is broken
    if kind == "HEIC":
        return ImageError(
            "unsupported_format",
            "HEIC photos (the iPhone default) can't be read here. Please upload a JPEG, PNG "
            "or WebP photo; on an iPhone, share or export the photo as JPEG.",
        )
    if kind is not None:
        return ImageError("unsupported_format", f"{kind} files are not accepted. {_ACCEPTED_HINT}")
    return ImageError("not_an_image", f"This file is not an image we can read. {_ACCEPTED_HINT}")


@contextlib.contextmanager
def _bombs_are_errors() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


@contextlib.contextmanager
def opened(
    source: Any, *, max_bytes: int, min_side: int, max_pixels: int
) -> Iterator[tuple[Image.Image, ImageInfo]]:
    """Open lazily (header only) and apply every cheap check. Rewinds a caller's file."""
    fp, size = _as_file(source, max_bytes)
    pixel_cap = max_pixels
    if Image.MAX_IMAGE_PIXELS:
        pixel_cap = min(pixel_cap, int(Image.MAX_IMAGE_PIXELS))
    im = None
    try:
        with _bombs_are_errors():
            try:
                im = Image.open(fp, formats=formats.upload_formats())
            except UnidentifiedImageError:
                raise _unsupported(fp) from None
            except (Image.DecompressionBombError, Image.DecompressionBombWarning):
                raise _too_many_pixels(pixel_cap) from None
            except MemoryError:
                raise
            except Exception:
                # A recognised signature with a header Pillow cannot parse.
                raise _damaged() from None
            width, height = im.size
            if width * height > pixel_cap:
                raise _too_many_pixels(pixel_cap, width * height)
            if min(width, height) < min_side:
                raise _too_small(min_side, width, height)
            fmt = {"MPO": "JPEG", "HEIC": "HEIF"}.get(str(im.format), str(im.format))
            info = ImageInfo(fmt, width, height, size, orientation=orientation_of(im))
            yield im, info
    finally:
        if im is not None:
            im.close()
        with contextlib.suppress(Exception):
            fp.seek(0)


def decode(im: Image.Image) -> None:
    """Decode pixel data, turning every decoder failure into one ImageError."""
    try:
        with _bombs_are_errors():
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(int(Image.MAX_IMAGE_PIXELS or 0)) from None
    except MemoryError:
        raise
    except Exception:
        # OSError "image file is truncated", SyntaxError "broken PNG file", zlib errors,
        # struct.error, EOFError ... all mean the same thing to a shopper.
        raise _damaged() from None


def inspect_image(
    fp_or_bytes: Any,
    *,
    max_bytes: int | None = None,
    min_side: int | None = None,
    max_pixels: int | None = None,
) -> ImageInfo:
    """Cheap header-only check of an upload: size, format, pixel count, smallest side.

    Accepts bytes or a file object (a Django ``UploadedFile`` works; its ``size`` is used
    so an oversize upload is refused before anything is read). Never decodes pixels; a
    file object is rewound to its start afterwards.
    """
    with opened(
        fp_or_bytes,
        max_bytes=setting_or_default(max_bytes, "UPLOAD_MAX_BYTES"),
        min_side=setting_or_default(min_side, "MIN_IMAGE_SIDE"),
        max_pixels=setting_or_default(max_pixels, "MAX_IMAGE_PIXELS"),
    ) as (_im, info):
        return info


def check_complete(data: bytes, fmt: str) -> None:
    """Refuse a file that was cut short (an interrupted upload), without decoding pixels.

    Walks only the container: JPEG segment headers to the first scan, then looks for the
    end-of-image marker (entropy-coded data cannot contain it); PNG chunk headers to
    ``IEND``; the RIFF length of a WebP. Cheap enough for the upload path; the worker's
    full decode still catches damage inside the pixel data.
    """
    complete = {"JPEG": _jpeg_complete, "PNG": _png_complete, "WEBP": _webp_complete}.get(fmt)
    if complete is not None and not complete(bytes(data)):
        raise _damaged()


def _jpeg_complete(data: bytes) -> bool:
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return True  # an unusual layout: leave the verdict to the decoder
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker == 0xD9:
            return True
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:  # start of scan: the image ends with EOI somewhere after it
            # Searched from the end, where it is: a forward search crawls through the
            # scan's many 0xFF bytes (3 ms for a 12-megapixel photo).
            return data.rfind(b"\xff\xd9", i + 2 + length) != -1
        i += 2 + length
    return False


def _png_complete(data: bytes) -> bool:
    i, n = 8, len(data)
    while i + 8 <= n:
        length = int.from_bytes(data[i : i + 4], "big")
        if data[i + 4 : i + 8] == b"IEND":
            return True
        i += 12 + length
    return False


def _webp_complete(data: bytes) -> bool:
    if len(data) < 12 or data[:4] != b"RIFF":
        return True
    return len(data) >= 8 + int.from_bytes(data[4:8], "little")


def verify_image(
    data: Any,
    *,
    max_bytes: int | None = None,
    min_side: int | None = None,
    max_pixels: int | None = None,
) -> ImageInfo:
    """``inspect_image`` plus a full decode: also refuses truncated or damaged files."""
    with opened(
        data,
        max_bytes=setting_or_default(max_bytes, "UPLOAD_MAX_BYTES"),
        min_side=setting_or_default(min_side, "MIN_IMAGE_SIDE"),
        max_pixels=setting_or_default(max_pixels, "MAX_IMAGE_PIXELS"),
    ) as (im, info):
        decode(im)
        return info


def check_sendable(info: ImageInfo, *, max_side: int | None = None, min_side: int | None = None):
    """Refuse, from the header alone, an input ``prepare_for_provider`` would refuse later
    for its shape: scaled to fit the provider's long side, its short side would be too
    small. Called at create, so such a photo is refused before anything is created."""
    max_side = setting_or_default(max_side, "MAX_PROVIDER_SIDE")
    min_side = setting_or_default(min_side, "MIN_IMAGE_SIDE")
    if min(fit_within(info.width, info.height, max_side, max_side)) < min_side:
        raise shape_error(min_side, max_side)


def fit_within(width: int, height: int, box_w: int, box_h: int) -> tuple[int, int]:
    """Largest size with the same aspect ratio that fits the box; never upscales."""
    scale = min(box_w / width, box_h / height, 1.0)
    if scale >= 1.0:
        return width, height
    return max(1, round(width * scale)), max(1, round(height * scale))


def orientation_of(im: Image.Image) -> int:
    try:
        value = im.getexif().get(ORIENTATION_TAG, 1)
        return int(value) if value in TRANSPOSE else 1
    except Exception:
        return 1


def shape_error(min_side: int, max_side: int) -> ImageError:
    return ImageError(
        "too_small",
        "This photo is too long and narrow: scaled to the largest size we can send "
        f"({max_side} pixels on the long side), its short side would be under {min_side} "
        f"pixels. Please crop it closer to a normal photo shape (at most about "
        f"{max_side / min_side:.1f} times longer than wide).",
    )
