"""Kling adapter against mocked HTTP: auth, request shape, error table, statuses, callbacks."""

from __future__ import annotations

import base64
import json
import time
from decimal import Decimal

import httpx
import jwt
import pytest

from django_tryon.messages import shopper_message
from django_tryon.providers import base
from django_tryon.providers.kling import KlingProvider
from tests.adapters import raised_exactly, tryon_input
from tests.unit.scripted import Scripted

ACCESS_KEY = "ak-test-0123"
SECRET_KEY = "sk-test-a-secret-key-of-32-bytes-or-more"
NOW = 1_781_000_000.0
PERSON = b"\x89PNG\r\n\x1a\nperson-bytes\xff\xfe"
GARMENT = b"\xff\xd8\xffgarment-bytes\xfb"
PATH = "/v1/images/kolors-virtual-try-on"
WEBHOOK_SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="


class Kling(Scripted):
    """A scripted Kling, which also reads the bearer token it was sent."""

    def token(self, index: int = -1) -> str:
        return self.requests[index].headers["Authorization"].removeprefix("Bearer ")


def reply(data=None, *, code: int = 0, message: str = "SUCCEED", status: int = 200, headers=None):
    body = {"code": code, "message": message, "request_id": "req-1", "data": data}
    return httpx.Response(status, json=body, headers=headers)


def created(task_id: str = "860133213433896960", status: str = "submitted"):
    return reply({"task_id": task_id, "task_status": status, "created_at": 1, "updated_at": 1})


def task(status: str = "succeed", **extra):
    data = {
        "task_id": "860133213433896960",
        "task_status": status,
        "task_status_msg": "",
        "created_at": 1722769557708,
        "updated_at": 1722769557708,
        "task_info": {"external_task_id": "req-uuid-1"},
        "task_result": {"images": []},
    }
    data.update(extra)
    return data


def make(kling: Kling, **options) -> KlingProvider:
    opts = {"ACCESS_KEY": ACCESS_KEY, "SECRET_KEY": SECRET_KEY, **options}
    provider = KlingProvider(opts, client=httpx.Client(transport=httpx.MockTransport(kling)))
    provider._clock = lambda: NOW
    return provider


def job(**overrides) -> base.TryOnInput:
    person = base.InputImage(PERSON, "image/png", url="https://shop.test/in/person.png?sig=1")
    garment = base.InputImage(GARMENT, "image/jpeg", url="https://shop.test/in/garment.jpg?sig=2")
    return tryon_input(person, garment, "upper", {"request_id": "req-uuid-1", **overrides})


# -- configuration -------------------------------------------------------------------


def test_class_capabilities():
    assert KlingProvider.name == "kling"
    assert KlingProvider.max_batch_size == 1
    assert KlingProvider.composes_outfits is True
    assert KlingProvider.needs_input_urls is False
    assert KlingProvider.supports_find is True
    assert KlingProvider.required_options == frozenset()
    assert KlingProvider.default_base_url == "https://api-singapore.klingai.com"


def test_result_hosts_are_kling_cdns_plus_the_api_host():
    provider = make(Kling())
    assert provider.result_hosts == (
        "h1.inkwai.com",
        "h2.inkwai.com",
        "p1-kling.klingai.com",
        "p2-kling.klingai.com",
        "api-singapore.klingai.com",
    )
    assert make(Kling(), RESULT_HOSTS=["cdn.example"]).result_hosts == ("cdn.example",)


@pytest.mark.parametrize(
    ("options", "needle"),
    [
        ({}, "ACCESS_KEY, SECRET_KEY"),
        ({"ACCESS_KEY": "a"}, "SECRET_KEY"),
        ({"SECRET_KEY": "s"}, "ACCESS_KEY"),
        ({"ACCESS_KEY": "a", "SECRET_KEY": "s", "MODEL": "kolors-v2"}, "MODEL"),
        ({"API_KEY": "k", "IMAGE_TRANSPORT": "multipart"}, "IMAGE_TRANSPORT"),
        ({"API_KEY": "k", "WEBHOOK_SECRET": "whsec_%%%"}, "WEBHOOK_SECRET"),
        ({"API_KEY": "k", "TOKEN_TTL_SECONDS": 0}, "TOKEN_TTL_SECONDS"),
        ({"API_KEY": "k", "TOKEN_TTL_SECONDS": "soon"}, "TOKEN_TTL_SECONDS"),
        ({"API_KEY": "k", "REGION": "sg"}, "REGION"),
    ],
)
def test_bad_configuration_names_the_setting(options, needle):
    with pytest.raises(base.ProviderConfigurationError) as caught:
        KlingProvider(options, client=httpx.Client(transport=httpx.MockTransport(Kling())))
    assert needle in str(caught.value)


