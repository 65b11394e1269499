"""The sandbox's task store: tasks by id and by a provider's external id, and the running
set the clock moves (a task leaves it when it ends)."""

from __future__ import annotations

from django_tryon.sandbox.tasks import FAILED, Task, TaskStore


def task(task_id: str, provider: str = "kling", external: str = "") -> Task:
    return Task(
        provider=provider,
        task_id=task_id,
        account="ak",
        created=0.0,
        staged_seconds=0.0,
        queue_seconds=0.0,
        generation_seconds=0.0,
        person=b"",
        garments=[],
        output_width=8,
        output_height=8,
        external_task_id=external,
    )


def test_the_store_finds_tasks_by_id_provider_and_external_id():
    store = TaskStore()
    first, second = task("t1", external="ours-1"), task("t2", provider="fashn")
    store.add(first)
    store.add(second)
    assert len(store) == 2 and store.get("t1") is first and store.get("nope") is None
    assert list(store.of("fashn")) == [second]
    assert store.by_external("kling", "ak", "ours-1") is first
    assert store.by_external("kling", "other-account", "ours-1") is None
    store.clear()
    assert len(store) == 0 and store.running() == []


def test_a_task_leaves_the_running_set_when_it_ends():
    store = TaskStore()
    running, ended = task("t1"), task("t2")
    store.add(running)
    store.add(ended)
    ended.state = FAILED
    store.settled(ended)
    store.settled(running)
    assert store.running() == [running] and store.all() == [running, ended]
