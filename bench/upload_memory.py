"""9. The web process's memory for one create, by photo format, accepted or refused.

A few kilobytes of AVIF can describe 62 megapixels. Ours: ``POST /tryon/api/requests/``
on a web server of its own (the shop's settings with a shopper quota): JPEG and
PNG lose their metadata without being decoded; WebP, AVIF and HEIC are decoded by a
child process under a memory cap (``django_tryon.images.isolated``), and only for a
caller whose quota is not used up. Baseline, the same server and run: a view that
decodes and re-encodes the upload in the web process, as a create did before.

Measured: the rise of the server process's resident high-water mark (VmHWM, reset
through ``/proc/<pid>/clear_refs`` before each request) over its resident set just
before, one request at a time. Goals (issue 22): at most 64 MB over the upload's own
size for an accepted photo, under 5 MB for a refused one.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
from PIL import Image

from kit.processes import free_port

from .fixtures import make_garment
from .harness import BenchEnv, Result, Row, WebServer
from .imagegen import phone_photo

NAME = "upload_memory"
TITLE = "9. Web-process memory per create, by format"
MB = 1024 * 1024
ACCEPTED_GOAL_MB = 64
REFUSED_GOAL_MB = 5
#: The shopper quota on this benchmark's server: the "spent" shopper has used all of it.
LIMIT = 1000


def run(env: BenchEnv, quick: bool = False) -> Result:
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from django_tryon import quotas
    from django_tryon.callers import owner_key_for

    result = Result(NAME, TITLE, baseline="the same upload decoded in the web process (as before)")
    if not Path("/proc/self/clear_refs").exists():
        result.skipped = "no /proc/<pid>/clear_refs on this machine: peak memory cannot be reset"
        return result
    server = WebServer(free_port(), env.logs / "web-memory.log")
    server.start({**env.env, "BENCH_TRYON": json.dumps({"SHOPPER_DAILY_GENERATION_LIMIT": LIMIT})})
    try:
        garment = make_garment()
        users = get_user_model().objects
        tokens = {}
        for name in ("fresh", "spent"):
            user, _ = users.get_or_create(username=f"bench-memory-{name}")
            tokens[name] = Token.objects.get_or_create(user=user)[0].key
        spent = users.get(username="bench-memory-spent")
        quotas.reserve(quotas.Charge(LIMIT), owner_key=owner_key_for(spent), enforce_shopper=False)
        photos = _photos(quick)
        with httpx.Client(trust_env=False, timeout=120) as client:
            # Warm-ups, not measured: the first request of each kind imports and connects.
            # Both a stripped JPEG and a decoded WebP, so each path's imports are done.
            for url in (f"{server.url}/tryon/api/requests/", f"{server.url}/bench/decode/"):
                for warm in (phone_photo(640, 800), _encoded(phone_photo(700, 800), "WEBP")):
                    _rise(client, server, tokens["fresh"], garment, warm, url)
            for label, data in photos:
                ours = _rise(
                    client,
                    server,
                    tokens["fresh"],
                    garment,
                    data,
                    f"{server.url}/tryon/api/requests/",
                )
                base = _rise(
                    client, server, tokens["fresh"], garment, data, f"{server.url}/bench/decode/"
                )
                over = ours["rise"] - len(data) / MB
                result.rows.append(
                    Row(
                        f"{label}, accepted ({len(data) / 1e3:,.0f} KB)",
                        ours["rise"],
                        base["rise"],
                        "MB",
                        f"<= {ACCEPTED_GOAL_MB} MB over the upload",
                        ours["status"] in (200, 202) and over <= ACCEPTED_GOAL_MB,
                        why="" if ours["status"] in (200, 202) else f"answered {ours['status']}",
                    )
                )
            label, data = photos[-1]
            refused = _rise(
                client, server, tokens["spent"], garment, data, f"{server.url}/tryon/api/requests/"
            )
            base = _rise(
                client, server, tokens["spent"], garment, data, f"{server.url}/bench/decode/"
            )
            result.rows.append(
                Row(
                    f"{label}, refused: quota used up",
                    refused["rise"],
                    base["rise"],
                    "MB",
                    f"< {REFUSED_GOAL_MB} MB",
                    refused["status"] == 429 and refused["rise"] < REFUSED_GOAL_MB,
                    why="" if refused["status"] == 429 else f"answered {refused['status']}",
                )
            )
    finally:
        server.stop()
    result.notes.append(
        "one request at a time on a server of its own; the rise of VmHWM over VmRSS just before"
    )
    return result


def _photos(quick: bool) -> list[tuple[str, bytes]]:
    """A 12 MP phone photo in every accepted format, then the issue's flat 62 MP AVIF."""
    width, height = (2000, 1500) if quick else (4000, 3000)
    photo = Image.open(io.BytesIO(phone_photo(width, height, seed=9)))
    out = [(f"JPEG {width * height / 1e6:.0f} MP", phone_photo(width, height, seed=9))]
    for fmt, label, options in (
        ("PNG", "PNG", {}),
        ("WEBP", "WebP", {"quality": 85}),
        ("AVIF", "AVIF", {"quality": 60, "speed": 8}),
        ("HEIF", "HEIC", {"quality": 60}),
    ):
        if fmt == "HEIF":
            from django_tryon.images.formats import heif_readable

            if not heif_readable():
                continue
        buf = io.BytesIO()
        photo.save(buf, fmt, **options)
        out.append((f"{label} {width * height / 1e6:.0f} MP", buf.getvalue()))
    side = (4000, 4000) if quick else (7800, 7900)
    buf = io.BytesIO()
    Image.new("RGB", side, (150, 90, 60)).save(buf, "AVIF", quality=30, speed=10)
    out.append((f"AVIF {side[0] * side[1] / 1e6:.0f} MP (flat)", buf.getvalue()))
    return out


def _encoded(jpeg: bytes, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    Image.open(io.BytesIO(jpeg)).save(buf, fmt, **options)
    return buf.getvalue()


def _rise(client, server, token, garment, data, url) -> dict:
    pid = server.proc.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = _status(pid)["VmRSS"]
    response = client.post(
        url,
        headers={"Authorization": f"Token {token}"},
        data={"garment": str(garment.pk), "consent": "true"},
        files={"person_image": ("photo", data, "application/octet-stream")},
    )
    peak = _status(pid)["VmHWM"]
    return {"rise": max(peak - before, 0) / 1024, "status": response.status_code}


def _status(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])  # kB
    return fields