def test_configuration_errors_never_show_keys():
    with pytest.raises(base.ProviderConfigurationError) as caught:
        KlingProvider({"ACCESS_KEY": ACCESS_KEY, "MODEL": "nope"})
    assert ACCESS_KEY not in str(caught.value)


def test_url_transport_needs_input_urls_on_the_instance_only():
    provider = make(Kling(), IMAGE_TRANSPORT="url")
    assert provider.needs_input_urls is True
    assert KlingProvider.needs_input_urls is False
    assert make(Kling()).needs_input_urls is False


def test_estimate_cost_is_one_unit():
    assert make(Kling()).estimate_cost(1) == (Decimal("1"), "units")


def test_cancel_is_not_supported():
    with pytest.raises(base.CancelNotSupported):
        make(Kling()).cancel("1")


# -- JWT -----------------------------------------------------------------------------


def test_jwt_header_and_claims():
    kling = Kling(created())
    make(kling).submit(job())
    token = kling.token()
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    claims = jwt.decode(
        token,
        SECRET_KEY,
        algorithms=["HS256"],
        options={"verify_exp": False, "verify_nbf": False},
    )
    assert claims == {"iss": ACCESS_KEY, "exp": int(NOW) + 1800, "nbf": int(NOW) - 5}


def test_jwt_verifies_with_the_secret_key_at_the_current_time():
    kling = Kling(created())
    provider = make(kling)
    provider._clock = time.time
    provider.submit(job())
    claims = jwt.decode(kling.token(), SECRET_KEY, algorithms=["HS256"])
    assert claims["iss"] == ACCESS_KEY
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(kling.token(), "another-secret-key-of-32-bytes-or-more", algorithms=["HS256"])


def test_token_ttl_option():
    kling = Kling(created())
    make(kling, TOKEN_TTL_SECONDS=600).submit(job())
    claims = jwt.decode(kling.token(), options={"verify_signature": False})
    assert claims["exp"] == int(NOW) + 600


def test_token_is_reused_until_60_seconds_before_expiry():
    kling = Kling(created(), reply(task()), reply(task()), reply(task()))
    provider = make(kling)
    provider.submit(job())
    provider._clock = lambda: NOW + 1800 - 61
    provider.fetch("1")
    assert kling.token(0) == kling.token(1)
    provider._clock = lambda: NOW + 1800 - 60
    provider.fetch("1")
    assert kling.token(2) != kling.token(1)
    claims = jwt.decode(kling.token(2), options={"verify_signature": False})
    assert claims["exp"] == int(NOW) + 1800 - 60 + 1800
    provider.fetch("1")
    assert kling.token(3) == kling.token(2)


@pytest.mark.parametrize("code", [1003, 1004])
def test_token_rejected_mints_a_new_one_and_retries_once(code):
    kling = Kling(reply(code=code, message="token expired", status=401), created("42"))
    result = make(kling).submit(job())
    assert result.task_id == "42"
    assert len(kling.requests) == 2
    assert kling.requests[1].url == kling.requests[0].url
    assert kling.json(0) == kling.json(1)


def test_token_retry_bypasses_the_cached_token():
    """The cached token is far from expiry, yet the retry mints from the clock again."""
    kling = Kling(reply(code=1004, status=401), created("42"))
    provider = make(kling)
    clock = iter([NOW, NOW + 1])
    provider._clock = lambda: next(clock)
    provider.submit(job())
    first = jwt.decode(kling.token(0), options={"verify_signature": False})
    second = jwt.decode(kling.token(1), options={"verify_signature": False})
    assert (first["nbf"], second["nbf"]) == (int(NOW) - 5, int(NOW) - 4)


@pytest.mark.parametrize("code", [1003, 1004])
def test_token_rejected_twice_is_an_auth_error(code):
    kling = Kling(reply(code=code, status=401), reply(code=code, status=401))
    with pytest.raises(base.ProviderAuthError) as caught:
        make(kling).fetch("1")
    assert len(kling.requests) == 2
    assert caught.value.code == str(code)


