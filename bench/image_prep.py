"""5. Image preparation: a 24-megapixel phone JPEG made provider-ready.

Ours: ``django_tryon.images.prepare_for_provider`` (what the worker runs on every person
photo and garment before paying): lazy open with the checks, JPEG DCT-scaled decoding
(``Image.draft``) close to the target size, EXIF orientation, a final resize to a long
side of 2048 px, and a re-encode from pixels that keeps no metadata, at most 10 MB.

Baseline: the naive way, in the same process and run, alternating with ours: decode the
full 24 MP image (``Image.open`` + ``load``), ``ImageOps.exif_transpose``, convert to RGB,
one Lanczos resize to the same size, JPEG quality 90 without metadata.

Time is the median of alternating runs in the runner. Peak memory is measured in a fresh
subprocess per variant: the rise of the resident set's high-water mark (VmHWM, reset
through ``/proc/self/clear_refs``) over the resident set just before the call, with the
input bytes already in memory. Both outputs are checked: JPEG, at most 10 MB, long side
2048, no EXIF, GPS, ICC profile or comment.

Goal: at least 3x faster and at most a third of the memory.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image, ImageOps

from kit.stats import median

from .harness import ROOT, BenchEnv, Result, Row

NAME = "images"
TITLE = "5. Image preparation (24 MP JPEG)"
WIDTH, HEIGHT = 6000, 4000
MAX_SIDE = 2048
MAX_BYTES = 10 * 1024 * 1024


def naive_prepare(data: bytes) -> bytes:
    """The baseline: full decode, transpose, one Lanczos resize, JPEG without metadata."""
    im = Image.open(io.BytesIO(data))
    im.load()
    im = ImageOps.exif_transpose(im).convert("RGB")
    scale = min(MAX_SIDE / im.width, MAX_SIDE / im.height, 1.0)
    im = im.resize((round(im.width * scale), round(im.height * scale)), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90, exif=b"", icc_profile=None)
    return buf.getvalue()


def ours_prepare(data: bytes) -> bytes:
    from django_tryon import images

    return images.prepare_for_provider(data).data


VARIANTS = {"ours": ours_prepare, "naive": naive_prepare}


def check_output(data: bytes) -> list[str]:
    """What is wrong with a provider-ready image (nothing, ideally)."""
    problems = []
    if len(data) > MAX_BYTES:
        problems.append(f"{len(data)} bytes > 10 MB")
    with Image.open(io.BytesIO(data)) as im:
        if im.format != "JPEG":
            problems.append(f"format {im.format}")
        if max(im.size) > MAX_SIDE or min(im.size) < 300:
            problems.append(f"size {im.size}")
        if len(im.getexif()) or im.info.get("exif"):
            problems.append("EXIF kept")
        for key in ("icc_profile", "comment", "xmp"):
            if im.info.get(key):
                problems.append(f"{key} kept")
    return problems


def run(env: BenchEnv, quick: bool) -> Result:
    from . import imagegen

    result = Result(NAME, TITLE, baseline="naive full decode + Lanczos resize, same run")
    data = imagegen.phone_photo(WIDTH, HEIGHT, quality=88)
    path = env.work / "photo-24mp.jpg"
    path.write_bytes(data)

    rounds = 3 if quick else 7
    times: dict[str, list[float]] = {"ours": [], "naive": []}
    outputs: dict[str, bytes] = {}
    for _ in range(rounds):
        for name, func in VARIANTS.items():
            started = time.perf_counter()
            outputs[name] = func(data)
            times[name].append(time.perf_counter() - started)
    peaks = {name: min(_peak_rss(env, name, path) for _ in range(2)) for name in VARIANTS}

    ours_ms, naive_ms = median(times["ours"]) * 1000, median(times["naive"]) * 1000
    result.rows.append(
        Row(
            "time to provider-ready (median)",
            ours_ms,
            naive_ms,
            "ms",
            "ratio <= 0.33 (3x faster)",
            ours_ms / naive_ms <= 1 / 3,
            digits=0,
        )
    )
    ours_mb, naive_mb = peaks["ours"] / 2**20, peaks["naive"] / 2**20
    result.rows.append(
        Row(
            "peak memory above the input bytes",
            ours_mb,
            naive_mb,
            "MB",
            "ratio <= 0.33",
            ours_mb / naive_mb <= 1 / 3,
        )
    )
    for name, output in outputs.items():
        problems = check_output(output)
        with Image.open(io.BytesIO(output)) as im:
            size = im.size
        result.notes.append(
            f"{name}: {len(output) / 2**20:.2f} MB JPEG {size[0]}x{size[1]}, "
            + (
                "provider-ready, no metadata"
                if not problems
                else "PROBLEMS: " + "; ".join(problems)
            )
        )
        if problems and name == "ours":
            result.rows[0].met = False
    result.notes.insert(
        0,
        f"input: {WIDTH}x{HEIGHT} JPEG, {len(data) / 2**20:.1f} MB, with EXIF and GPS; "
        f"{rounds} alternating rounds",
    )
    result.details = {"times_s": times, "peak_bytes": peaks, "input_bytes": len(data)}
    return result


def _peak_rss(env: BenchEnv, variant: str, path: Path) -> int:
    """Peak resident-set rise of one call in a fresh process, in bytes."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.image_prep", variant, str(path)],
        cwd=ROOT,
        env=env.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["peak_rise"]


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def _probe(variant: str, path: str) -> None:
    import django

    django.setup()
    func = VARIANTS[variant]
    data = Path(path).read_bytes()
    func(data[:0] or _tiny_jpeg())  # import and warm every code path on a small image
    before = _status_kb("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    func(data)
    print(json.dumps({"peak_rise": _status_kb("VmHWM") - before}))


def _tiny_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 20, 30)).save(buf, "JPEG")
    return buf.getvalue()


if __name__ == "__main__":
    _probe(sys.argv[1], sys.argv[2])
