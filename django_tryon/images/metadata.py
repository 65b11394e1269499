"""Removing a photo's metadata (GPS, camera, comments, embedded previews) without
decoding it, so a shopper's upload can be stored at once, in the request that received
it, and re-encoded from pixels later by a worker.

Both formats are rebuilt from a list of what to keep, never from a list of what to drop:
a segment or chunk this module does not know is left out. A file whose structure is not
the plain one understood here gets ``None``, and the caller re-encodes it from pixels
instead. The pixels are untouched: the same bytes decode to the same image.
"""

from __future__ import annotations

import struct

from PIL import Image

__all__ = ["without_metadata"]

ORIENTATION_TAG = 0x0112

#: JPEG application segments kept, by marker and identifier: the JFIF header, the colour
#: profile and Adobe's colour-transform flag (needed to decode CMYK and YCCK files).
_JPEG_APPS = {0xE0: b"JFIF\x00", 0xE2: b"ICC_PROFILE\x00", 0xEE: b"Adobe"}

#: PNG chunks kept: the image and how to show its colours. Text (tEXt, zTXt, iTXt),
#: EXIF (eXIf), time stamps and every private chunk are left out.
_PNG_CHUNKS = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT"}
    | {b"bKGD", b"pHYs"}
)
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def without_metadata(data: bytes, fmt: str, orientation: int | None = None) -> bytes | None:
    """``data`` with no metadata, keeping only an EXIF orientation tag (so a worker can
    still turn the photo upright); None when it must be re-encoded from pixels instead."""
    if fmt in ("JPEG", "MPO"):
        return _jpeg(data, orientation)
    if fmt == "PNG" and not orientation:
        return _png(data)
    return None


def _jpeg(data: bytes, orientation: int | None) -> bytes | None:
    if data[:2] != b"\xff\xd8":
        return None
    out = [data[:2]]
    if orientation and orientation != 1:
        exif = Image.Exif()
        exif[ORIENTATION_TAG] = orientation
        payload = exif.tobytes()
        out.append(b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload)
    pos, size = 2, len(data)
    while pos + 1 < size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # a fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image: what follows (MPF frames, trailers) is dropped
            out.append(b"\xff\xd9")
            return b"".join(out)
        if pos + 4 > size or 0xD0 <= marker <= 0xD7 or marker in (0x00, 0x01, 0xD8):
            return None
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        end = pos + 2 + length
        if length < 2 or end > size:
            return None
        if marker == 0xDA:  # start of scan: its header, then entropy-coded data
            end = _scan_end(data, end)
            if end is None:
                return None
            out.append(data[pos:end])
        elif 0xE0 <= marker <= 0xEF:
            wanted = _JPEG_APPS.get(marker)
            if wanted and data[pos + 4 : pos + 4 + len(wanted)] == wanted:
                out.append(data[pos:end])
        elif marker != 0xFE:  # not a comment: tables, frame headers, restart interval
            out.append(data[pos:end])
        pos = end
    return None  # no end of image: the file is incomplete


def _scan_end(data: bytes, pos: int) -> int | None:
    """Where the entropy-coded data starting at ``pos`` ends: at the first marker that is
    neither a stuffed 0xFF00, a restart marker, nor a fill byte."""
    size = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= size:
            return None
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            pos += 2
        elif following == 0xFF:
            pos += 1
        else:
            return pos


def _png(data: bytes) -> bytes | None:
    if not data.startswith(_PNG_SIGNATURE):
        return None
    out = [_PNG_SIGNATURE]
    pos = len(_PNG_SIGNATURE)
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return None
        if kind in _PNG_CHUNKS:
            out.append(data[pos:end])
        if kind == b"IEND":
            return b"".join(out)
        pos = end
    return None