def test_plain_api_key_mode_sends_the_key_and_never_retries():
    kling = Kling(created(), reply(code=1004, status=401))
    provider = make(kling, API_KEY="plain-api-key", ACCESS_KEY="", SECRET_KEY="")
    provider.submit(job())
    assert kling.requests[0].headers["Authorization"] == "Bearer plain-api-key"
    with pytest.raises(base.ProviderAuthError):
        provider.fetch("1")
    assert len(kling.requests) == 2


def test_api_key_wins_over_access_keys():
    kling = Kling(created())
    make(kling, API_KEY="plain-api-key").submit(job())
    assert kling.requests[0].headers["Authorization"] == "Bearer plain-api-key"


# -- create --------------------------------------------------------------------------


def test_submit_sends_raw_base64_without_data_prefix():
    kling = Kling(created("860133213433896960"))
    result = make(kling).submit(job())
    request = kling.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://api-singapore.klingai.com" + PATH
    body = kling.json()
    assert body == {
        "model_name": "kolors-virtual-try-on-v1",
        "human_image": base64.b64encode(PERSON).decode("ascii"),
        "cloth_image": base64.b64encode(GARMENT).decode("ascii"),
        "external_task_id": "req-uuid-1",
    }
    assert not body["human_image"].startswith("data:")
    assert base64.b64decode(body["human_image"], validate=True) == PERSON
    assert result.task_id == "860133213433896960"
    assert result.state is base.TaskState.QUEUED
    assert result.raw_status == "submitted"
    assert result.external_id == "req-uuid-1"
    assert result.provider == "kling"


def test_submit_url_mode_sends_the_signed_urls():
    kling = Kling(created())
    make(kling, IMAGE_TRANSPORT="url").submit(job())
    body = kling.json()
    assert body["human_image"] == "https://shop.test/in/person.png?sig=1"
    assert body["cloth_image"] == "https://shop.test/in/garment.jpg?sig=2"


def test_submit_url_mode_without_url_is_invalid_before_any_request():
    kling = Kling()
    with pytest.raises(base.InvalidInput):
        make(kling, IMAGE_TRANSPORT="url").submit(job(person=base.InputImage(PERSON)))
    assert kling.requests == []


def test_submit_sends_callback_url_only_when_given():
    kling = Kling(created(), created())
    provider = make(kling)
    provider.submit(job(callback_url="https://shop.test/tryon/cb/kling/abc?t=tok"))
    assert kling.json()["callback_url"] == "https://shop.test/tryon/cb/kling/abc?t=tok"
    provider.submit(job())
    assert "callback_url" not in kling.json()


def test_submit_model_and_base_url_options():
    kling = Kling(created())
    make(kling, MODEL="kolors-virtual-try-on-v1-5", BASE_URL="http://127.0.0.1:9/").submit(job())
    assert str(kling.requests[0].url) == "http://127.0.0.1:9" + PATH
    assert kling.json()["model_name"] == "kolors-virtual-try-on-v1-5"


def test_submit_refuses_a_second_garment():
    kling = Kling()
    with pytest.raises(base.InvalidInput) as caught:
        make(kling).submit(job(lower_garment=base.InputImage(GARMENT)))
    assert caught.value.provider == "kling"
    assert kling.requests == []


@pytest.mark.parametrize("batch_size", [0, 2, 4])
def test_submit_refuses_batches(batch_size):
    kling = Kling()
    with pytest.raises(base.InvalidInput):
        make(kling).submit(job(batch_size=batch_size))
    assert kling.requests == []


def test_submit_code_0_without_task_id_is_unavailable():
    with pytest.raises(base.ProviderUnavailable):
        make(Kling(reply({}))).submit(job())


# -- error table ---------------------------------------------------------------------

ERROR_TABLE = [
    (401, 1000, base.ProviderAuthError),
    (401, 1001, base.ProviderAuthError),
    (401, 1002, base.ProviderAuthError),
    (429, 1100, base.ProviderAccountError),
    (429, 1101, base.ProviderAccountError),
    (429, 1102, base.ProviderAccountError),
    (403, 1103, base.ProviderAccountError),
    (400, 1200, base.InvalidInput),
    (400, 1201, base.InvalidInput),
    (404, 1202, base.ProviderAccountError),
    (404, 1203, base.ProviderAccountError),
    (400, 1300, base.ContentRefused),
    (400, 1301, base.ContentRefused),
    (429, 1302, base.RateLimited),
    (429, 1303, base.RateLimited),
    (429, 1304, base.ProviderAccountError),
    (500, 5000, base.ProviderUnavailable),
    (503, 5001, base.ProviderUnavailable),
    (504, 5002, base.ProviderUnavailable),
]


