"""3. Callback to stored result: from the provider's success callback to the result row.

Ours: one try-on at a time (no queueing behind other work). The sandbox finishes the task
and sends its success callback to the shop's web server; the callback view checks the
token and queues a refresh; the worker fetches the task from the provider, downloads the
result (a 2 MB PNG: a 900x1200 person photo), checks it with a full decode, saves it to
storage, inserts the result row and marks the request succeeded. Measured from the moment
the sandbox starts POSTing the success callback (recorded in the sandbox process) to the
request's ``completed_at`` (set in the same UPDATE that marks it succeeded, after the
result row is inserted). Same machine, same clock.

So that only our side is timed, the sandbox delays its callbacks by 0.8 s and renders
each result image as soon as the task succeeds, before the callback goes out (rendering
the simulated result is the provider's work, not ours).

Baseline, same run, right after each sample: the bare transfer of the same result: GET
the same 2 MB image from the sandbox, save it to the same storage, INSERT one result row,
in the runner (no callback, no queue, no fetch, no checks).

Goal: p95 at most 300 ms on this machine.
"""

from __future__ import annotations

import time

import httpx

from kit.processes import wait_until
from kit.stats import percentile

from .fixtures import make_garment, shopper_tryon
from .harness import BenchEnv, Result, Row

NAME = "callback"
TITLE = "3. Callback to stored result"
GENERATION_SECONDS = 0.3
CALLBACK_DELAY_SECONDS = 0.8
PERSON = (900, 1200, 0.3)  # makes a ~2 MB result PNG


def run(env: BenchEnv, quick: bool) -> Result:
    from django.core.files.base import ContentFile

    from django_tryon.models import TryOnRequest, TryOnResult, result_upload_to, tryon_storage

    from . import imagegen

    samples = 6 if quick else 20
    result = Result(
        NAME,
        TITLE,
        baseline="GET the same result image + storage save + one INSERT, in the runner",
    )
    env.clear_requests()
    env.purge_broker()
    env.sandbox.fresh(generation_seconds=GENERATION_SECONDS)
    env.sandbox.call("set_faults", callbacks_delay_seconds=CALLBACK_DELAY_SECONDS)
    env.sandbox.call("prerender", on=True)
    garment = make_garment()
    width, height, grain = PERSON
    person = imagegen.person(width, height, grain=grain)
    storage = tryon_storage()

    ours: list[float] = []
    bare: list[float] = []
    stages: list[dict] = []
    sizes: list[int] = []
    with env.worker(concurrency=4), httpx.Client(trust_env=False, timeout=30) as client:
        for i in range(samples):
            mark = env.log_mark()
            request, _ = shopper_tryon(garment, person, f"bench-callback:{i}")
            wait_until(
                lambda pk=request.pk: (
                    TryOnRequest.objects.filter(pk=pk)
                    .exclude(status__in=["pending", "submitting", "submitted", "processing"])
                    .exists()
                ),
                timeout=30,
                interval=0.01,
                what="the try-on to finish",
            )
            request.refresh_from_db()
            if request.status != "succeeded":
                raise RuntimeError(f"try-on {request.pk} {request.status}: {request.error_detail}")
            summary = env.sandbox.call("summary")
            started = next(
                c["started"]
                for c in summary["callbacks"]
                if c["task_id"] == request.provider_task_id and c["task_status"] == "succeed"
            )
            ours.append(request.completed_at.timestamp() - started)
            row = request.results.get()
            sizes.append(storage.size(row.image.name))
            time.sleep(0.2)  # let the worker and web lines land
            stages.append(_stages(env, mark, str(request.pk), started))

            # The baseline: the same bytes, fetched and stored with nothing else around.
            url = f"{env.sandbox.url}/_sandbox/results/{request.provider_task_id}/0.png"
            began = time.perf_counter()
            data = client.get(url).content
            name = storage.save(result_upload_to(None, "result.png"), ContentFile(data))
            TryOnResult.objects.create(request=request, index=1, image=name)
            bare.append(time.perf_counter() - began)
    env.sandbox.call("clear_faults")
    env.sandbox.call("prerender", on=False)

    p50, p95 = percentile(ours, 50) * 1000, percentile(ours, 95) * 1000
    b50, b95 = percentile(bare, 50) * 1000, percentile(bare, 95) * 1000
    result.rows += [
        Row("callback -> stored, p50", p50, b50, "ms", "-", None, digits=0),
        Row("callback -> stored, p95", p95, b95, "ms", "<= 300 ms", p95 <= 300, digits=0),
    ]
    mean = {k: sum(s[k] for s in stages) / len(stages) * 1000 for k in stages[0]}
    result.notes += [
        f"{samples} try-ons one after another; result images {min(sizes) / 1e6:.2f}-"
        f"{max(sizes) / 1e6:.2f} MB PNG",
        "where the time goes (means): callback view {view:.0f} ms, queue to worker "
        "{queue:.0f} ms, refresh task {task:.0f} ms (fetch, download, check, store)".format(**mean),
    ]
    result.details = {"ours_s": ours, "baseline_s": bare, "stages_s": stages, "sizes": sizes}
    return result


def _stages(env: BenchEnv, mark: float, request_id: str, started: float) -> dict:
    """Callback view time, wait for a worker thread, and the refresh task's own time."""
    callbacks = [
        line
        for line in env.web_lines(mark)
        if line["kind"] == "callback" and line["time"] >= started
    ]
    refresh = [
        line
        for line in env.worker_lines(mark)
        if line.get("id") == request_id and line["task"] == "django_tryon.refresh"
    ]
    view = callbacks[0]["wall"] if callbacks else float("nan")
    task = refresh[-1]["wall"] if refresh else float("nan")
    task_start = refresh[-1]["time"] - task if refresh else float("nan")
    queue = task_start - started - view
    return {"view": view, "queue": queue, "task": task}
