"""Decoding an untrusted photo in a child process, under a memory cap the parent sets.

A few kilobytes of AVIF, HEIC or WebP can describe tens of megapixels, and a container
header can understate what its coded image holds (an AVIF whose ``ispe`` box says 640 x
800 around a 9000 x 9000 picture). Decoding such a file in a web process costs that
process hundreds of megabytes, or its life. So the web process never decodes an upload:
a child does (``python -m django_tryon.images.isolated``), with its address space capped
(``RLIMIT_AS``) at a budget computed from what the header claims, and its CPU time
capped too. A file whose decode needs more than its header admits fails in the child
and is refused as damaged; the web process holds only the upload and the small JPEG
that comes back. At most ``CHILDREN`` such children run at once per process.

The protocol: the limits as JSON in ``argv[1]``, the image on stdin; on success the
child writes one JSON line (width, height) and then the JPEG; an image it refuses is
exit code 3 with the ``ImageError`` as JSON; anything else is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from .opening import ImageError, ImageInfo, setting_or_default
from .preparing import PreparedImage

#: Address space a child needs before it decodes anything: the interpreter, Pillow,
#: libavif/dav1d and libheif mapped, their threads' stacks (measured: about 60 MB; the
#: rest is room for a decoder's fixed tables).
BASE_BYTES = 192 * 1024 * 1024
#: Per pixel the header declares: the decoder's own planes (up to 16-bit 4:4:4, 6 bytes),
#: Pillow's RGB(A) copy (4) and the resized copy's share. Measured peaks: WebP 15.6,
#: AVIF 9, HEIC 9 bytes a pixel; a file that needs more than this is lying about its size.
BYTES_PER_PIXEL = 24
#: Children decoding at once in one process: each may use up to its budget.
CHILDREN = 2
#: Wall-clock seconds a child may take (its CPU time is capped the same).
TIMEOUT_SECONDS = 60

_slots = threading.BoundedSemaphore(CHILDREN)
_REFUSED = 3


def prepare_isolated(
    data: bytes,
    info: ImageInfo,
    *,
    max_side: int | None = None,
    max_bytes: int | None = None,
    min_side: int | None = None,
    max_pixels: int | None = None,
) -> PreparedImage:
    """``prepare_for_provider(data)``, decoded in a child whose memory is capped by what
    ``info`` (the header, already checked) says the image holds. Raises ``ImageError``."""
    limits = {
        "op": "prepare",
        "max_side": setting_or_default(max_side, "MAX_PROVIDER_SIDE"),
        "max_bytes": setting_or_default(max_bytes, "MAX_PROVIDER_BYTES"),
        "min_side": setting_or_default(min_side, "MIN_IMAGE_SIDE"),
        "max_pixels": setting_or_default(max_pixels, "MAX_IMAGE_PIXELS"),
        "max_input_bytes": len(data),
    }
    return _in_child(data, info, limits)


def thumbnail_isolated(data: bytes, size: tuple[int, int]) -> bytes:
    """``thumbnail_bytes(data, size)`` for a file that may need a full decode (anything
    but a JPEG, which decodes scaled down): in a child, capped like ``prepare_isolated``."""
    from .opening import inspect_image

    info = inspect_image(data, max_bytes=len(data), min_side=1)
    limits = {
        "op": "thumbnail",
        "size": list(size),
        "max_pixels": info.width * info.height,
        "max_input_bytes": len(data),
    }
    return _in_child(data, info, limits).data


def _in_child(data: bytes, info: ImageInfo, limits: dict) -> PreparedImage:
    limits["memory"] = budget(info.width * info.height)
    with _slots:
        try:
            done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
                [sys.executable, "-m", __name__, json.dumps(limits)],
                input=bytes(data),
                capture_output=True,
                timeout=TIMEOUT_SECONDS,
                env=_child_environment(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _too_slow() from None
    if done.returncode == _REFUSED:
        refusal = json.loads(done.stdout)
        raise ImageError(refusal["code"], refusal["message"])
    if done.returncode != 0 or b"\n" not in done.stdout:
        # Killed for its memory or CPU time, or a decoder crash: the file cannot be read
        # within what its header admits.
        raise _unreadable()
    head, _, jpeg = done.stdout.partition(b"\n")
    size = json.loads(head)
    return PreparedImage(jpeg, "image/jpeg", size["width"], size["height"])


def budget(pixels: int) -> int:
    """The address space a child may use to decode an image of ``pixels`` pixels."""
    return BASE_BYTES + max(pixels, 0) * BYTES_PER_PIXEL


def _child_environment() -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "LANG", "LC_ALL", "TMPDIR", "HOME", "SYSTEMROOT")
    }
    # The child imports this package as the parent does, and keeps glibc from reserving
    # a 64 MB arena per decoder thread (each counts against the address-space cap).
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["MALLOC_ARENA_MAX"] = "1"
    return env


def _unreadable() -> ImageError:
    return ImageError(
        "truncated",
        "This image file is damaged or larger than it says. Please upload it again or "
        "choose another photo.",
    )


def _too_slow() -> ImageError:
    return ImageError(
        "too_many_pixels",
        "This image takes too long to read. Please upload a smaller version.",
    )


def _child(argv: list[str]) -> int:
    import resource

    limits = json.loads(argv[1])
    resource.setrlimit(resource.RLIMIT_AS, (limits["memory"], limits["memory"]))
    resource.setrlimit(resource.RLIMIT_CPU, (TIMEOUT_SECONDS, TIMEOUT_SECONDS))
    from .preparing import prepare_for_provider, thumbnail_bytes

    data = sys.stdin.buffer.read()
    try:
        if limits["op"] == "thumbnail":
            jpeg = thumbnail_bytes(
                data,
                tuple(limits["size"]),
                max_pixels=limits["max_pixels"],
                max_input_bytes=limits["max_input_bytes"],
            )
            prepared = PreparedImage(jpeg, "image/jpeg", 0, 0)  # the caller keeps bytes only
        else:
            prepared = prepare_for_provider(
                data,
                max_side=limits["max_side"],
                max_bytes=limits["max_bytes"],
                min_side=limits["min_side"],
                max_pixels=limits["max_pixels"],
                max_input_bytes=limits["max_input_bytes"],
            )
    except ImageError as exc:
        sys.stdout.write(json.dumps({"code": exc.code, "message": exc.message}))
        return _REFUSED
    out = sys.stdout.buffer
    out.write(json.dumps({"width": prepared.width, "height": prepared.height}).encode() + b"\n")
    out.write(prepared.data)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv))
