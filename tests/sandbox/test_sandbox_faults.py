"""Fault switches, the control endpoint and the command line of the sandbox."""

from __future__ import annotations

import base64
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
from PIL import Image

from django_tryon.sandbox import FAULT_NAMES, Sandbox
from django_tryon.sandbox.__main__ import parse_fault_arg

KLING = "/v1/images/kolors-virtual-try-on"
PIAPI = "/api/v1/task"


def create(kling, body):
    return kling.post(KLING, json=body)


def kling_code(response: httpx.Response) -> tuple[int, int]:
    body = response.json()
    assert set(body) == {"code", "message", "request_id", "data"}
    return response.status_code, body["code"]


# -- Kling request faults -------------------------------------------------------------------


def test_rate_limit_count_then_success(sandbox, kling, kling_body):
    sandbox.set_faults(kling_rate_limit=2)
    assert sandbox.faults == {"kling_rate_limit": {"count": 2, "on": "create"}}
    assert kling_code(kling.get(KLING)) == (200, 0)  # queries are not creates
    assert kling_code(create(kling, kling_body)) == (429, 1302)
    assert sandbox.faults["kling_rate_limit"]["count"] == 1
    assert kling_code(create(kling, kling_body)) == (429, 1302)
    assert sandbox.faults == {}
    assert kling_code(create(kling, kling_body)) == (200, 0)
    assert len(sandbox.tasks) == 1


def test_rate_limit_aimed_at_queries(sandbox, kling, kling_body):
    sandbox.set_faults(kling_rate_limit={"count": 1, "on": "query"})
    task_id = create(kling, kling_body).json()["data"]["task_id"]
    assert kling_code(kling.get(KLING)) == (200, 0)  # a list is not a query
    assert kling_code(kling.get(f"{KLING}/{task_id}")) == (429, 1302)
    assert kling_code(kling.get(f"{KLING}/{task_id}")) == (200, 0)


def test_true_means_until_cleared(sandbox, kling, kling_body):
    sandbox.set_faults(kling_maintenance=True)
    for _ in range(3):
        assert kling_code(create(kling, kling_body)) == (503, 5001)
    sandbox.clear_faults()
    assert kling_code(create(kling, kling_body)) == (200, 0)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ("kling_concurrency", (429, 1303)),
        ("kling_internal", (500, 5000)),
        ("kling_maintenance", (503, 5001)),
        ("kling_content_refused_on_create", (400, 1301)),
    ],
)
def test_kling_create_faults_create_nothing(sandbox, kling, kling_body, fault, expected):
    sandbox.set_faults(**{fault: 1})
    response = create(kling, kling_body)
    assert kling_code(response) == expected
    assert response.json()["data"] is None
    assert sandbox.tasks == []
    assert kling_code(create(kling, kling_body)) == (200, 0)


def test_concurrency_fault_message_is_the_documented_one(sandbox, kling, kling_body):
    sandbox.set_faults(kling_concurrency=1)
    assert create(kling, kling_body).json()["message"] == "parallel task over resource pack limit"


def test_auth_failures_do_not_use_up_a_fault(sandbox, kling_body, kling):
    sandbox.set_faults(kling_internal=1)
    assert httpx.post(sandbox.url + KLING, json=kling_body).status_code == 401
    assert kling_code(create(kling, kling_body)) == (500, 5000)


def test_timeout_code_on_create_still_creates_the_task(sandbox, kling, kling_body):
    sandbox.set_faults(kling_timeout_code=1)
    kling_body["external_task_id"] = "req-5002"
    assert kling_code(create(kling, kling_body)) == (504, 5002)
    [task] = sandbox.tasks
    found = kling.get(f"{KLING}/req-5002").json()["data"]
    assert found["task_id"] == task["task_id"]
    assert found["task_status"] == "succeed"
    assert kling_code(create(kling, kling_body)) == (400, 1201)  # a blind retry is refused