@pytest.mark.parametrize(("status", "code", "error"), ERROR_TABLE)
def test_error_table_on_create(status, code, error):
    kling = Kling(reply(code=code, message=f"kling says {code}", status=status))
    with pytest.raises(error) as caught:
        make(kling).submit(job())
    exc = caught.value
    assert type(exc) is error
    assert exc.provider == "kling"
    assert exc.http_status == status
    assert exc.code == str(code)
    assert exc.message == f"kling says {code}"
    assert exc.user_message
    for secret in (ACCESS_KEY, SECRET_KEY, kling.token()):
        assert secret not in str(exc)
        assert secret not in exc.user_message
    assert len(kling.requests) == 1


@pytest.mark.parametrize(("status", "code", "error"), ERROR_TABLE)
def test_error_table_with_http_200(status, code, error):
    """HTTP 200 is not success: the body code decides."""
    kling = Kling(reply(code=code, message="nope", status=200))
    with pytest.raises(error) as caught:
        make(kling).submit(job())
    assert caught.value.http_status == 200


@pytest.mark.parametrize("code", [1202, 1203])
def test_missing_resource_on_fetch_is_task_not_found(code):
    with pytest.raises(base.TaskNotFound) as caught:
        make(Kling(reply(code=code, message="not exist", status=404))).fetch("1")
    assert caught.value.code == str(code)


def test_retryability_follows_the_table():
    assert base.RateLimited.retryable is True
    assert base.ProviderUnavailable.retryable is True
    assert base.ContentRefused.retryable is False
    assert base.ProviderAccountError.retryable is False


def test_content_refused_tells_the_shopper_about_the_content_policy():
    with pytest.raises(base.ContentRefused) as caught:
        make(Kling(reply(code=1301, message="risk control", status=400))).submit(job())
    assert caught.value.user_message == shopper_message("content_refused")


def test_rate_limit_honours_retry_after():
    kling = Kling(reply(code=1303, status=429, headers={"Retry-After": "7"}))
    with pytest.raises(base.RateLimited) as caught:
        make(kling).submit(job())
    assert caught.value.retry_after == 7.0


def test_rate_limit_without_retry_after():
    with pytest.raises(base.RateLimited) as caught:
        make(Kling(reply(code=1302, status=429))).submit(job())
    assert caught.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, base.RateLimited),
        (500, base.ProviderUnavailable),
        (502, base.ProviderUnavailable),
        (400, base.PermanentProviderError),
        (418, base.PermanentProviderError),
        (200, base.ProviderUnavailable),
    ],
)
def test_unknown_code_falls_back_to_http_status(status, error):
    caught = raised_exactly(
        error,
        lambda: make(Kling(reply(code=9999, message="new code", status=status))).submit(job()),
    )
    assert caught.code == "9999"


def test_unknown_code_404_on_fetch_is_task_not_found():
    with pytest.raises(base.TaskNotFound):
        make(Kling(reply(code=9999, status=404))).fetch("1")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(502, text="<html>bad gateway</html>"),
        httpx.Response(404, text="not found"),
        httpx.Response(200, json=["not", "an", "envelope"]),
        httpx.Response(200, json={"data": {"task_id": "1"}}),
        # Too deep for json.loads: RecursionError, not ValueError, escaped the adapter.
        httpx.Response(200, text='{"data": ' * 5000 + "1" + "}" * 5000),
    ],
)
def test_unparseable_body_is_unavailable(response):
    with pytest.raises(base.ProviderUnavailable):
        make(Kling(response)).fetch("1")


def test_unparseable_429_is_rate_limited():
    with pytest.raises(base.RateLimited) as caught:
        make(Kling(httpx.Response(429, text="slow down", headers={"Retry-After": "3"}))).fetch("1")
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("timed out"),
        httpx.ConnectError("refused"),
        httpx.RemoteProtocolError("eof"),
    ],
)
def test_transport_errors_are_unavailable(exc):
    def handler(request):
        raise exc

    provider = make(handler)
    with pytest.raises(base.ProviderUnavailable) as caught:
        provider.submit(job())
    assert caught.value.provider == "kling"
    assert caught.value.retryable is True


