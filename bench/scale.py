"""6. Scale: the API's list and the admin changelist at 100 and at 10,000 requests.

Ours: ``GET /tryon/api/requests/`` (first page, as a token client owning every request)
and ``GET /admin/django_tryon/tryonrequest/`` (first page, as a superuser with a
session), over real HTTP to the shop's web server, first with 100 try-on requests in the
database, then with 10,000 (each succeeded, with one result row). Latency is the
client's median over alternating calls; queries per page come from the web server's
middleware.

Baseline: the same page with 100 requests, same run. Goal: the same number of queries
whatever the table size, and at most 1.5x the latency.
"""

from __future__ import annotations

import time
from datetime import timedelta

import httpx

from kit.stats import percentile

from .fixtures import make_garment
from .harness import BenchEnv, Result, Row

NAME = "scale"
TITLE = "6. Scale"
SIZES = (100, 10_000)
WARMUP = 2

PAGES = {
    "API list": "/tryon/api/requests/",
    "admin changelist": "/admin/django_tryon/tryonrequest/",
}


def run(env: BenchEnv, quick: bool) -> Result:
    from django.contrib.auth import get_user_model
    from django.test import Client
    from rest_framework.authtoken.models import Token

    samples = 5 if quick else 15
    sizes = (100, 2_000) if quick else SIZES
    result = Result(NAME, TITLE, baseline=f"the same page with {sizes[0]} requests, same run")
    env.clear_requests()
    env.purge_broker()
    garment = make_garment()
    users = get_user_model().objects
    shopper, _ = users.get_or_create(username="bench-api")
    token, _ = Token.objects.get_or_create(user=shopper)
    admin = users.filter(username="bench-admin").first() or users.create_superuser(
        "bench-admin", "admin@example.com", "bench-admin-password"
    )
    session = Client()
    session.force_login(admin)  # a session row in the shared database
    cookies = {"sessionid": session.cookies["sessionid"].value}
    headers = {"api": {"Authorization": f"Token {token.key}"}, "admin": {}}

    measured: dict[tuple[str, int], dict] = {}
    with httpx.Client(trust_env=False, timeout=60, cookies=cookies) as client:
        for size in sizes:
            _fill(garment, shopper, size)
            mark = env.log_mark()
            times = {page: [] for page in PAGES}
            for i in range(samples + WARMUP):
                for page, path in PAGES.items():
                    kind = "api" if page.startswith("API") else "admin"
                    started = time.perf_counter()
                    response = client.get(env.web.url + path, headers=headers[kind])
                    elapsed = time.perf_counter() - started
                    if response.status_code != 200:
                        result.skipped = f"{page} answered {response.status_code}"
                        return result
                    if i >= WARMUP:
                        times[page].append(elapsed)
            lines = sorted(env.web_lines(mark), key=lambda line: line["time"])
            for page in PAGES:
                kind = "api" if page.startswith("API") else "admin"
                mine = [line for line in lines if line["kind"] == kind][WARMUP:]
                measured[(page, size)] = {
                    "p50": percentile(times[page], 50),
                    "queries": sorted({line["queries"] for line in mine}),
                    "server": percentile([line["wall"] for line in mine], 50),
                }

    small, large = sizes
    for page in PAGES:
        a, b = measured[(page, small)], measured[(page, large)]
        same = a["queries"] == b["queries"] and len(a["queries"]) == 1
        result.rows += [
            Row(
                f"{page}: p50 at {large:,}",
                b["p50"] * 1000,
                a["p50"] * 1000,
                "ms",
                "ratio <= 1.5",
                b["p50"] / a["p50"] <= 1.5,
                digits=0,
            ),
            Row(
                f"{page}: queries at {large:,}",
                b["queries"][-1],
                a["queries"][-1],
                "",
                "identical",
                same,
                digits=0,
            ),
        ]
        result.notes.append(
            f"{page}: queries per call {a['queries']} at {small:,}, {b['queries']} at {large:,};"
            f" server time {a['server'] * 1000:.0f} / {b['server'] * 1000:.0f} ms (medians)"
        )
    result.notes.insert(0, f"{samples} calls per page and size after {WARMUP} warm-ups")
    result.details = {f"{page}@{size}": value for (page, size), value in measured.items()}
    env.clear_requests()
    return result


def _fill(garment, owner, size: int) -> None:
    """Top the table up to ``size`` succeeded requests of one shopper, one result each."""
    from django.utils import timezone

    from django_tryon import callers
    from django_tryon.models import Source, TryOnRequest, TryOnResult
    from django_tryon.status import Status

    have = TryOnRequest.objects.count()
    now = timezone.now()
    key = callers.owner_key_for(owner)
    for start in range(have, size, 2000):
        batch = [
            TryOnRequest(
                status=Status.SUCCEEDED,
                source=Source.API,
                provider="kling",
                provider_model="kolors-virtual-try-on-v1-5",
                provider_task_id=f"bench-{n}",
                garment=garment,
                input_digest=f"bench-{n}",
                owner=owner,
                owner_key=key,
                person_image=f"tryon/persons/bench-{n}.jpg",
                person_prepared=True,
                created_at=now - timedelta(seconds=n),
                submitted_at=now - timedelta(seconds=n),
                completed_at=now - timedelta(seconds=n) + timedelta(seconds=8),
                cost=1,
                cost_currency="units",
            )
            for n in range(start, min(size, start + 2000))
        ]
        TryOnRequest.objects.bulk_create(batch)
        TryOnResult.objects.bulk_create(
            TryOnResult(
                request=r, index=0, image=f"tryon/results/bench/{r.pk}.png", width=768, height=1024
            )
            for r in batch
        )