def test_timeout_code_on_queries(sandbox, kling):
    sandbox.set_faults(kling_timeout_code={"count": 2, "on": "any"})
    assert kling_code(kling.get(KLING)) == (504, 5002)
    assert kling_code(kling.get(f"{KLING}/1")) == (504, 5002)
    assert kling_code(kling.get(KLING)) == (200, 0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"code": 1102}, (429, 1102)),
        ({"code": 1103, "message": "no access"}, (403, 1103)),
        ({"code": 1304, "http": 403}, (403, 1304)),
    ],
)
def test_custom_kling_error(sandbox, kling, kling_body, value, expected):
    sandbox.set_faults(kling_error={**value, "count": 1})
    response = create(kling, kling_body)
    assert kling_code(response) == expected
    if "message" in value:
        assert response.json()["message"] == value["message"]
    assert kling_code(create(kling, kling_body)) == (200, 0)


# -- task faults --------------------------------------------------------------------------


def test_content_refused_kling_task_fails_with_risk_control(sandbox, kling, kling_body):
    sandbox.set_faults(content_refused=1)
    task_id = create(kling, kling_body).json()["data"]["task_id"]
    data = kling.get(f"{KLING}/{task_id}").json()["data"]
    assert data["task_status"] == "failed"
    assert "risk control" in data["task_status_msg"]
    assert data["final_unit_deduction"] == "0"
    assert "task_result" not in data
    assert httpx.get(sandbox.result_url(task_id)).status_code == 404
    second = create(kling, kling_body).json()["data"]["task_id"]
    assert kling.get(f"{KLING}/{second}").json()["data"]["task_status"] == "succeed"


def test_content_refused_piapi_task_fails_for_content_policy(sandbox, piapi, piapi_body):
    sandbox.set_faults(content_refused=1)
    task_id = piapi.post(PIAPI, json=piapi_body).json()["data"]["task_id"]
    data = piapi.get(f"{PIAPI}/{task_id}").json()["data"]
    assert data["status"] == "failed"
    assert "content policy" in data["error"]["message"]
    assert data["error"]["code"] != 0
    assert data["output"] is None


def test_task_fail_with_a_custom_reason_for_one_provider(
    sandbox, kling, kling_body, piapi, piapi_body
):
    sandbox.set_faults(task_fail={"count": 1, "provider": "piapi", "message": "GPU on fire"})
    kling_task = create(kling, kling_body).json()["data"]["task_id"]
    assert kling.get(f"{KLING}/{kling_task}").json()["data"]["task_status"] == "succeed"
    piapi_task = piapi.post(PIAPI, json=piapi_body).json()["data"]["task_id"]
    data = piapi.get(f"{PIAPI}/{piapi_task}").json()["data"]
    assert (data["status"], data["error"]["message"]) == ("failed", "GPU on fire")


def test_task_fail_kling_generic_reason(sandbox, kling, kling_body):
    sandbox.set_faults(task_fail=1)
    task_id = create(kling, kling_body).json()["data"]["task_id"]
    data = kling.get(f"{KLING}/{task_id}").json()["data"]
    assert data["task_status"] == "failed"
    assert data["task_status_msg"]
    assert "risk" not in data["task_status_msg"]


# -- PiAPI request faults -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "value", "status"),
    [
        ("piapi_server_error", 1, 500),
        ("piapi_rate_limit", 1, 429),
        ("piapi_error", {"count": 1, "http": 402, "message": "insufficient credits"}, 402),
    ],
)
def test_piapi_request_faults(sandbox, piapi, piapi_body, fault, value, status):
    sandbox.set_faults(**{fault: value})
    response = piapi.post(PIAPI, json=piapi_body)
    assert response.status_code == status
    assert response.json()["code"] == status
    assert sandbox.tasks == []
    assert piapi.post(PIAPI, json=piapi_body).status_code == 200