# -- fetch ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["succeed", "succeeded", "SUCCEED"])
def test_fetch_succeeded(status):
    images = [
        {"index": 2, "url": "https://h1.inkwai.com/c.png"},
        {"index": 0, "url": "https://h1.inkwai.com/a.png"},
        {"index": 1, "url": "https://h1.inkwai.com/b.png"},
    ]
    data = task(status, final_unit_deduction="1.5", task_result={"images": images})
    kling = Kling(reply(data))
    result = make(kling).fetch("860133213433896960")
    assert kling.requests[0].method == "GET"
    assert kling.requests[0].url.path == PATH + "/860133213433896960"
    assert result.state is base.TaskState.SUCCEEDED
    assert result.raw_status == status
    assert result.image_urls == [
        "https://h1.inkwai.com/a.png",
        "https://h1.inkwai.com/b.png",
        "https://h1.inkwai.com/c.png",
    ]
    assert result.cost == Decimal("1.5")
    assert result.cost_currency == "units"
    assert result.external_id == "req-uuid-1"
    assert result.task_id == "860133213433896960"
    assert result.raw == data
    assert result.error_code == ""


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("submitted", base.TaskState.QUEUED),
        ("processing", base.TaskState.RUNNING),
        ("something_new", base.TaskState.RUNNING),
        ("", base.TaskState.RUNNING),
    ],
)
def test_fetch_in_progress_states(status, state):
    result = make(Kling(reply(task(status)))).fetch("1")
    assert result.state is state
    assert result.raw_status == status
    assert result.image_urls == []
    assert result.cost is None
    assert result.cost_currency == ""


def test_fetch_failed_carries_kling_reason():
    result = make(Kling(reply(task("failed", task_status_msg="Image pixel is invalid")))).fetch("1")
    assert result.state is base.TaskState.FAILED
    assert result.message == "Image pixel is invalid"
    assert result.error_code == "provider_failed"


@pytest.mark.parametrize(
    "reason",
    [
        "Failure to pass the risk control system",
        "content risk control",
        "The image contains sensitive content",
        "violates the content security policy",
    ],
)
def test_fetch_failed_by_moderation_is_content_refused(reason):
    result = make(Kling(reply(task("failed", task_status_msg=reason)))).fetch("1")
    assert result.state is base.TaskState.FAILED
    assert result.error_code == "content_refused"
    assert result.message == reason


def test_fetch_failed_without_reason_still_explains():
    result = make(Kling(reply(task("failed")))).fetch("1")
    assert result.message == "Kling reported the task as failed without a reason"
    assert result.error_code == "provider_failed"


def test_fetch_succeeded_without_images_is_failed():
    data = task("succeed", task_result={"images": [{"index": 0, "url": ""}]})
    result = make(Kling(reply(data))).fetch("1")
    assert result.state is base.TaskState.FAILED
    assert result.message == "Kling reported success but returned no result image"
    assert result.error_code == "no_result"
    assert result.image_urls == []


def test_fetch_tolerates_missing_optional_parts():
    data = {"task_id": 77, "task_status": "processing"}
    result = make(Kling(reply(data))).fetch("77")
    assert result.task_id == "77"
    assert result.external_id == ""
    assert result.cost is None


def test_fetch_code_0_without_task_is_unavailable():
    with pytest.raises(base.ProviderUnavailable):
        make(Kling(reply(None))).fetch("1")


def test_fetch_quotes_the_task_id():
    kling = Kling(reply(task("processing")))
    make(kling).fetch("../x")
    assert kling.requests[0].url.raw_path.decode() == PATH + "/..%2Fx"


# -- find ----------------------------------------------------------------------------


def test_find_by_external_id():
    data = task("processing")
    kling = Kling(reply(data))
    result = make(kling).find("req-uuid-1")
    assert kling.requests[0].url.path == PATH + "/req-uuid-1"
    assert result is not None
    assert result.task_id == "860133213433896960"
    assert result.external_id == "req-uuid-1"
    assert result.state is base.TaskState.RUNNING


@pytest.mark.parametrize("code", [1202, 1203])
def test_find_returns_none_when_kling_has_no_task(code):
    assert make(Kling(reply(code=code, status=404))).find("req-uuid-1") is None


def test_find_returns_none_for_an_unknown_code_404():
    assert make(Kling(reply(code=9999, status=404))).find("req-uuid-1") is None


def test_find_returns_none_for_a_failed_task_not_found():
    data = task("failed", task_status_msg="task not found")
    assert make(Kling(reply(data))).find("req-uuid-1") is None


def test_find_returns_other_failed_tasks():
    data = task("failed", task_status_msg="Image pixel is invalid")
    result = make(Kling(reply(data))).find("req-uuid-1")
    assert result is not None
    assert result.state is base.TaskState.FAILED


