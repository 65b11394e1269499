"""Provider callbacks through a CSRF-enforcing client: check, hint, enqueue, answer 2xx."""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid

import httpx
import pytest
from django.test import Client

from django_tryon import links, services, webhooks
from django_tryon.models import CallbackReceipt, TryOnRequest, TryOnResult
from django_tryon.pipeline import dispatch
from django_tryon.pipeline import results as results_module
from django_tryon.providers import get_provider
from django_tryon.providers.base import ProviderTask, TaskState
from django_tryon.status import Status

pytestmark = pytest.mark.django_db

RESULT_URL = "https://h1.inkwai.com/bs2/upload-kling-api/claimed-result.png"
KLING_SECRET = "whsec_" + base64.b64encode(b"kling-callback-signing-key-32by!").decode()


@pytest.fixture
def client():
    """A client that enforces CSRF, so the callback view's exemption is proved, not assumed."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture(autouse=True)
def no_http(monkeypatch):
    """A callback is answered without calling the provider: any HTTP request fails the test."""

    def refuse(self, request, **kwargs):
        raise AssertionError(f"the callback view made an HTTP call: {request.method}")

    monkeypatch.setattr(httpx.Client, "send", refuse)


@pytest.fixture
def make_request(make_garment):
    """A try-on at a provider, saved the way submit() leaves it (token hash only)."""

    def factory(provider="kling", *, status=Status.SUBMITTED, task_id="task-1"):
        request = TryOnRequest(
            provider=provider,
            garment=make_garment(),
            status=status,
            provider_task_id=task_id,
            provider_status="submitted" if task_id else "",
            input_digest=uuid.uuid4().hex,
            callback_salt=secrets.token_hex(16),
        )
        request.callback_token_hash = links.hash_token(links.callback_token(request))
        request.save(force_insert=True)
        return request

    return factory


@pytest.fixture
def post(client, sent, django_capture_on_commit_callbacks):
    """POST a callback body; on-commit callbacks run, so ``sent`` shows what was queued."""

    def do(request_or_url, body, *, secret=True, **headers):
        if isinstance(request_or_url, TryOnRequest):
            url = url_for(request_or_url)
            if secret and request_or_url.provider == "piapi":
                headers.setdefault("x-webhook-secret", links.callback_secret(request_or_url))
        else:
            url = request_or_url
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, content_type="application/json", headers=headers)

    return do


def url_for(request: TryOnRequest, token: str | None = None) -> str:
    token = token or links.callback_token(request)
    return f"/tryon/callbacks/{request.provider}/{token}/"


def kling_body(request: TryOnRequest, status="succeed", *, task_id=None, urls=(RESULT_URL,)):
    """The legacy try-on callback shape: the whole task object."""
    return {
        "task_id": task_id or request.provider_task_id or "task-early",
        "task_status": status,
        "task_status_msg": "",
        "task_info": {"external_task_id": str(request.pk)},
        "created_at": 1781080778802,
        "updated_at": 1781080794151,
        "task_result": {"images": [{"index": i, "url": u} for i, u in enumerate(urls)]},
    }


def piapi_body(request: TryOnRequest, status="completed", *, urls=(RESULT_URL,)):
    return {
        "timestamp": 1781080794,
        "data": {
            "task_id": request.provider_task_id or "task-early",
            "model": "kling",
            "task_type": "ai_try_on",
            "status": status,
            "output": {"works": [{"image": {"resource_without_watermark": u}} for u in urls]},
        },
    }


def body_for(request: TryOnRequest, status: str):
    return (kling_body if request.provider == "kling" else piapi_body)(request, status)


def refreshes(request: TryOnRequest) -> list[tuple[str, str]]:
    return [("django_tryon.refresh", str(request.pk))]


def signed_headers(body, *, secret=KLING_SECRET, timestamp=None, msg_id="msg_1") -> dict:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(secret, msg_id, timestamp, data),
    }


@pytest.fixture
def kling_secret(settings):
    kling = {**settings.TRYON["PROVIDERS"]["kling"], "WEBHOOK_SECRET": KLING_SECRET}
    settings.TRYON = {
        **settings.TRYON,
        "PROVIDERS": {**settings.TRYON["PROVIDERS"], "kling": kling},
    }
    assert get_provider("kling").webhook_secret == KLING_SECRET  # the cache was reset
    return KLING_SECRET


# -- a valid callback ----------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_valid_callback_enqueues_exactly_one_refresh_and_answers_fast(
    make_request, post, sent, provider
):
    request = make_request(provider)
    started = time.monotonic()
    response = post(request, body_for(request, "succeed" if provider == "kling" else "completed"))
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"received": True}
    assert sent == refreshes(request)
    assert elapsed < 1.0  # no provider call, no download: the worker does those


def test_refresh_is_queued_only_after_commit(make_request, client, sent):
    """No on-commit run, no send: a worker never sees a refresh before the commit."""
    request = make_request("kling")
    response = client.post(url_for(request), kling_body(request), content_type="application/json")
    assert response.status_code == 200
    assert sent == []


def test_the_client_really_enforces_csrf(client, db):
    """The same client is refused by an ordinary POST view: the callback's exemption is real."""
    response = client.post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403


