"""The ``tryon`` command as a shop owner runs it: a real process, the sandbox over HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from django_tryon.models import Source, TryOnRequest, tryon_storage
from django_tryon.status import Status
from kit import imagegen
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

RESULT_LINE = re.compile(r"^result (\d+): (tryon/results/\S+) \((\d+)x(\d+)\)$")


@pytest.fixture
def inputs(tmp_path):
    person = tmp_path / "person.jpg"
    person.write_bytes(imagegen.make_person())
    garment = tmp_path / "shirt.png"
    garment.write_bytes(imagegen.make_garment("upper"))
    return {"person": str(person), "garment": str(garment)}


def run_tryon(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python example_project/manage.py tryon ...`` against the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",  # manage.py only sets a default
        "TRYON_TEST_DB_NAME": connection.settings_dict["NAME"],
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "example_project")]),
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "example_project" / "manage.py"), "tryon", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"


def listed_results(stdout: str) -> list[tuple[int, str, Path]]:
    """(index, storage name, file path) of every result the command printed."""
    lines = stdout.splitlines()
    found = []
    for i, line in enumerate(lines):
        match = RESULT_LINE.match(line)
        if match:
            file_line = lines[i + 1]
            assert file_line.startswith("  file: "), stdout
            found.append((int(match[1]), match[2], Path(file_line.removeprefix("  file: "))))
    return found


def assert_succeeded(proc: subprocess.CompletedProcess) -> TryOnRequest:
    assert proc.returncode == 0, describe(proc)
    request = TryOnRequest.objects.get()
    assert request.status == Status.SUCCEEDED
    assert request.source == Source.CLI
    assert f"created try-on {request.pk} with kling" in proc.stderr  # progress: stderr
    results = listed_results(proc.stdout)
    stored = list(request.results.order_by("index").values_list("index", "image"))
    assert [(index, name) for index, name, _ in results] == stored
    assert len(results) == 1
    for _, name, path in results:
        assert path.is_absolute()
        assert path.is_file()
        assert path == Path(tryon_storage().path(name))
        assert path.read_bytes() == tryon_storage().open(name).read()
    assert proc.stdout.rstrip().endswith("done")
    return request


def test_inline_run_stores_the_result(transactional_db, sandbox, inputs):
    """--inline does every step in the command's own process: no worker needed."""
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"], "--inline",
        "--timeout", "60",
    )  # fmt: skip
    request = assert_succeeded(proc)
    assert request.garment.from_terminal and not request.garment.active
    assert "Succeeded" in proc.stderr  # progress lines name the statuses
    assert "Succeeded" not in proc.stdout  # stdout: only the outcome
    kling_tasks = [t for t in sandbox.tasks if t.get("provider") == "kling"]
    assert [t["task_id"] for t in kling_tasks] == [request.provider_task_id]


def test_run_through_the_worker(pipeline, inputs):
    """Without --inline the command only queues the request and waits for the worker."""
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"], "--timeout", "60"
    )
    request = assert_succeeded(proc)
    kling_tasks = [t for t in pipeline["sandbox"].tasks if t.get("provider") == "kling"]
    assert [t["task_id"] for t in kling_tasks] == [request.provider_task_id]


@pytest.mark.parametrize("provider", ["dashscope", "vertex"])
def test_a_provider_named_on_the_command_line(pipeline, inputs, provider):
    """``--provider dashscope``: Model Studio fetches the inputs from the app's signed
    links on the shop's own server, and its task is polled to the end. ``--provider
    vertex``: one call answered with the image, stored by the worker."""
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"],
        "--provider", provider, "--timeout", "60",
    )  # fmt: skip
    assert proc.returncode == 0, describe(proc)
    request = TryOnRequest.objects.get()
    assert request.provider == provider and request.status == Status.SUCCEEDED
    assert f"created try-on {request.pk} with {provider}" in proc.stderr
    assert len(listed_results(proc.stdout)) == 1
    tasks = [t for t in pipeline["sandbox"].tasks if t.get("provider") == provider]
    assert len(tasks) == 1


