"""The sandbox's Kling API refuses what Kling refuses and answers what Kling answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import subprocess
import sys
import time

import httpx
import jwt
import pytest
from PIL import Image

from django_tryon.sandbox import Sandbox, sign_webhook

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

PATH = "/v1/images/kolors-virtual-try-on"
ENVELOPE_KEYS = {"code", "message", "request_id", "data"}

# The Standard Webhooks test vector from PROVIDERS.md.
VECTOR_SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="
VECTOR_ID = "9876543210"
VECTOR_TIMESTAMP = 1781080794
VECTOR_BODY = (
    '{"id":"1234567890","status":"succeeded","message":"","create_time":1781080778802,'
    '"update_time":1781080794151}'
)
VECTOR_SIGNATURE = "v1,UsKlJP00XoQyOn410NM9xv34sP+Gl0jnOO9Lcpr7NJ4="


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def token(
    iss="sandbox-access-key", secret="sandbox-secret-key-0123456789abcdef", alg="HS256", **claims
):
    """Mint a JWT with pyjwt, the way a client following Kling's docs does."""
    now = int(time.time())
    payload = {"iss": iss, "exp": now + 1800, "nbf": now - 5, **claims}
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=alg, headers={"typ": "JWT"})


def verify_standard_webhook(secret: str, headers: dict, body: bytes) -> bool:
    """An independent Standard Webhooks verifier (not the sandbox's signer)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    candidates = [s.partition(",")[2] for s in headers["webhook-signature"].split()]
    return any(hmac.compare_digest(expected, c) for c in candidates)


def assert_error(response: httpx.Response, http: int, code: int) -> dict:
    body = response.json()
    assert response.status_code == http, body
    assert set(body) == ENVELOPE_KEYS
    assert body["code"] == code, body
    assert body["data"] is None
    assert body["request_id"]
    return body


# -- signing ------------------------------------------------------------------------------


def test_signer_matches_the_standard_webhooks_test_vector():
    assert sign_webhook(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == (
        VECTOR_SIGNATURE
    )
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    assert verify_standard_webhook(VECTOR_SECRET, headers, VECTOR_BODY.encode())
    assert not verify_standard_webhook(VECTOR_SECRET, headers, VECTOR_BODY.encode() + b" ")


# -- happy path ---------------------------------------------------------------------------


def test_create_answers_the_documented_envelope_and_data(kling, kling_body):
    response = kling.post(PATH, json=kling_body)
    body = response.json()
    assert response.status_code == 200
    assert set(body) == ENVELOPE_KEYS
    assert body["code"] == 0
    data = body["data"]
    assert set(data) == {"task_id", "task_status", "created_at", "updated_at"}
    assert data["task_status"] == "submitted"
    assert isinstance(data["task_id"], str) and data["task_id"].isdigit()
    assert abs(data["created_at"] - time.time() * 1000) < 5000  # Unix milliseconds


def test_query_after_success_has_result_and_deduction(sandbox, kling, kling_body):
    kling_body["external_task_id"] = "order-1"
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    body = kling.get(f"{PATH}/{task_id}").json()
    assert body["code"] == 0
    data = body["data"]
    assert data["task_id"] == task_id
    assert data["task_status"] == "succeed"
    assert data["task_status_msg"] == ""
    assert data["final_unit_deduction"] == "1"
    assert data["task_info"] == {"external_task_id": "order-1"}
    assert data["updated_at"] >= data["created_at"]
    [image] = data["task_result"]["images"]
    assert image["index"] == 0
    assert image["url"].startswith(sandbox.url + "/")


def test_status_follows_the_clock(sandbox, kling, kling_body):
    sandbox.configure(queue_seconds=60, generation_seconds=60)
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]

    def status():
        return kling.get(f"{PATH}/{task_id}").json()["data"]

    assert status()["task_status"] == "submitted"
    assert "task_result" not in status()
    assert "final_unit_deduction" not in status()
    sandbox.fast_forward(60)
    assert status()["task_status"] == "processing"
    sandbox.fast_forward(60)
    assert status()["task_status"] == "succeed"


def test_query_by_external_task_id_returns_the_same_task(kling, kling_body):
    kling_body["external_task_id"] = "shop-req-42"
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    data = kling.get(f"{PATH}/shop-req-42").json()["data"]
    assert data["task_id"] == task_id
    assert data["task_info"]["external_task_id"] == "shop-req-42"


def test_unknown_task_comes_back_as_failed_task_not_found(kling):
    body = kling.get(f"{PATH}/123456").json()
    assert body["code"] == 0
    assert body["data"]["task_status"] == "failed"
    assert body["data"]["task_status_msg"] == "task not found"


def test_unknown_task_can_answer_404_1203(sandbox, kling):
    sandbox.configure(kling_unknown_task="not_found")
    assert_error(kling.get(f"{PATH}/123456"), 404, 1203)


def test_accepts_jpeg_and_both_models_and_default_model(sandbox, kling, kling_body, make_image):
    kling_body["human_image"] = b64(make_image(300, 300, "JPEG"))  # the minimum size passes
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    kling_body["model_name"] = "kolors-virtual-try-on-v1"
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    del kling_body["model_name"]
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    assert len(sandbox.tasks) == 3


def test_image_urls_are_fetched_and_checked(sandbox, kling, kling_body, file_host, make_image):
    kling_body["human_image"] = file_host.add("/human.png", make_image(500, 700))
    kling_body["cloth_image"] = file_host.add("/cloth.jpg", make_image(400, 400, "JPEG"))
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    assert file_host.fetched == ["/human.png", "/cloth.jpg"]

    kling_body["human_image"] = file_host.url + "/missing.png"
    body = assert_error(kling.post(PATH, json=kling_body), 400, 1201)
    assert "human_image" in body["message"]
    kling_body["human_image"] = file_host.add("/small.png", make_image(299, 700))
    body = assert_error(kling.post(PATH, json=kling_body), 400, 1201)
    assert "300" in body["message"]


# -- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, 1001),
        ("", 1001),
        ("Basic c2FuZGJveDpzYW5kYm94", 1002),
        ("Bearer", 1002),
        ("Bearer not-a-jwt", 1002),
        ("Bearer a.b.c", 1002),
        (lambda: "Bearer " + token(secret="a-different-secret-key"), 1002),
        (lambda: "Bearer " + token(iss="someone-else"), 1002),
        (lambda: "Bearer " + token(iss=None), 1002),
        (lambda: "Bearer " + token(exp=None), 1002),
        (lambda: "Bearer " + token(alg="HS512"), 1002),
        (lambda: "Bearer " + token(exp=int(time.time()) - 10), 1004),
        (lambda: "Bearer " + token(nbf=int(time.time()) + 600), 1003),
    ],
    ids=[
        "missing",
        "empty",
        "basic-scheme",
        "bearer-without-token",
        "garbage",
        "bad-base64",
        "wrong-secret",
        "wrong-iss",
        "no-iss",
        "no-exp",
        "wrong-alg",
        "expired",
        "not-yet-valid",
    ],
)
def test_authentication_failures_answer_401_with_their_code(sandbox, kling_body, header, code):
    headers = {}
    if callable(header):
        header = header()
    if header is not None:
        headers["Authorization"] = header
    for method, path, body in (("POST", PATH, kling_body), ("GET", f"{PATH}/1", None)):
        response = httpx.request(method, sandbox.url + path, json=body, headers=headers)
        assert_error(response, 401, code)
    assert sandbox.tasks == []


def test_unsigned_alg_none_token_is_refused(sandbox):
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    claims = {"iss": "sandbox-access-key", "exp": int(time.time()) + 600}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    response = httpx.get(
        sandbox.url + PATH, headers={"Authorization": f"Bearer {header}.{payload}."}
    )
    assert_error(response, 401, 1002)


def test_valid_pyjwt_token_passes(sandbox):
    response = httpx.get(sandbox.url + PATH, headers={"Authorization": f"Bearer {token()}"})
    assert response.status_code == 200
    assert response.json()["code"] == 0


def test_custom_keys_and_plain_api_key_mode(kling_body):
    with Sandbox(
        port=0,
        kling_access_key="AK-custom",
        kling_secret_key="SK-custom-0123456789-0123456789-01",
        kling_api_key="plain-api-key",
        queue_seconds=0,
        generation_seconds=0,
    ) as sb:
        url = sb.url + PATH

        def get(auth):
            return httpx.get(url, headers={"Authorization": auth})

        assert get("Bearer plain-api-key").json()["code"] == 0
        good_jwt = token(iss="AK-custom", secret="SK-custom-0123456789-0123456789-01")
        assert get(f"Bearer {good_jwt}").json()["code"] == 0
        assert_error(get("Bearer plain-api-key-wrong"), 401, 1002)
        assert_error(get(f"Bearer {token()}"), 401, 1002)  # default keys no longer valid


# -- validation ---------------------------------------------------------------------------


def _half(text: str) -> str:
    """The first half of a base64 string, still valid base64 but a truncated file."""
    return text[: len(text) // 8 * 4]


def _big_png(make_image, size: int) -> bytes:
    """A valid PNG padded after IEND to exactly ``size`` bytes (decoders ignore the tail)."""
    data = make_image(400, 400)
    return data + b"\0" * (size - len(data))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda b, mk: b.update(human_image="data:image/png;base64," + b["human_image"]), "data:"),
        (lambda b, mk: b.update(cloth_image="data:image/png;base64," + b["cloth_image"]), "data:"),
        (lambda b, mk: b.update(human_image=b64(mk(299, 600))), "300"),
        (lambda b, mk: b.update(cloth_image=b64(mk(600, 299))), "300"),
        (lambda b, mk: b.update(human_image=b64(mk(400, 600, "GIF"))), "JPG/JPEG/PNG"),
        (lambda b, mk: b.update(human_image=b64(mk(400, 600, "WEBP"))), "JPG/JPEG/PNG"),
        (lambda b, mk: b.update(human_image=b64(b"hello, not an image")), "JPG/JPEG/PNG"),
        (lambda b, mk: b.update(human_image=b64(mk(400, 600))[:-1]), "human_image"),
        (lambda b, mk: b.update(human_image=_half(b64(mk(400, 600)))), "corrupt or truncated"),
        (lambda b, mk: b.update(human_image="%%% not base64 %%%"), "human_image"),
        (lambda b, mk: b.update(human_image=b64(_big_png(mk, 10 * 1024 * 1024 + 1))), "10MB"),
        (lambda b, mk: b.update(model_name="kolors-virtual-try-on-v2"), "model_name"),
        (lambda b, mk: b.update(model_name=15), "model_name"),
        (lambda b, mk: b.pop("human_image"), "human_image"),
        (lambda b, mk: b.pop("cloth_image"), "cloth_image"),
        (lambda b, mk: b.update(human_image=""), "human_image"),
        (lambda b, mk: b.update(human_image=["x"]), "human_image"),
        (lambda b, mk: b.update(callback_url="not a url"), "callback_url"),
        (lambda b, mk: b.update(external_task_id=12), "external_task_id"),
    ],
    ids=[
        "human-data-uri",
        "cloth-data-uri",
        "299px-wide",
        "299px-high",
        "gif",
        "webp",
        "not-an-image",
        "bad-base64-padding",
        "truncated-image",
        "not-base64",
        "over-10MB",
        "unknown-model",
        "model-not-string",
        "missing-human",
        "missing-cloth",
        "empty-human",
        "human-not-string",
        "bad-callback-url",
        "external-id-not-string",
    ],
)
def test_create_refuses_invalid_input_with_1201(
    sandbox, kling, kling_body, make_image, change, needle
):
    change(kling_body, make_image)
    body = assert_error(kling.post(PATH, json=kling_body), 400, 1201)
    assert needle in body["message"]
    assert sandbox.tasks == []


def test_exactly_10MB_is_accepted(kling, kling_body, make_image):
    kling_body["human_image"] = b64(_big_png(make_image, 10 * 1024 * 1024))
    assert kling.post(PATH, json=kling_body).json()["code"] == 0


def test_body_that_is_not_a_json_object_is_refused(kling):
    assert_error(kling.post(PATH, content=b"human_image=x"), 400, 1200)
    assert_error(kling.post(PATH, json=["x"]), 400, 1200)


def test_duplicate_external_task_id_is_refused(sandbox, kling, kling_body):
    kling_body["external_task_id"] = "dup-1"
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    body = assert_error(kling.post(PATH, json=kling_body), 400, 1201)
    assert "external_task_id" in body["message"]
    assert "dup" in body["message"]
    kling_body["external_task_id"] = "dup-2"
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    kling_body["external_task_id"] = ""  # empty means none: never a duplicate
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    assert len(sandbox.tasks) == 4


def test_wrong_method_or_path_answers_404_1202(kling):
    assert_error(kling.delete(f"{PATH}/1"), 404, 1202)
    assert_error(kling.put(PATH, json={}), 404, 1202)
    assert_error(kling.get("/v1/images/unknown"), 404, 1202)


# -- concurrency slots ----------------------------------------------------------------------


def test_slots_limit_parallel_tasks_with_1303(sandbox, kling, kling_body):
    sandbox.configure(slots=2, queue_seconds=60, generation_seconds=60)
    first = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    assert kling.post(PATH, json=kling_body).json()["code"] == 0
    body = assert_error(kling.post(PATH, json=kling_body), 429, 1303)
    assert body["message"] == "parallel task over resource pack limit"
    assert kling.get(f"{PATH}/{first}").json()["code"] == 0  # queries use no slot
    assert kling.get(PATH).json()["code"] == 0
    sandbox.fast_forward(120)  # both tasks end and free their slots
    assert kling.post(PATH, json=kling_body).json()["code"] == 0


def test_failed_task_frees_its_slot(sandbox, kling, kling_body):
    sandbox.configure(slots=1, queue_seconds=0, generation_seconds=60)
    sandbox.set_faults(task_fail=1)
    kling.post(PATH, json=kling_body)
    assert_error(kling.post(PATH, json=kling_body), 429, 1303)
    sandbox.fast_forward(60)
    assert kling.post(PATH, json=kling_body).json()["code"] == 0


# -- list ---------------------------------------------------------------------------------


def test_list_pages_newest_first(kling, kling_body):
    ids = [kling.post(PATH, json=kling_body).json()["data"]["task_id"] for _ in range(3)]
    everything = kling.get(PATH).json()
    assert everything["code"] == 0
    assert [t["task_id"] for t in everything["data"]] == ids[::-1]
    first = kling.get(PATH, params={"pageNum": 1, "pageSize": 2}).json()["data"]
    second = kling.get(PATH, params={"pageNum": 2, "pageSize": 2}).json()["data"]
    assert [t["task_id"] for t in first] == [ids[2], ids[1]]
    assert [t["task_id"] for t in second] == [ids[0]]
    assert kling.get(PATH, params={"pageNum": 3, "pageSize": 2}).json()["data"] == []
    assert kling.get(PATH, params={"pageNum": 1000, "pageSize": 500}).json()["code"] == 0
    assert first[0]["task_status"] == "succeed"


@pytest.mark.parametrize(
    "params",
    [
        {"pageNum": 0},
        {"pageNum": 1001},
        {"pageSize": 0},
        {"pageSize": 501},
        {"pageNum": "abc"},
        {"pageSize": "-1"},
        {"pageSize": "2.5"},
    ],
)
def test_list_refuses_out_of_range_pages(kling, params):
    body = assert_error(kling.get(PATH, params=params), 400, 1201)
    assert next(iter(params)) in body["message"]


# -- callbacks ----------------------------------------------------------------------------


def test_callbacks_post_the_query_data_on_every_status_change(sandbox, kling, kling_body, receiver):
    kling_body["callback_url"] = receiver.url + "/hook?token=abc"
    kling_body["external_task_id"] = "cb-1"
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    received = receiver.wait_for_posts(3)
    bodies = [json.loads(r["body"]) for r in received]
    assert [b["task_status"] for b in bodies] == ["submitted", "processing", "succeed"]
    assert all(b["task_id"] == task_id for b in bodies)
    assert all(r["path"] == "/hook?token=abc" for r in received)
    assert bodies[-1] == kling.get(f"{PATH}/{task_id}").json()["data"]
    assert all("webhook-signature" not in r["headers"] for r in received)  # unsigned default
    sent = sandbox.wait_for_callbacks(3)
    assert [c.status for c in sent] == [200, 200, 200]
    assert [c.task_status for c in sent] == ["submitted", "processing", "succeed"]


def test_signed_callbacks_verify_with_standard_webhooks(kling_body, receiver):
    with Sandbox(
        port=0, queue_seconds=0, generation_seconds=0, kling_webhook_secret=VECTOR_SECRET
    ) as sb:
        headers = {"Authorization": f"Bearer {sb.api('kling').token()}"}
        kling_body["callback_url"] = receiver.url + "/signed"
        httpx.post(sb.url + PATH, json=kling_body, headers=headers)
        received = receiver.wait_for_posts(3)
    for item in received:
        assert verify_standard_webhook(VECTOR_SECRET, item["headers"], item["body"])
        assert abs(int(item["headers"]["webhook-timestamp"]) - time.time()) < 60
        assert not verify_standard_webhook(
            "whsec_" + b64(b"another-secret-another-secret!!"), item["headers"], item["body"]
        )
    assert len({item["headers"]["webhook-id"] for item in received}) == 3


def test_new_callback_shape(sandbox, kling, kling_body, receiver):
    sandbox.configure(kling_callback_shape="new")
    kling_body["callback_url"] = receiver.url + "/new"
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    bodies = [json.loads(r["body"]) for r in receiver.wait_for_posts(3)]
    for body in bodies:
        assert set(body) == {"id", "status", "message", "create_time", "update_time", "outputs"}
        assert body["id"] == task_id
    assert [b["status"] for b in bodies] == ["submitted", "processing", "succeeded"]
    assert bodies[0]["outputs"] == []
    assert bodies[-1]["outputs"][0]["url"].endswith(f"/{task_id}/0.png")


def test_unreachable_callback_is_recorded_with_its_error(sandbox, kling, kling_body):
    kling_body["callback_url"] = "http://127.0.0.1:9/nothing-listens-here"
    kling.post(PATH, json=kling_body)
    sent = sandbox.wait_for_callbacks(3)
    assert all(c.status is None and c.error for c in sent)


# -- results ------------------------------------------------------------------------------


def _result_url(kling, task_id):
    return kling.get(f"{PATH}/{task_id}").json()["data"]["task_result"]["images"][0]["url"]


def test_result_is_a_png_the_size_of_the_person(sandbox, kling, kling_body, make_image):
    kling_body["human_image"] = b64(make_image(480, 640, "JPEG"))
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    response = httpx.get(_result_url(kling, task_id))
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG"
    assert image.size == (480, 640)
    image.load()
    assert sandbox.task(task_id)["result_downloads"] == 1


def test_result_long_side_is_capped_at_2048(kling, kling_body, make_image):
    kling_body["human_image"] = b64(make_image(2500, 1000, "JPEG"))
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    image = Image.open(io.BytesIO(httpx.get(_result_url(kling, task_id)).content))
    assert image.size == (2048, 819)


def test_result_is_deterministic_for_the_same_inputs(kling, kling_body, make_image):
    first = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    second = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    kling_body["cloth_image"] = b64(make_image(300, 300, color=(0, 160, 0)))
    third = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    a, b, c = (httpx.get(_result_url(kling, t)).content for t in (first, second, third))
    assert a == b
    assert a != c


def test_result_is_404_until_succeeded_and_for_unknown_tasks(sandbox, kling, kling_body):
    sandbox.configure(queue_seconds=60)
    task_id = kling.post(PATH, json=kling_body).json()["data"]["task_id"]
    assert httpx.get(sandbox.result_url(task_id)).status_code == 404
    assert httpx.get(sandbox.result_url("999")).status_code == 404
    sandbox.fast_forward(60 + 4)
    assert httpx.get(sandbox.result_url(task_id)).status_code == 200
    assert httpx.get(sandbox.result_url(task_id, 1)).status_code == 404
    assert httpx.get(sandbox.result_url(task_id, watermarked=True)).status_code == 404


# -- recording ----------------------------------------------------------------------------


def test_requests_are_recorded_with_what_was_answered(sandbox, kling, kling_body):
    kling.post(PATH, json=kling_body)
    httpx.get(sandbox.url + PATH, params={"pageSize": 999})
    kling.get(f"{PATH}/abc")
    httpx.get(sandbox.url + "/_sandbox/health")  # control paths are not recorded
    create, bad_list, query = sandbox.requests
    assert (create.method, create.path, create.status, create.kind) == ("POST", PATH, 200, "create")
    assert create.json == kling_body
    assert json.loads(create.body) == kling_body
    assert create.headers["authorization"].startswith("Bearer ")
    assert create.provider == "kling"
    assert (bad_list.status, bad_list.query, bad_list.kind) == (401, {"pageSize": "999"}, "list")
    assert bad_list.json is None
    assert (query.path, query.kind, query.status) == (f"{PATH}/abc", "query", 200)
    assert create.time <= bad_list.time <= query.time


def test_importing_the_sandbox_does_not_import_django():
    code = (
        "import sys, django_tryon.sandbox\n"
        "from django_tryon.sandbox import Sandbox\n"
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