def test_piapi_server_error_on_get(sandbox, piapi, piapi_body):
    task_id = piapi.post(PIAPI, json=piapi_body).json()["data"]["task_id"]
    sandbox.set_faults(piapi_server_error={"count": 1, "on": "query"})
    assert piapi.get(f"{PIAPI}/{task_id}").status_code == 500
    assert piapi.get(f"{PIAPI}/{task_id}").status_code == 200


# -- slow and hang ------------------------------------------------------------------------


def test_slow_seconds_delays_provider_answers_only(sandbox, kling):
    sandbox.set_faults(slow_seconds=0.3)
    started = time.monotonic()
    assert kling.get(KLING).status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    httpx.get(sandbox.url + "/_sandbox/health")
    assert time.monotonic() - started < 0.3


def test_hang_makes_the_client_time_out_but_the_task_exists(sandbox, kling, kling_body):
    sandbox.set_faults(hang=1, hang_seconds=1.0)
    kling_body["external_task_id"] = "hung-1"
    with pytest.raises(httpx.ReadTimeout):
        kling.post(KLING, json=kling_body, timeout=0.2)
    assert [t["external_task_id"] for t in sandbox.tasks] == ["hung-1"]
    assert sandbox.faults == {"hang_seconds": 1.0}
    started = time.monotonic()
    assert kling.get(f"{KLING}/hung-1").json()["data"]["task_status"] == "succeed"
    assert time.monotonic() - started < 0.5


def test_hang_seconds_is_capped_at_30(sandbox):
    sandbox.set_faults(hang_seconds=600)
    assert sandbox.faults == {"hang_seconds": 30.0}


def test_stop_wakes_a_hanging_request(kling_body):
    sb = Sandbox(port=0, faults={"hang": True, "hang_seconds": 30}).start()
    errors: queue.Queue = queue.Queue()

    def call():
        try:
            httpx.get(sb.url + KLING, timeout=20)
        except httpx.HTTPError as exc:
            errors.put(exc)

    thread = threading.Thread(target=call)
    thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    sb.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert time.monotonic() - started < 5


# -- callbacks ----------------------------------------------------------------------------


def test_callbacks_drop(sandbox, kling, kling_body, receiver):
    sandbox.set_faults(callbacks_drop=1)
    kling_body["callback_url"] = receiver.url + "/cb"
    create(kling, kling_body)
    sandbox.wait_idle()
    statuses = [json.loads(r["body"])["task_status"] for r in receiver.posts]
    assert statuses == ["processing", "succeed"]
    [dropped] = sandbox.callbacks_dropped
    assert dropped.task_status == "submitted"
    assert len(sandbox.callbacks_sent) == 2


def test_callbacks_duplicate_keeps_the_webhook_id(kling_body, receiver):
    with Sandbox(
        port=0,
        queue_seconds=0,
        generation_seconds=0,
        kling_webhook_secret="whsec_" + base64.b64encode(b"0123456789abcdef").decode(),
        faults={"callbacks_duplicate": 1},
    ) as sb:
        kling_body["callback_url"] = receiver.url + "/cb"
        httpx.post(
            sb.url + KLING,
            json=kling_body,
            headers={"Authorization": f"Bearer {sb.api('kling').token()}"},
        )
        sb.wait_idle()
    received = receiver.posts
    statuses = [json.loads(r["body"])["task_status"] for r in received]
    assert statuses == ["submitted", "submitted", "processing", "succeed"]
    assert received[0]["headers"]["webhook-id"] == received[1]["headers"]["webhook-id"]
    assert received[1]["headers"]["webhook-id"] != received[2]["headers"]["webhook-id"]