def test_content_refusal_exits_1_with_the_reason(transactional_db, sandbox, inputs):
    sandbox.set_faults(content_refused=1)
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"], "--provider", "kling",
        "--inline", "--timeout", "60",
    )  # fmt: skip
    assert proc.returncode == 1, describe(proc)
    request = TryOnRequest.objects.get()
    assert request.status == Status.FAILED
    assert request.error_code == "content_refused"
    # The shopper's message, the code, and what the provider itself said (it was only in
    # the database before).
    assert request.error_detail and "risk control" in request.error_detail
    assert proc.stderr.splitlines()[-1] == (
        f"CommandError: try-on {request.pk} failed: The try-on service couldn't use this "
        "photo under its content rules. Please try a different photo. [content_refused] "
        f"Provider's reason: {request.error_detail}"
    )
    assert request.results.count() == 0
    assert "result 0:" not in proc.stdout


def test_json_prints_one_line_for_scripts(transactional_db, sandbox, inputs):
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"], "--inline", "--json",
        "--timeout", "60",
    )  # fmt: skip
    assert proc.returncode == 0, describe(proc)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, proc.stdout  # progress went to stderr
    summary = json.loads(lines[0])
    request = TryOnRequest.objects.get()
    result = request.results.get()
    assert summary == {
        "id": str(request.pk),
        "status": "succeeded",
        "provider": "kling",
        "provider_task_id": request.provider_task_id,
        "cost": None if request.cost is None else str(request.cost),
        "cost_currency": request.cost_currency or None,
        # The sandbox's units at its example price, in the shop's dollars.
        "shop_cost": str((request.cost * Decimal("0.14")).quantize(Decimal("0.0001"))),
        "shop_currency": "USD",
        "results": [
            {
                "index": 0,
                "name": result.image.name,
                "width": result.width,
                "height": result.height,
                "file": tryon_storage().path(result.image.name),
            }
        ],
        "error": None,
    }
    assert Path(summary["results"][0]["file"]).read_bytes() == result.image.read()


def test_json_failure_carries_the_code_and_the_providers_reason(transactional_db, sandbox, inputs):
    sandbox.set_faults(content_refused=1)
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"], "--inline", "--json",
        "--timeout", "60",
    )  # fmt: skip
    assert proc.returncode == 1, describe(proc)
    summary = json.loads(proc.stdout)
    request = TryOnRequest.objects.get()
    assert summary["status"] == "failed" and summary["results"] == []
    assert summary["error"] == {
        "code": "content_refused",
        "message": "The try-on service couldn't use this photo under its content rules. "
        "Please try a different photo.",
        "reason": request.error_detail,
    }
    assert "risk control" in summary["error"]["reason"]


def test_bad_input_exits_2_with_one_line(transactional_db, tmp_path, inputs):
    small = tmp_path / "small.jpg"
    small.write_bytes(imagegen.make_jpeg(200, 200))
    # --skip-checks: the test settings' DEBUG-off sandbox warnings would print above it.
    proc = run_tryon(
        "--person", str(small), "--garment", inputs["garment"], "--inline", "--skip-checks"
    )
    assert proc.returncode == 2, describe(proc)
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "CommandError: --person: This photo is too small: it must be at least 300 pixels on "
        "each side (it is 200 x 200). Please upload a larger photo."
    ]
    assert TryOnRequest.objects.count() == 0


def test_bad_input_message_is_the_last_line_after_system_checks(transactional_db, inputs):
    proc = run_tryon(
        "--person", inputs["person"], "--garment", inputs["garment"], "--batch-size", "9"
    )
    assert proc.returncode == 2, describe(proc)
    assert proc.stderr.splitlines()[-1] == (
        "CommandError: batch_size: Kling makes one image per try-on: the batch size must be 1."
    )
    assert "django_tryon.E" not in proc.stderr  # warnings only: the settings are valid
    assert TryOnRequest.objects.count() == 0


def test_an_iphone_heic_photo_ends_as_a_stored_result(transactional_db, sandbox, tmp_path, inputs):
    """HEIC (the heic extra) from the terminal: read, stored as a plain JPEG, tried on."""
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes(imagegen.make_heic(768, 1024))
    proc = run_tryon(
        "--person", str(heic), "--garment", inputs["garment"], "--inline", "--timeout", "60"
    )  # fmt: skip
    request = assert_succeeded(proc)
    with request.person_image.open("rb") as fh:
        assert fh.read(3) == b"\xff\xd8\xff"  # what is stored is a JPEG, not the HEIC