def test_find_does_not_mistake_an_outage_for_absence():
    with pytest.raises(base.ProviderUnavailable):
        make(Kling(reply(code=5000, status=500))).find("req-uuid-1")
    with pytest.raises(base.ProviderUnavailable):
        make(Kling(httpx.Response(404, text="<html>"))).find("req-uuid-1")


# -- callbacks -----------------------------------------------------------------------


def test_parse_legacy_callback():
    body = json.dumps(task("succeed", task_id="860133213433896960")).encode()
    hint = make(Kling()).parse_callback(body, {})
    assert hint == base.CallbackHint(
        task_id="860133213433896960", raw_status="succeed", external_id="req-uuid-1"
    )


def test_parse_new_callback_shape():
    body = (
        b'{"id":"1234567890","status":"succeeded","message":"",'
        b'"create_time":1781080778802,"update_time":1781080794151,"outputs":[]}'
    )
    hint = make(Kling()).parse_callback(body, {})
    assert hint == base.CallbackHint(task_id="1234567890", raw_status="succeeded", external_id="")


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"status": "succeed"}', b'{"task_id": ""}', b"\xff\xfe", b""],
)
def test_parse_callback_rejects_non_callbacks(body):
    with pytest.raises(ValueError):
        make(Kling()).parse_callback(body, {})


def test_verify_callback_without_webhook_secret_accepts():
    assert make(Kling()).verify_callback(b"{}", {}, request_secret="") is True


SIGNED_BODY = (
    b'{"id":"1234567890","status":"succeeded","message":"",'
    b'"create_time":1781080778802,"update_time":1781080794151}'
)
SIGNED_HEADERS = {
    "webhook-id": "9876543210",
    "webhook-timestamp": "1781080794",
    "webhook-signature": "v1,UsKlJP00XoQyOn410NM9xv34sP+Gl0jnOO9Lcpr7NJ4=",
}


def test_verify_callback_checks_the_standard_webhooks_signature(settings):
    settings.TRYON = {}
    provider = make(Kling(), WEBHOOK_SECRET=WEBHOOK_SECRET)
    provider._clock = lambda: 1781080794 + 100
    assert provider.verify_callback(SIGNED_BODY, SIGNED_HEADERS, request_secret="x") is True
    assert provider.verify_callback(SIGNED_BODY + b" ", SIGNED_HEADERS, request_secret="x") is (
        False
    )
    assert provider.verify_callback(SIGNED_BODY, {}, request_secret="x") is False


def test_verify_callback_reads_the_tolerance_setting(settings):
    settings.TRYON = {"CALLBACK_TOLERANCE_SECONDS": 60}
    provider = make(Kling(), WEBHOOK_SECRET=WEBHOOK_SECRET)
    provider._clock = lambda: 1781080794 + 61
    assert provider.verify_callback(SIGNED_BODY, SIGNED_HEADERS, request_secret="") is False
    provider._clock = lambda: 1781080794 + 59
    assert provider.verify_callback(SIGNED_BODY, SIGNED_HEADERS, request_secret="") is True


def test_verify_callback_default_tolerance_is_five_minutes(settings):
    settings.TRYON = {}
    provider = make(Kling(), WEBHOOK_SECRET=WEBHOOK_SECRET)
    provider._clock = lambda: 1781080794 + 301
    assert provider.verify_callback(SIGNED_BODY, SIGNED_HEADERS, request_secret="") is False


def test_find_returns_none_for_task_not_found_without_task_id():
    data = {"task_status": "failed", "task_status_msg": "task not found"}
    assert make(Kling(reply(data))).find("req-uuid-1") is None


def test_fetch_uses_the_requested_id_when_kling_omits_it():
    result = make(Kling(reply({"task_status": "processing"}))).fetch("860133213433896960")
    assert result.task_id == "860133213433896960"
    assert result.state is base.TaskState.RUNNING


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("submitted", base.TaskState.QUEUED),
        ("processing", base.TaskState.RUNNING),
        ("succeed", base.TaskState.SUCCEEDED),
        ("succeeded", base.TaskState.SUCCEEDED),
        ("Succeed", base.TaskState.SUCCEEDED),
        ("failed", base.TaskState.FAILED),
        ("paused", base.TaskState.RUNNING),
    ],
)
def test_normalise_status_for_callback_hints(raw, state):
    """The callback view reads hints through normalise_status: terminal ones must show."""
    assert make(Kling()).normalise_status(raw) is state
