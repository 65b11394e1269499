"""The ``tryon`` terminal command refuses bad input with exit code 2 and one readable line."""

from __future__ import annotations

import io

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_tryon.models import TryOnRequest
from django_tryon.pipeline import dispatch
from kit import imagegen

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_provider_calls(monkeypatch):
    """Bad input never reaches a provider or the queue."""
    calls = []

    def refuse(self, request, **kwargs):
        calls.append(str(request.url))
        raise AssertionError(f"the command called a provider: {request.url}")

    monkeypatch.setattr(httpx.Client, "send", refuse)
    monkeypatch.setattr(
        dispatch, "send", lambda task_name, request_id, **kw: calls.append(task_name)
    )
    yield calls
    assert calls == []


@pytest.fixture
def files(tmp_path):
    """Write named test files; returns their paths as strings."""

    def write(name: str, data: bytes) -> str:
        path = tmp_path / name
        path.write_bytes(data)
        return str(path)

    return write


@pytest.fixture
def person(files):
    return files("person.jpg", imagegen.make_person())


@pytest.fixture
def garment(files):
    return files("shirt.png", imagegen.make_garment("upper"))


def refused(*args) -> str:
    """Run the command, expect exit code 2 and no request; return its one-line message."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("tryon", *args, stdout=out, stderr=err)
    message = str(info.value)
    assert info.value.returncode == 2, message
    assert "\n" not in message
    assert message.strip() == message and message
    assert TryOnRequest.objects.count() == 0
    assert out.getvalue() == ""  # no outcome
    assert err.getvalue() == ""  # nothing announced as created
    return message


def test_missing_person_file(garment, tmp_path):
    missing = str(tmp_path / "nope.jpg")
    message = refused("--person", missing, "--garment", garment)
    assert message == f"--person: cannot read {missing}: No such file or directory"


def test_missing_garment_file(person, tmp_path):
    missing = str(tmp_path / "nope.png")
    message = refused("--person", person, "--garment", missing)
    assert message == f"--garment: cannot read {missing}: No such file or directory"


def test_missing_lower_file(person, garment, tmp_path):
    missing = str(tmp_path / "jeans.png")
    message = refused("--person", person, "--garment", garment, "--lower", missing)
    assert message.startswith("--lower: cannot read ")


def test_a_directory_is_not_a_photo(garment, tmp_path):
    message = refused("--person", str(tmp_path), "--garment", garment)
    assert message.startswith(f"--person: cannot read {tmp_path}: ")


def test_not_an_image(files, garment):
    message = refused("--person", files("notes.jpg", b"these are my notes\n"), "--garment", garment)
    assert message.startswith("--person: ")
    assert "image" in message


def test_truncated_jpeg(files, garment):
    message = refused("--person", files("cut.jpg", imagegen.truncated_jpeg()), "--garment", garment)
    assert message.startswith("--person: This image file is damaged or incomplete.")


@pytest.mark.parametrize("size", [(30000, 30000), (9000, 9000)], ids=["pillow-limit", "app-limit"])
def test_decompression_bomb(files, garment, size):
    bomb = imagegen.make_bomb(*size)
    assert len(bomb) < 10_000
    message = refused("--person", files("bomb.png", bomb), "--garment", garment)
    assert message.startswith("--person: This image has too many pixels")


def test_bomb_as_garment(person, files):
    message = refused("--person", person, "--garment", files("bomb.png", imagegen.make_bomb()))
    assert message.startswith("--garment: This image has too many pixels")


def test_photo_of_200_pixels(files, garment):
    small = files("small.jpg", imagegen.make_jpeg(200, 200))
    message = refused("--person", small, "--garment", garment)
    assert message.startswith("--person: This photo is too small")
    assert "300" in message and "200 x 200" in message


def test_forty_megabyte_file(files, garment):
    big = files("big.jpg", b"\xff\xd8\xff\xe0" + b"\0" * (40 * 1024 * 1024))
    message = refused("--person", big, "--garment", garment)
    assert message.startswith("--person: This file is too large")


def test_gif_is_not_accepted(files, garment):
    message = refused(
        "--person", files("anim.gif", imagegen.make_gif(400, 400)), "--garment", garment
    )
    assert message.startswith("--person: ")


@pytest.mark.parametrize("category", ["dress", "lower"])
def test_invalid_outfit(person, files, category):
    """--lower is always a lower-body garment: a dress or a second lower cannot go with it."""
    main = files(f"{category}.png", imagegen.make_garment(category))
    lower = files("jeans.png", imagegen.make_garment("lower"))
    message = refused(
        "--person", person, "--garment", main, "--category", category, "--lower", lower
    )
    assert message.startswith("--lower: ")


def test_unknown_category_is_a_usage_error(person, garment):
    with pytest.raises(CommandError) as info:
        call_command("tryon", "--person", person, "--garment", garment, "--category", "scarf")
    assert "invalid choice: 'scarf'" in str(info.value)
    assert TryOnRequest.objects.count() == 0


def test_unknown_provider(person, garment):
    message = refused("--person", person, "--garment", garment, "--provider", "replicate")
    assert message == (
        "unknown provider 'replicate' (choose from dashscope, fashn, kling, piapi, vertex)"
    )


KLING_ONE = "batch_size: Kling makes one image per try-on: the batch size must be 1."
PIAPI_FOUR = "batch_size: The batch size must be between 1 and 4 for PiAPI (Kling through PiAPI)."


@pytest.mark.parametrize(
    ("provider", "size", "says"),
    [("kling", 9, KLING_ONE), ("piapi", 9, PIAPI_FOUR), ("kling", 0, KLING_ONE)],
)
def test_batch_size_out_of_range(person, garment, provider, size, says):
    message = refused(
        "--person", person, "--garment", garment, "--provider", provider,
        "--batch-size", str(size),
    )  # fmt: skip
    assert message == says


def test_several_errors_still_make_one_line(person, files):
    dress = files("dress.png", imagegen.make_garment("dress"))
    lower = files("jeans.png", imagegen.make_garment("lower"))
    message = refused(
        "--person", person, "--garment", dress, "--category", "dress", "--lower", lower,
        "--batch-size", "9",
    )  # fmt: skip
    assert message.startswith("--lower: ")


def test_recover_of_an_unknown_try_on_is_one_line_and_exit_2():
    with pytest.raises(CommandError) as info:
        call_command("tryon", "--recover", "not-a-uuid")
    assert info.value.returncode == 2 and str(info.value) == "--recover: no try-on not-a-uuid"


def test_recover_of_a_try_on_that_needs_a_retry_says_so(make_garment):
    from django_tryon.status import Status

    request = TryOnRequest.objects.create(
        provider="kling",
        garment=make_garment(),
        input_digest="x" * 64,
        status=Status.FAILED,
        error_code="content_refused",
    )
    with pytest.raises(CommandError) as info:
        call_command("tryon", "--recover", str(request.pk))
    assert info.value.returncode == 1 and "Use Retry instead" in str(info.value)


def test_person_and_garment_are_needed_without_recover():
    with pytest.raises(CommandError) as info:
        call_command("tryon", "--person", "p.jpg")
    assert info.value.returncode == 2
    assert str(info.value) == "--garment is needed (or --recover REQUEST_ID)"


def test_a_providers_reason_reaches_the_terminal_without_its_escape_sequences(make_garment):
    """A hostile reason could retitle or clear the operator's terminal (issue 22)."""
    from django_tryon.management.commands.tryon import _reason

    hostile = "bad\x1b]0;owned\x07 photo\x1b[2J\x1b[31m red\r\n\u202eevil"
    request = TryOnRequest(error_code="provider_failed", error_detail=hostile)
    line = _reason(request)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in line)
    assert "bad" in line and "photo" in line and "evil" in line


def test_a_provider_error_holds_plain_capped_text():
    from django_tryon.providers.base import ProviderError

    error = ProviderError("x\x1b[2J" + "y" * 5000, provider="kling", code="\x1b[31m1201")
    assert "\x1b" not in str(error) and len(error.message) == 1000
    assert error.code == "[31m1201"