# -- unknown or mismatched tokens ----------------------------------------------------------


def test_unknown_token_and_other_providers_token_get_identical_404s(make_request, post, sent):
    kling = make_request("kling")
    piapi = make_request("piapi", task_id="task-2")
    unknown = post(f"/tryon/callbacks/kling/{'A' * 43}/", kling_body(kling))
    # A real token of a PiAPI request, sent to the Kling endpoint.
    crossed = post(f"/tryon/callbacks/kling/{links.callback_token(piapi)}/", kling_body(kling))
    # And the other way round, with the right PiAPI secret header.
    crossed_back = post(
        f"/tryon/callbacks/piapi/{links.callback_token(kling)}/",
        piapi_body(piapi),
        **{"x-webhook-secret": links.callback_secret(kling)},
    )
    assert unknown.status_code == crossed.status_code == crossed_back.status_code == 404
    assert unknown.content == crossed.content == crossed_back.content
    assert sent == []


def test_token_of_a_request_before_submission_is_unknown(make_garment, post, sent):
    """A request that never got a salt has no token hash: no token matches it."""
    request = TryOnRequest.objects.create(
        provider="kling", garment=make_garment(), input_digest=uuid.uuid4().hex
    )
    assert request.callback_token_hash == ""
    response = post(f"/tryon/callbacks/kling/{links.callback_token(request)}/", {})
    assert response.status_code == 404
    assert sent == []


def test_unknown_provider_in_the_path_is_404(make_request, post, sent):
    request = make_request("kling")
    response = post(f"/tryon/callbacks/fake/{links.callback_token(request)}/", {})
    assert response.status_code == 404
    assert sent == []


# -- the hint decides whether a fetch is worth it -------------------------------------------


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])
def test_terminal_request_answers_200_and_enqueues_nothing(make_request, post, sent, status):
    request = make_request("kling", status=status)
    response = post(request, kling_body(request, "succeed"))
    assert response.status_code == 200
    assert response.json() == {"received": True}
    assert sent == []


def test_pending_request_enqueues_nothing(make_request, post, sent):
    request = make_request("kling", status=Status.PENDING, task_id="")
    response = post(request, kling_body(request, "succeed"))
    assert response.status_code == 200
    assert sent == []


@pytest.mark.parametrize(
    ("provider", "hint"),
    [
        ("kling", "processing"),
        ("kling", "submitted"),
        ("piapi", "processing"),
        ("piapi", "pending"),
    ],
)
def test_non_terminal_hint_enqueues_nothing(make_request, post, sent, provider, hint):
    request = make_request(provider)
    response = post(request, body_for(request, hint))
    assert response.status_code == 200
    assert sent == []


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_an_authenticated_generating_callback_lights_up_generating(
    make_request, post, sent, provider
):
    """Trusted for this one move, with no fetch (no extra provider call): the shopper sees
    "Generating" while the provider generates, not "Queued" to the end."""
    request = make_request(provider)
    response = post(request, body_for(request, "processing"))
    assert response.status_code == 200 and sent == []
    request.refresh_from_db()
    assert request.status == Status.PROCESSING
    assert CallbackReceipt.objects.get().outcome == CallbackReceipt.Outcome.PROGRESS


def test_a_generating_callback_about_another_task_changes_nothing(make_request, post, sent):
    request = make_request("piapi")
    other = make_request("piapi", task_id="task-2")
    post(request, body_for(other, "processing"))  # this request's URL, the other's task
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED


