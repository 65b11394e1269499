"""The demo's filesystem broker writes messages atomically."""

from kombu import Connection
from shop_project.broker import register


def connection(tmp_path):
    register()
    for sub in ("queue", "processed", "control"):
        (tmp_path / sub).mkdir()
    return Connection(
        "tryonfs://",
        transport_options={
            "data_folder_in": str(tmp_path / "queue"),
            "data_folder_out": str(tmp_path / "queue"),
            "processed_folder": str(tmp_path / "processed"),
            "control_folder": str(tmp_path / "control"),
        },
    )


def test_round_trip_leaves_no_partial_files(tmp_path):
    with connection(tmp_path) as conn:
        queue = conn.SimpleQueue("q")
        queue.put({"n": 1})
        assert [p.name for p in (tmp_path / "queue").iterdir() if p.name.startswith(".")] == []
        assert queue.get(timeout=1).payload == {"n": 1}
        queue.close()


def test_a_half_written_message_is_invisible_to_consumers(tmp_path):
    with connection(tmp_path) as conn:
        # A queue name of its own: kombu remembers declared queues per process.
        queue = conn.SimpleQueue("q2")
        # What a producer leaves while it is still writing: the consumer must skip it.
        (tmp_path / "queue" / ".1_x.q2.msg.partial").write_bytes(b'{"bo')
        queue.put({"n": 2})
        assert queue.get(timeout=1).payload == {"n": 2}
        assert (tmp_path / "queue" / ".1_x.q2.msg.partial").exists()
        queue.close()


def test_the_demo_broker_looks_for_messages_ten_times_a_second(tmp_path):
    """At kombu's default (once a second) a busy demo's queue lagged minutes behind."""
    from shop_project.env import broker_options

    options = broker_options("filesystem://", tmp_path)
    assert options["polling_interval"] <= 0.1
    assert "polling_interval" not in broker_options("redis://127.0.0.1:6379/0", tmp_path)
