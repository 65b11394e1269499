"""The sandbox in its own process, driven by JSON lines on stdin (for the runner).

``python -m bench.sandbox_proc --port P`` starts ``django_tryon.sandbox.Sandbox`` and
prints one line ``{"ready": url}``. Then every stdin line ``{"cmd": name, ...}`` gets one
stdout line ``{"ok": result}`` or ``{"error": text}``. Its own process keeps the provider
simulation's CPU (rendering result PNGs) off the runner and the worker, and lets the
runner read compact summaries instead of the recorded request bodies.

Commands: configure, set_faults, clear_faults, reset, summary, prerender, cpu.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time

import httpx

from django_tryon.sandbox import Sandbox


class Driver:
    def __init__(self, sandbox: Sandbox):
        self.sb = sandbox
        self.lock = threading.Lock()
        self.callback_starts: dict[tuple[str, str], float] = {}
        self.warmed: set[str] = set()
        self._prerender = threading.Event()
        self._time_callbacks()
        threading.Thread(target=self._prerender_loop, daemon=True).start()

    def _time_callbacks(self) -> None:
        # When each callback POST *starts* (SentCallback.time is taken after the answer),
        # so benchmark 3 can measure from the moment the provider calls us.
        dispatcher = self.sb._dispatcher
        send = dispatcher._send

        def timed_send(client, message):
            started = time.time()
            with self.lock:
                self.callback_starts.setdefault((message.task_id, message.task_status), started)
            return send(client, message)

        dispatcher._send = timed_send

    def _prerender_loop(self) -> None:
        # Benchmark 3 measures our side only: render each result image (provider work)
        # as soon as its task succeeds, before the (delayed) success callback goes out.
        with httpx.Client(trust_env=False) as client:
            while True:
                self._prerender.wait()
                for task in self.sb.tasks:
                    if task["state"] == "succeeded" and task["task_id"] not in self.warmed:
                        self.warmed.add(task["task_id"])
                        client.get(self.sb.result_url(task["task_id"]), timeout=30)
                time.sleep(0.01)

    # -- commands ------------------------------------------------------------------

    def configure(self, **options):
        return self.sb.configure(**options)

    def set_faults(self, **faults):
        return self.sb.set_faults(**faults)

    def clear_faults(self):
        self.sb.clear_faults()

    def reset(self):
        self.sb.reset()
        with self.lock:
            self.callback_starts.clear()
        self.warmed.clear()

    def prerender(self, on: bool):
        (self._prerender.set if on else self._prerender.clear)()

    def cpu(self):
        times = os.times()
        return times.user + times.system

    def summary(self):
        requests = [
            {
                "method": r.method,
                "path": r.path,
                "kind": r.kind,
                "provider": r.provider,
                "status": r.status,
                "time": r.time,
                "external_task_id": (r.json or {}).get("external_task_id")
                if isinstance(r.json, dict)
                else None,
            }
            for r in self.sb.requests
        ]
        tasks = [
            {
                key: t[key]
                for key in (
                    "provider",
                    "task_id",
                    "external_task_id",
                    "state",
                    "created",
                    "ended",
                    "result_downloads",
                    "callback_url",
                    "batch_size",
                    "request",  # what the create asked for (Model Studio's input links)
                )
            }
            for t in self.sb.tasks
        ]
        with self.lock:
            starts = dict(self.callback_starts)
        callbacks = [
            {
                "task_id": c.task_id,
                "task_status": c.task_status,
                "status": c.status,
                "error": c.error,
                "started": starts.get((c.task_id, c.task_status)),
                "time": c.time,
            }
            for c in self.sb.callbacks_sent
        ]
        return {
            "requests": requests,
            "tasks": tasks,
            "callbacks": callbacks,
            "dropped": len(self.sb.callbacks_dropped),
            "warmups": sorted(self.warmed),
            "cpu": self.cpu(),
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    sandbox = Sandbox(
        host="127.0.0.1", port=args.port, queue_seconds=0, generation_seconds=0, slots=100_000
    ).start()
    driver = Driver(sandbox)
    out = sys.stdout
    out.write(json.dumps({"ready": sandbox.url}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        message = json.loads(line)
        name = message.pop("cmd")
        try:
            if name.startswith("_") or not hasattr(driver, name):
                raise ValueError(f"unknown command {name!r}")
            answer = {"ok": getattr(driver, name)(**message)}
        except Exception as exc:  # report, keep serving
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    sandbox.stop()


if __name__ == "__main__":
    main()