@pytest.mark.parametrize(
    ("provider", "hint"),
    [
        ("kling", "succeed"),
        ("kling", "succeeded"),
        ("kling", "failed"),
        ("piapi", "completed"),
        ("piapi", "Completed"),
        ("piapi", "failed"),
    ],
)
def test_terminal_hint_enqueues_one_refresh(make_request, post, sent, provider, hint):
    request = make_request(provider, status=Status.PROCESSING)
    response = post(request, body_for(request, hint))
    assert response.status_code == 200
    assert sent == refreshes(request)


@pytest.mark.parametrize("provider", ["kling", "piapi"])
@pytest.mark.parametrize("hint", ["archived_v2", ""])
def test_unknown_or_missing_status_enqueues_one_refresh(make_request, post, sent, provider, hint):
    """A status the app does not know may mean the task ended: one GET settles it."""
    request = make_request(provider)
    response = post(request, body_for(request, hint))
    assert response.status_code == 200
    assert sent == refreshes(request)


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_early_callback_while_submitting_enqueues_one_refresh(make_request, post, sent, provider):
    """The first callback can beat the create call's answer: even "processing" is worth a fetch."""
    request = make_request(provider, status=Status.SUBMITTING, task_id="")
    response = post(request, body_for(request, "processing"))
    assert response.status_code == 200
    assert sent == refreshes(request)


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_early_callback_passes_its_task_id_only_while_the_create_answer_is_missing(
    make_request, post, monkeypatch, provider
):
    options = []
    monkeypatch.setattr(dispatch, "send", lambda task_name, request_id, **kw: options.append(kw))
    lost = make_request(provider, status=Status.SUBMITTING, task_id="")
    post(lost, body_for(lost, "processing"))
    known = make_request(provider, status=Status.SUBMITTED, task_id="task-9")
    post(known, body_for(known, "failed"))
    assert options == [{"kwargs": {"callback_task_id": "task-early", "early": True}}, {}]


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_early_callback_marks_its_refresh_early_only_while_the_task_runs(
    make_request, post, monkeypatch, provider
):
    """A "still running" callback that beats the create call's answer is worth a fetch
    only if that answer is still missing when the refresh runs; an "ended" one always."""
    options = []
    monkeypatch.setattr(dispatch, "send", lambda task_name, request_id, **kw: options.append(kw))
    running = make_request(provider, status=Status.SUBMITTING, task_id="")
    post(running, body_for(running, "processing"))
    ended = make_request(provider, status=Status.SUBMITTING, task_id="")
    post(ended, body_for(ended, "succeed" if provider == "kling" else "completed"))
    assert [kw["kwargs"].get("early") for kw in options] == [True, None]


def test_hint_about_another_task_enqueues_nothing(make_request, post, sent):
    request = make_request("kling", status=Status.PROCESSING)
    body = kling_body(request, "succeed", task_id="someone-elses-task")
    body["task_info"]["external_task_id"] = "00000000-0000-0000-0000-000000000000"
    response = post(request, body)
    assert response.status_code == 200
    assert sent == []


def test_hint_with_our_external_id_but_new_task_id_enqueues_one(make_request, post, sent):
    request = make_request("kling", status=Status.PROCESSING)
    response = post(request, kling_body(request, "succeed", task_id="renamed-task"))
    assert response.status_code == 200
    assert sent == refreshes(request)


def test_newer_kling_callback_shape_is_read(make_request, post, sent):
    request = make_request("kling", status=Status.PROCESSING)
    body = {"id": "task-1", "status": "succeeded", "message": "", "create_time": 1}
    response = post(request, body)
    assert response.status_code == 200
    assert sent == refreshes(request)


# -- size, format and methods --------------------------------------------------------------


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_body_over_the_cap_is_400_and_enqueues_nothing(
    make_request, post, sent, settings, provider
):
    settings.TRYON = {**settings.TRYON, "CALLBACK_MAX_BYTES": 400}
    request = make_request(provider)
    body = json.dumps(body_for(request, "failed")).encode()
    assert len(body) < 400
    at_limit = body + b" " * (400 - len(body))
    assert post(request, at_limit).status_code == 200
    assert sent == refreshes(request)
    sent.clear()
    response = post(request, at_limit + b" ")
    assert response.status_code == 400
    assert sent == []


