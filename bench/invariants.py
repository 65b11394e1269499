"""What the chaos run counts once everything has ended: the money invariants.

Each row is one promise of the README, counted from the sandbox's own log (what the
provider created, finished and served) and from the shop's database and storage.
"""

from __future__ import annotations

import json
import zlib
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

#: Codes that mean "our clock gave up": never allowed on a request the provider holds.
OUR_CLOCK = {"deadline", "provider_expired"}


def check(env, run) -> list[dict]:
    from django.conf import settings
    from django.db.models import Count

    from django_tryon.models import TryOnRequest, TryOnResult
    from django_tryon.status import TERMINAL

    summary = env.sandbox.call("summary")
    requests = {str(r.pk): r for r in TryOnRequest.objects.annotate(stored=Count("results"))}
    owner_of = _task_owners(summary["tasks"])
    tasks_of: dict[str, list[dict]] = defaultdict(list)
    strangers = []
    for task in summary["tasks"]:
        owner = owner_of.get(task["task_id"])
        (tasks_of[owner].append(task) if owner in requests else strangers.append(task))

    rows = []
    active = [pk for pk, r in requests.items() if r.status not in TERMINAL]
    rows.append(_row("every request is in a final state", not active, f"{len(active)} active"))

    twice = {pk: len(t) for pk, t in tasks_of.items() if len(t) > 1}
    reached = len(tasks_of)
    rows.append(
        _row(
            "one provider task per request that reached the provider",
            not twice and not strangers,
            f"{reached} reached it; {len(twice)} with more than one task; "
            f"{len(strangers)} tasks of no request"
            + (f" ({dict(Counter(t['provider'] for t in strangers))})" if strangers else ""),
        )
    )

    lost_answers, missing, clock_failed = [], [], []
    for pk, tasks in tasks_of.items():
        request, task = requests[pk], tasks[0]
        if not request.provider_task_id and request.error_code == "submit_unknown":
            lost_answers.append(pk)  # the honest exception: counted and printed below
            continue
        if request.error_code in OUR_CLOCK:
            clock_failed.append(pk)
        if task["state"] == "succeeded" and not (
            request.status == "succeeded" and request.stored == task["batch_size"]
        ):
            missing.append(
                f"{pk} ({request.provider}: {request.status} {request.error_code}, "
                f"{request.stored} stored, {request.attempts} attempts)"
            )
    rows.append(
        _row(
            "every finished provider task has all its images stored, once",
            not missing,
            f"{sum(t[0]['state'] == 'succeeded' for t in tasks_of.values())} finished; "
            f"{len(missing)} not stored" + (f": {', '.join(missing[:5])}" if missing else ""),
        )
    )
    rows.append(
        _row(
            "no request at the provider failed by our own clock",
            not clock_failed,
            f"{len(clock_failed)} failed so"
            + (
                f"; {len(lost_answers)} create answers lost with no webhook to name "
                f"their task (PiAPI, FASHN, Model Studio): {', '.join(lost_answers)}"
                if lost_answers
                else ""
            ),
        )
    )

    rows.append(_counters_row(requests.values()))
    # What a crash left between a save and its row (a worker killed after switching a
    # photo to its re-encoding, before deleting the upload) is the purge's to delete, an
    # hour later: run that sweep as it would then, and say how much it found.
    from django.utils import timezone

    from django_tryon import files

    swept = files.sweep(now=timezone.now() + files.SAVE_GRACE)
    rows.append(
        _storage_row(Path(settings.MEDIA_ROOT), requests.values(), TryOnResult, swept=swept)
    )
    duplicates = (
        TryOnResult.objects.values("request", "index").annotate(n=Count("id")).filter(n__gt=1)
    )
    rows.append(_row("no image stored twice", not duplicates.exists(), ""))
    _note_outcomes(rows, requests.values(), summary, run)
    return rows


def _task_owners(tasks: list[dict]) -> dict[str, str]:
    """Task id -> our request id: Kling carries it as external_task_id; a PiAPI or FASHN
    task is named by the callback token in its webhook URL (only its hash is stored); a
    Model Studio task, which has neither, by the signed link to its person photo (signed
    with the request's id)."""
    from django_tryon import links

    owners = {}
    for task in tasks:
        if task.get("external_task_id"):
            owners[task["task_id"]] = task["external_task_id"]
        elif task.get("callback_url"):
            token = urlsplit(task["callback_url"]).path.rstrip("/").rsplit("/", 1)[-1]
            request = links.request_for_callback_token(token)
            if request is not None:
                owners[task["task_id"]] = str(request.pk)
        elif owner := _owner_of_inputs(task):
            owners[task["task_id"]] = owner
    return owners


