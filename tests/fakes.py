"""A scripted in-memory provider for unit tests of the services layer (no HTTP)."""

from __future__ import annotations

import itertools
from decimal import Decimal

from django_tryon.providers.base import (
    CallbackHint,
    Provider,
    ProviderTask,
    TaskState,
)

_ids = itertools.count(1000)


class FakeProvider(Provider):
    name = "fake"
    options = frozenset({"FIND", "NEEDS_URLS"})
    max_batch_size = 4
    composes_outfits = True
    supports_cancel = True
    default_base_url = "https://fake.example"
    status_map = {"queued": TaskState.QUEUED, "done": TaskState.SUCCEEDED}

    def __init__(self, options, *, client=None):
        super().__init__(options, client=client)
        self.supports_find = bool(self.config.get("FIND", True))
        self.needs_input_urls = bool(self.config.get("NEEDS_URLS", False))
        self.calls: list[tuple] = []
        self.submit_effects: list = []  # exceptions to raise, in order, before succeeding
        self.fetch_effects: list = []
        self.tasks: dict[str, ProviderTask] = {}
        self.by_external: dict[str, str] = {}

    def submit(self, job):
        self.calls.append(("submit", job))
        if self.submit_effects:
            raise self.submit_effects.pop(0)
        task_id = str(next(_ids))
        task = ProviderTask(
            self.name, task_id, TaskState.QUEUED, "queued", external_id=job.request_id
        )
        self.tasks[task_id] = task
        self.by_external[job.request_id] = task_id
        return task

    def fetch(self, task_id):
        self.calls.append(("fetch", task_id))
        if self.fetch_effects:
            effect = self.fetch_effects.pop(0)
            if isinstance(effect, Exception):
                raise effect
            return effect
        return self.tasks[task_id]

    def find(self, external_id):
        self.calls.append(("find", external_id))
        task_id = self.by_external.get(external_id)
        return self.tasks[task_id] if task_id else None

    def finish(self, task_id, urls, *, cost=None):
        """Make the provider report success with these result URLs."""
        self.tasks[task_id] = ProviderTask(
            self.name,
            task_id,
            TaskState.SUCCEEDED,
            "done",
            image_urls=list(urls),
            cost=cost,
            cost_currency="units" if cost is not None else "",
        )

    def fail_task(self, task_id, message, code="provider_failed"):
        self.tasks[task_id] = ProviderTask(
            self.name, task_id, TaskState.FAILED, "failed", message=message, error_code=code
        )

    def parse_callback(self, body, headers):
        return CallbackHint(task_id=body.decode())

    def estimate_cost(self, batch_size):
        return Decimal("0.07") * batch_size, "USD"

    def calls_of(self, kind):
        return [c for c in self.calls if c[0] == kind]