def test_default_cap_refuses_a_megabyte(make_request, post, sent):
    request = make_request("kling")
    body = b'{"task_id": "task-1", "task_status": "succeed", "pad": "' + b"x" * 1048576 + b'"}'
    response = post(request, body)
    assert response.status_code == 400
    assert sent == []


@pytest.mark.parametrize("provider", ["kling", "piapi"])
@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[]", b'"text"', b"{}", b'{"data": "x"}', b"\xff\xfe"],
    ids=["broken", "empty", "list", "string", "no-task-id", "data-not-object", "not-utf8"],
)
def test_unreadable_body_is_400(make_request, post, sent, provider, body):
    request = make_request(provider)
    response = post(request, body)
    assert response.status_code == 400
    assert sent == []


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_get_is_405(make_request, client, sent, provider):
    request = make_request(provider)
    response = client.get(url_for(request))
    assert response.status_code == 405
    assert response["Allow"] == "POST, HEAD"
    assert sent == []


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_head_is_200_and_reveals_nothing(make_request, client, sent, provider):
    request = make_request(provider)
    assert client.head(url_for(request)).status_code == 200
    # No token oracle: HEAD answers the same for a token that matches nothing.
    assert client.head(f"/tryon/callbacks/{provider}/{'B' * 43}/").status_code == 200
    assert sent == []


# -- provider-level checks -----------------------------------------------------------------


def test_piapi_without_secret_header_is_400(make_request, post, sent):
    request = make_request("piapi")
    response = post(request, piapi_body(request), secret=False)
    assert response.status_code == 400
    assert sent == []


@pytest.mark.parametrize("wrong", ["nope", "", " "])
def test_piapi_with_wrong_secret_is_400(make_request, post, sent, wrong):
    request = make_request("piapi")
    response = post(request, piapi_body(request), **{"x-webhook-secret": wrong})
    assert response.status_code == 400
    assert sent == []


def test_piapi_with_another_requests_secret_is_400(make_request, post, sent):
    request = make_request("piapi")
    other = make_request("piapi", task_id="task-2")
    response = post(
        request, piapi_body(request), **{"x-webhook-secret": links.callback_secret(other)}
    )
    assert response.status_code == 400
    assert sent == []


def test_piapi_with_the_right_secret_is_200(make_request, post, sent):
    request = make_request("piapi")
    response = post(
        request,
        piapi_body(request),
        **{"x-webhook-secret": links.callback_secret(request)},
    )
    assert response.status_code == 200
    assert sent == refreshes(request)


def test_kling_without_a_configured_secret_needs_no_signature(make_request, post, sent):
    assert get_provider("kling").webhook_secret == ""
    request = make_request("kling")
    assert post(request, kling_body(request)).status_code == 200
    assert sent == refreshes(request)


def test_kling_unsigned_callback_is_400_when_a_secret_is_set(
    make_request, post, sent, kling_secret
):
    request = make_request("kling")
    response = post(request, kling_body(request))
    assert response.status_code == 400
    assert sent == []


def test_kling_signed_callback_is_200(make_request, post, sent, kling_secret):
    request = make_request("kling")
    body = json.dumps(kling_body(request)).encode()
    response = post(request, body, **signed_headers(body))
    assert response.status_code == 200
    assert sent == refreshes(request)


def test_kling_signature_over_another_body_is_400(make_request, post, sent, kling_secret):
    request = make_request("kling")
    body = json.dumps(kling_body(request)).encode()
    headers = signed_headers(json.dumps(kling_body(request, "processing")).encode())
    response = post(request, body, **headers)
    assert response.status_code == 400
    assert sent == []


def test_kling_signature_with_another_secret_is_400(make_request, post, sent, kling_secret):
    request = make_request("kling")
    body = json.dumps(kling_body(request)).encode()
    other = "whsec_" + base64.b64encode(b"some-other-signing-key-32-bytes!").decode()
    response = post(request, body, **signed_headers(body, secret=other))
    assert response.status_code == 400
    assert sent == []


