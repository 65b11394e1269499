"""4. Lost callbacks: every callback dropped, a 30-second generation.

Ours: 20 try-ons submitted at once through the worker with the shipped defaults
(``POLL_FIRST_AFTER_SECONDS`` 15, ``POLL_INTERVAL_SECONDS`` 3, ``REAP_INTERVAL_SECONDS``
2), while the sandbox drops every callback (``callbacks_drop``), so only the reaper's
polls can notice that a task finished. Delay: from the provider's end of the task
(sandbox task data) to our ``completed_at`` (result downloaded and stored). Provider
GETs per task: the sandbox's own records of task queries, per task.

Baseline, same run, same window, same sandbox: 20 naive pollers in the runner, each
creating its task directly and polling it every ``POLL_INTERVAL_SECONDS`` from creation
on (what the providers' docs suggest), each with a random phase in [0, interval) since
real generation times vary (a 30 s task polled every 3 s from creation would otherwise be
seen the instant it ends), its delay measured to the answer that said "succeed".

Goal: p95 delay at most 5 s with at most 12 GETs per task.
"""

from __future__ import annotations

import base64
import random
import threading
import time

import httpx
import jwt

from kit.processes import wait_until
from kit.stats import percentile

from .fixtures import make_garment, shopper_tryon
from .harness import BenchEnv, Result, Row

NAME = "lost-callbacks"
TITLE = "4. Lost callbacks"
GENERATION_SECONDS = 30.0


def run(env: BenchEnv, quick: bool) -> Result:
    from django_tryon import images
    from django_tryon.conf import get_setting
    from django_tryon.models import TryOnRequest
    from django_tryon.status import TERMINAL

    from . import imagegen

    count = 10 if quick else 20
    interval = float(get_setting("POLL_INTERVAL_SECONDS"))
    result = Result(
        NAME,
        TITLE,
        baseline=f"naive clients polling each task every {interval:g} s from creation, same window",
    )
    env.clear_requests()
    env.purge_broker()
    env.sandbox.fresh(generation_seconds=GENERATION_SECONDS)
    env.sandbox.call("set_faults", callbacks_drop=True)
    garment = make_garment()
    person = imagegen.person(512, 768)
    human = images.prepare_for_provider(person).data
    with garment.image.open("rb") as fh:
        cloth = images.prepare_for_provider(fh.read()).data

    naive: list[dict] = []
    with env.worker(concurrency=4):
        ids = [str(shopper_tryon(garment, person, f"bench-lost:{i}")[0].pk) for i in range(count)]
        rng = random.Random(4)
        threads = [
            threading.Thread(
                target=_naive_poller,
                args=(env, human, cloth, interval, rng.uniform(0, interval), naive),
            )
            for _ in range(count)
        ]
        for t in threads:
            t.start()
        wait_until(
            lambda: TryOnRequest.objects.filter(pk__in=ids, status__in=TERMINAL).count() == count,
            timeout=GENERATION_SECONDS + 90,
            interval=0.2,
            what="every try-on to finish",
        )
        for t in threads:
            t.join(60)
    env.sandbox.call("clear_faults")

    summary = env.sandbox.call("summary")
    tasks = {t["task_id"]: t for t in summary["tasks"]}
    rows = {
        str(r["pk"]): r
        for r in TryOnRequest.objects.filter(pk__in=ids).values(
            "pk", "status", "provider_task_id", "completed_at", "error_code", "error_detail"
        )
    }
    delays, gets = [], []
    for pk, row in rows.items():
        task = tasks.get(row["provider_task_id"])
        if task is None:  # never reached the provider: counted below as not succeeded
            continue
        delays.append(row["completed_at"].timestamp() - task["ended"])
        gets.append(
            sum(
                1
                for r in summary["requests"]
                if r["kind"] == "query" and r["path"].rsplit("/", 1)[-1] in (pk, task["task_id"])
            )
        )
    succeeded = sum(1 for r in rows.values() if r["status"] == "succeeded")
    p95 = percentile(delays, 95)
    naive_delays = [n["seen"] - tasks[n["task_id"]]["ended"] for n in naive]
    naive_gets = [n["gets"] for n in naive]
    max_gets = max(gets)
    failures = [
        f"{r['status']}: {r['error_code']} {r['error_detail'][:200]}"
        for r in rows.values()
        if r["status"] != "succeeded"
    ]
    result.rows += [
        Row(
            "try-ons succeeded",
            succeeded,
            count,
            "",
            "all",
            not failures,
            digits=0,
            why="; ".join(failures),
        ),
        Row("delay to notice, p50", percentile(delays, 50), percentile(naive_delays, 50), "s", "-"),
        Row(
            "delay to notice, p95",
            p95,
            percentile(naive_delays, 95),
            "s",
            "<= 5 s",
            p95 <= 5 and max_gets <= 12,
            why="with callbacks lost, polls come every POLL_INTERVAL_SECONDS rounded up to "
            "the reaper's REAP_INTERVAL_SECONDS",
        ),
        Row(
            "provider GETs per task (mean)",
            sum(gets) / len(gets),
            sum(naive_gets) / len(naive_gets),
            "",
            "<= 12",
            max_gets <= 12,
        ),
    ]
    result.notes += [
        f"{count} try-ons with {GENERATION_SECONDS:g} s generations, every callback dropped "
        f"({summary['dropped']} dropped); {succeeded}/{count} succeeded",
        f"our GETs per task: min {min(gets)}, max {max_gets}; delay max {max(delays):.1f} s "
        "(includes downloading and storing the result)",
        "settings: POLL_FIRST_AFTER_SECONDS {}, POLL_INTERVAL_SECONDS {}, "
        "REAP_INTERVAL_SECONDS {}".format(
            get_setting("POLL_FIRST_AFTER_SECONDS"),
            get_setting("POLL_INTERVAL_SECONDS"),
            get_setting("REAP_INTERVAL_SECONDS"),
        ),
    ]
    result.details = {"delays_s": delays, "gets": gets, "naive": naive}
    return result


def _naive_poller(
    env: BenchEnv, human: bytes, cloth: bytes, interval: float, phase: float, out: list
) -> None:
    url = f"{env.sandbox.url}/v1/images/kolors-virtual-try-on"
    now = int(time.time())
    token = jwt.encode(
        {"iss": "sandbox-access-key", "exp": now + 1800, "nbf": now - 5},
        "sandbox-secret-key-0123456789abcdef",
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "model_name": "kolors-virtual-try-on-v1-5",
        "human_image": base64.b64encode(human).decode(),
        "cloth_image": base64.b64encode(cloth).decode(),
    }
    with httpx.Client(trust_env=False, timeout=30) as client:
        task_id = client.post(url, json=body, headers=headers).json()["data"]["task_id"]
        gets = 0
        time.sleep(phase)
        while True:
            time.sleep(interval)
            data = client.get(f"{url}/{task_id}", headers=headers).json()["data"]
            gets += 1
            if data["task_status"] in ("succeed", "failed"):
                seen = time.time()
                break
    out.append({"task_id": task_id, "seen": seen, "gets": gets})