def test_callbacks_reorder_sends_newest_first_after_the_end(sandbox, piapi, piapi_body, receiver):
    sandbox.set_faults(callbacks_reorder=1)
    piapi_body["config"] = {"webhook_config": {"endpoint": receiver.url + "/wh"}}
    piapi.post(PIAPI, json=piapi_body)
    sandbox.wait_idle()
    statuses = [json.loads(r["body"])["data"]["status"] for r in receiver.posts]
    assert statuses == ["completed", "processing", "pending"]
    assert sandbox.faults == {}
    piapi.post(PIAPI, json=piapi_body)  # the next task is in order again
    sandbox.wait_idle()
    statuses = [json.loads(r["body"])["data"]["status"] for r in receiver.posts[3:]]
    assert statuses == ["pending", "processing", "completed"]


def test_callbacks_reorder_holds_until_the_task_ends(sandbox, kling, kling_body, receiver):
    sandbox.configure(queue_seconds=60)
    sandbox.set_faults(callbacks_reorder=True)
    kling_body["callback_url"] = receiver.url + "/cb"
    create(kling, kling_body)
    time.sleep(0.2)
    assert receiver.posts == []
    sandbox.fast_forward(60)
    statuses = [json.loads(r["body"])["task_status"] for r in receiver.wait_for_posts(3)]
    assert statuses == ["succeed", "processing", "submitted"]


def test_callbacks_delay_seconds(sandbox, kling, kling_body, receiver):
    sandbox.set_faults(callbacks_delay_seconds=0.4)
    kling_body["callback_url"] = receiver.url + "/cb"
    started = time.monotonic()
    create(kling, kling_body)
    first = receiver.wait_for_posts(1)[0]
    assert first["time"] - started >= 0.4


# -- results ------------------------------------------------------------------------------


def test_result_ttl_seconds_option_expires_results(kling_body):
    with Sandbox(port=0, queue_seconds=0, generation_seconds=0, result_ttl_seconds=0.4) as sb:
        headers = {"Authorization": f"Bearer {sb.api('kling').token()}"}
        task_id = httpx.post(sb.url + KLING, json=kling_body, headers=headers).json()["data"][
            "task_id"
        ]
        response = httpx.get(sb.result_url(task_id))
        assert response.status_code == 200
        Image.open(io.BytesIO(response.content)).load()
        time.sleep(0.5)
        expired = httpx.get(sb.result_url(task_id))
        assert expired.status_code == 404
        assert expired.json() == {"error": "result expired"}


def test_result_ttl_seconds_fault_overrides_until_cleared(sandbox, kling, kling_body):
    task_id = create(kling, kling_body).json()["data"]["task_id"]
    sandbox.set_faults(result_ttl_seconds=0)
    assert httpx.get(sandbox.result_url(task_id)).status_code == 404
    sandbox.clear_faults()
    assert httpx.get(sandbox.result_url(task_id)).status_code == 200


# -- switchboard --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faults",
    [
        {"no_such_fault": 1},
        {"kling_rate_limit": -1},
        {"kling_rate_limit": "lots"},
        {"kling_rate_limit": {"on": "everything"}},
        {"kling_concurrency": {"on": "query"}},
        {"kling_error": 1},
        {"piapi_error": {"message": "x"}},
        {"content_refused": {"on": "create"}},
        {"kling_internal": {"provider": "piapi"}},
        {"slow_seconds": -1},
        {"slow_seconds": True},
        {"task_fail": {"count": 1, "colour": "red"}},
    ],
)
def test_invalid_faults_are_refused_and_nothing_is_armed(sandbox, faults):
    with pytest.raises(ValueError):
        sandbox.set_faults(kling_maintenance=1, **faults)
    assert sandbox.faults == {}


def test_every_documented_fault_name_is_accepted(sandbox):
    from django_tryon.sandbox.faults import SPECS

    for name in FAULT_NAMES:
        if SPECS[name].needs == "code":
            value = {"code": 1102}
        elif SPECS[name].needs == "http":
            value = {"http": 402}
        elif name.endswith("_seconds"):
            value = 1
        else:
            value = 2
        sandbox.set_faults(**{name: value})
    assert set(sandbox.faults) == set(FAULT_NAMES)
    sandbox.set_faults(kling_internal=0, slow_seconds=None)
    assert "kling_internal" not in sandbox.faults
    assert "slow_seconds" not in sandbox.faults