def _owner_of_inputs(task: dict) -> str | None:
    """The request id inside the signed person-photo link a task was created with. Read
    without checking the signature: the run rotates SECRET_KEY, and a link the worker
    signed with the new key is still this run's own (Django's ``value:time:signature``,
    the value base64 JSON, zlib-compressed when it starts with a dot)."""
    from django.core import signing

    given = (task.get("request") or {}).get("input") or {}
    url = given.get("person_image_url") or given.get("model_input")
    if not isinstance(url, str):
        return None
    data = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 2)[0]
    try:
        raw = signing.b64_decode(data.lstrip(".").encode())
        payload = json.loads(zlib.decompress(raw) if data.startswith(".") else raw)
    except (ValueError, zlib.error):
        return None
    return str(payload[1]) if isinstance(payload, list) and len(payload) > 1 else None


def _released(request) -> bool:
    """Given its reservation back: never reached the provider, by our own record."""
    return (
        request.submitted_at is None
        and request.status in ("failed", "cancelled")
        and request.error_code != "submit_unknown"
    )


def _counters_row(requests) -> dict:
    from django_tryon.models import UsageCounter

    generations, spend = 0, defaultdict(Decimal)
    for r in requests:
        if _released(r):
            continue
        generations += r.batch_size
        settled = r.cost is not None and r.cost_currency == r.reserved_currency
        charged = r.cost if settled else r.reserved_amount
        spend[r.reserved_currency] += charged
        if r.unit_price is not None and r.shop_currency not in ("", r.reserved_currency):
            # Counted again, converted, in the shop's currency (each request rounded).
            spend[r.shop_currency] += (charged * r.unit_price).quantize(Decimal("0.0001"))
    counted = sum(
        UsageCounter.objects.filter(scope="shop", period__startswith="day:").values_list(
            "generations", flat=True
        )
    )
    counted_spend = {
        currency: sum(
            UsageCounter.objects.filter(
                scope=f"shop:{currency}", period__startswith="day:"
            ).values_list("spend", flat=True),
            Decimal("0"),
        )
        for currency in spend
        if currency
    }
    ok = counted == generations and all(
        abs(counted_spend[c] - spend[c]) < Decimal("0.0001") for c in counted_spend
    )
    detail = f"generations {counted} counted, {generations} charged; " + ", ".join(
        f"{c}: {counted_spend[c]} counted, {spend[c]} charged" for c in sorted(counted_spend)
    )
    return _row("usage counters equal the charges recorded on the requests", ok, detail)


def _storage_row(media: Path, requests, result_model, *, swept: int = 0) -> dict:
    referenced = {r.image.name for r in result_model.objects.all()}
    referenced |= {r.person_image.name for r in requests if r.person_image}
    on_disk = {
        str(path.relative_to(media))
        for folder in ("tryon/results", "tryon/persons")
        for path in (media / folder).rglob("*")
        if path.is_file()
    }
    orphans, missing = on_disk - referenced, referenced - on_disk
    return _row(
        "storage holds no unreferenced file (once swept), and every row's file exists",
        not orphans and not missing,
        f"{len(on_disk)} files; {len(orphans)} unreferenced; {len(missing)} rows without a file"
        + (f": {sorted(orphans | missing)[:3]}" if orphans or missing else "")
        + f" (after the purge's sweep, run as an hour later, deleted {swept} crash leftovers)",
    )


def _note_outcomes(rows, requests, summary, run) -> None:
    """What happened, for the reader: not invariants, so they never fail the run."""
    outcomes = Counter(f"{r.status}:{r.error_code}" if r.error_code else r.status for r in requests)
    rows.append(
        {
            "invariant": "outcomes (for the record)",
            "ok": True,
            "detail": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        }
    )
    dropped = summary.get("dropped", 0)
    rows.append(
        {
            "invariant": "faults met (for the record)",
            "ok": True,
            "detail": f"{run.kills} SIGKILLs, {dropped} callbacks dropped; "
            + "; ".join(run.events),
        }
    )


def _row(name: str, ok: bool, detail: str) -> dict:
    return {"invariant": name, "ok": bool(ok), "detail": detail}


def render(rows, run, machine: dict, seed: int, seconds: float) -> str:
    lines = [
        "",
        f"chaos run: {run.count} try-ons, seed {seed}, {seconds:.0f} s, "
        f"{machine.get('cpu', '')} {machine.get('cores', '')}".rstrip(),
        "",
        "| invariant | holds | detail |",
        "|---|---|---|",
    ]
    for row in rows:
        mark = "yes" if row["ok"] else "**NO**"
        lines.append(f"| {row['invariant']} | {mark} | {row['detail']} |")
    failed = [r["invariant"] for r in rows if not r["ok"]]
    lines.append("")
    lines.append(f"FAILED: {', '.join(failed)}" if failed else "every invariant holds")
    return "\n".join(lines)