@pytest.mark.parametrize(
    ("age", "expected"), [(-(300 + 30), 400), (300 + 30, 400), (300 - 30, 200), (-(300 - 30), 200)]
)
def test_kling_timestamp_window(make_request, post, sent, kling_secret, age, expected):
    """Older (or further ahead) than CALLBACK_TOLERANCE_SECONDS: a replay, refused."""
    request = make_request("kling")
    body = json.dumps(kling_body(request)).encode()
    headers = signed_headers(body, timestamp=int(time.time()) - age)
    response = post(request, body, **headers)
    assert response.status_code == expected
    assert sent == (refreshes(request) if expected == 200 else [])


def test_kling_tolerance_follows_the_setting(make_request, post, sent, kling_secret, settings):
    settings.TRYON = {**settings.TRYON, "CALLBACK_TOLERANCE_SECONDS": 10}
    request = make_request("kling")
    body = json.dumps(kling_body(request)).encode()
    response = post(request, body, **signed_headers(body, timestamp=int(time.time()) - 60))
    assert response.status_code == 400
    assert sent == []


# -- the body is only a hint ---------------------------------------------------------------


@pytest.mark.parametrize("provider", ["kling", "piapi"])
def test_claimed_success_with_urls_changes_nothing(make_request, post, sent, provider):
    request = make_request(provider)
    hint = "succeed" if provider == "kling" else "completed"
    response = post(request, body_for(request, hint))
    assert response.status_code == 200
    request.refresh_from_db()
    assert request.status == Status.SUBMITTED
    assert request.provider_status == "submitted"
    assert request.completed_at is None
    assert TryOnResult.objects.count() == 0
    assert RESULT_URL not in json.dumps(list(TryOnRequest.objects.values()), default=str)


def test_the_refresh_acts_on_the_providers_answer_not_the_body(
    make_request, client, monkeypatch, django_capture_on_commit_callbacks
):
    """Run the queued refresh: the provider says "processing", so no result is stored."""
    request = make_request("kling")
    adapter = get_provider("kling")
    fetched, downloaded = [], []

    def fetch(task_id):
        fetched.append(task_id)
        return ProviderTask("kling", task_id, TaskState.RUNNING, "processing")

    monkeypatch.setattr(adapter, "fetch", fetch)
    monkeypatch.setattr(results_module, "download", lambda url, **kw: downloaded.append(url))
    monkeypatch.setattr(
        dispatch, "send", lambda task_name, request_id, **kw: services.refresh(request_id)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url_for(request), kling_body(request, "succeed"), content_type="application/json"
        )
    assert response.status_code == 200
    assert fetched == ["task-1"]
    assert downloaded == []
    request.refresh_from_db()
    assert request.status == Status.PROCESSING
    assert request.provider_status == "processing"
    assert TryOnResult.objects.count() == 0


def test_token_is_never_stored_only_its_sha256(make_request, post, sent):
    request = make_request("kling")
    token = links.callback_token(request)
    assert post(request, kling_body(request)).status_code == 200
    stored = TryOnRequest.objects.values().get(pk=request.pk)
    assert stored["callback_token_hash"] == links.hash_token(token)
    assert len(stored["callback_token_hash"]) == 64
    assert token not in json.dumps(list(TryOnRequest.objects.values()), default=str)
    assert links.callback_secret(request) not in json.dumps(stored, default=str)


def client_post_other(request, token):
    from django.test import Client

    other = "kling" if request.provider == "piapi" else "piapi"
    return Client().post(
        f"/tryon/callbacks/{other}/{token}/", b"{}", content_type="application/json"
    )


def test_token_is_not_logged(make_request, post, sent, caplog):
    """Accepted and rejected callbacks alike: the URL token never reaches a log line."""
    request = make_request("piapi")
    token = links.callback_token(request)
    with caplog.at_level("DEBUG"):
        assert post(request, piapi_body(request)).status_code == 200
        assert post(request, piapi_body(request), **{"x-webhook-secret": "no"}).status_code == 400
        assert post(request, b"{not json").status_code == 400
        # The token sent to the other provider's endpoint: a 404 must not log the path either.
        assert client_post_other(request, token).status_code == 404
    assert [(r.name, r.levelname) for r in caplog.records if r.levelno >= 30] == [
        ("django_tryon", "WARNING"),
        ("django_tryon", "WARNING"),
        ("django_tryon", "WARNING"),
    ]
    assert token not in caplog.text
    assert links.callback_secret(request) not in caplog.text