def test_reset_forgets_tasks_requests_callbacks_and_faults(sandbox, kling, kling_body, receiver):
    kling_body["callback_url"] = receiver.url + "/cb"
    kling_body["external_task_id"] = "again"
    create(kling, kling_body)
    sandbox.wait_idle()
    sandbox.set_faults(kling_internal=True)
    sandbox.configure(slots=3)
    sandbox.reset()
    assert (sandbox.tasks, sandbox.requests, sandbox.callbacks_sent, sandbox.faults) == (
        [],
        [],
        [],
        {},
    )
    assert sandbox.config["slots"] == 3  # configuration survives a reset
    assert kling_code(create(kling, kling_body)) == (200, 0)  # external id is free again


# -- control endpoint ---------------------------------------------------------------------


def test_a_bug_behind_the_control_endpoint_is_answered_not_hung_up(sandbox, monkeypatch):
    """A test reads the sandbox's own error, as from a provider endpoint, instead of a
    connection closed without an answer."""
    from django_tryon.sandbox import control

    def broken(*args, **kwargs):
        raise TypeError("a bug")

    monkeypatch.setattr(control, "answer", broken)
    answer = httpx.get(sandbox.url + "/_sandbox/tasks")
    assert answer.status_code == 500
    assert answer.json() == {"error": "sandbox: TypeError: a bug"}


def test_control_endpoint(sandbox, kling, kling_body):
    control = httpx.Client(base_url=sandbox.url + "/_sandbox")
    health = control.get("/health").json()
    assert health["status"] == "ok"
    assert health["url"] == sandbox.url

    armed = control.post("/faults", json={"kling_rate_limit": 1, "slow_seconds": 0.01})
    assert armed.status_code == 200
    assert armed.json()["faults"]["kling_rate_limit"] == {"count": 1, "on": "create"}
    assert control.get("/faults").json()["faults"] == sandbox.faults
    assert control.post("/faults", json={"bogus": 1}).status_code == 400
    assert kling_code(create(kling, kling_body)) == (429, 1302)
    assert control.delete("/faults").json() == {"faults": {}}
    assert sandbox.faults == {}

    task_id = create(kling, kling_body).json()["data"]["task_id"]
    requests = control.get("/requests").json()["requests"]
    assert [(r["method"], r["status"]) for r in requests] == [("POST", 429), ("POST", 200)]
    assert requests[1]["json"] == kling_body
    assert len(control.get("/requests", params={"limit": 1}).json()["requests"]) == 1
    [task] = control.get("/tasks").json()["tasks"]
    assert (task["task_id"], task["provider"], task["status"]) == (task_id, "kling", "succeed")
    assert control.get(f"/tasks/{task_id}").json()["task_id"] == task_id
    assert control.get("/tasks/nope").status_code == 404
    assert control.get("/callbacks").json() == {"callbacks": [], "dropped": []}

    config = control.post("/config", json={"queue_seconds": 60}).json()["config"]
    assert config["queue_seconds"] == 60
    assert control.post("/config", json={"queue_seconds": -1}).status_code == 400
    assert control.post("/config", json={"colour": "red"}).status_code == 400
    waiting = create(kling, kling_body).json()["data"]["task_id"]
    assert kling.get(f"{KLING}/{waiting}").json()["data"]["task_status"] == "submitted"
    assert control.post("/fast-forward", json={"seconds": 60}).status_code == 200
    assert kling.get(f"{KLING}/{waiting}").json()["data"]["task_status"] == "succeed"

    assert control.post("/reset").json() == {"status": "reset"}
    assert control.get("/tasks").json() == {"tasks": []}
    assert control.get("/requests").json() == {"requests": []}
    assert control.get("/nothing-here").status_code == 404
    assert control.post("/health").status_code == 405


def test_requests_are_thread_safe_under_parallel_load(sandbox, kling):
    threads = [threading.Thread(target=lambda: kling.get(KLING)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sandbox.requests) == 20
    assert {r.status for r in sandbox.requests} == {200}


# -- command line -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("kling_rate_limit", ("kling_rate_limit", True)),
        ("kling_rate_limit=2", ("kling_rate_limit", 2)),
        ("kling_rate_limit=off", ("kling_rate_limit", 0)),
        ("kling_internal=3@any", ("kling_internal", {"count": 3, "on": "any"})),
        ("kling_internal=@query", ("kling_internal", {"count": None, "on": "query"})),
        ("slow_seconds=0.5", ("slow_seconds", 0.5)),
        ('kling_error={"code": 1102}', ("kling_error", {"code": 1102})),
    ],
)
def test_parse_fault_arg(text, expected):
    assert parse_fault_arg(text) == expected


def test_parse_fault_arg_refuses_unknown_names():
    with pytest.raises(ValueError):
        parse_fault_arg("kling_explodes=1")


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.Popen(
        [sys.executable, "-m", "django_tryon.sandbox", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _first_line(process: subprocess.Popen, timeout: float = 20.0) -> str:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(process.stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        process.kill()
        pytest.fail("the sandbox printed nothing")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_serves_until_signalled(stop_signal):
    process = _cli(
        "--port",
        "0",
        "--piapi-key",
        "cli-key",
        "--queue-seconds",
        "0",
        "--fault",
        "kling_rate_limit=1",
        "--fault",
        "slow_seconds=0.01",
    )
    try:
        line = _first_line(process)
        assert "listening on http://127.0.0.1:" in line
        assert "sandbox-access-key" in line and "sandbox-secret-key-0123456789abcdef" in line
        assert "cli-key" in line
        url = line.split("listening on ", 1)[1].split()[0]
        health = httpx.get(url + "/_sandbox/health", timeout=5)
        assert health.json()["status"] == "ok"
        faults = httpx.get(url + "/_sandbox/faults", timeout=5).json()["faults"]
        assert faults == {"kling_rate_limit": {"count": 1, "on": "create"}, "slow_seconds": 0.01}
        assert httpx.get(url + "/_sandbox/config").json()["config"]["queue_seconds"] == 0
        response = httpx.get(url + f"{PIAPI}/x", headers={"x-api-key": "cli-key"}, timeout=5)
        assert response.status_code == 404
    finally:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, process.stderr.read()


def test_cli_refuses_an_unknown_fault():
    process = _cli("--port", "0", "--fault", "kling_explodes")
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert "kling_explodes" in stderr


def test_cli_binds_only_the_given_host():
    process = _cli("--port", "0", "--host", "127.0.0.1")
    try:
        line = _first_line(process)
        port = int(line.split("listening on http://127.0.0.1:", 1)[1].split()[0])
        assert httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.2:{port}/_sandbox/health", timeout=2)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_every_option_has_one_flag_that_reaches_the_config():
    """The options were written four times (config, constructor, two argparse blocks);
    now the config's fields make the flags."""
    import dataclasses

    from django_tryon.sandbox import SandboxConfig
    from django_tryon.sandbox.__main__ import _parser
    from django_tryon.sandbox.options import config_from, from_arguments

    parser = _parser()
    flags = {a.dest for a in parser._actions}
    assert {f.name for f in dataclasses.fields(SandboxConfig)} <= flags
    args = parser.parse_args(
        ["--slots", "3", "--kling-callback-shape", "new", "--queue-seconds", "0"]
    )
    config = config_from(from_arguments(args))
    assert (config.slots, config.kling_callback_shape, config.queue_seconds) == (3, "new", 0.0)
    with pytest.raises(SystemExit):
        parser.parse_args(["--kling-callback-shape", "sideways"])
