"""Standard Webhooks signatures: the PROVIDERS.md test vector and every rejection."""

from __future__ import annotations

import pytest

from django_tryon import webhooks

SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI="
MSG_ID = "9876543210"
TIMESTAMP = 1781080794
BODY = (
    b'{"id":"1234567890","status":"succeeded","message":"",'
    b'"create_time":1781080778802,"update_time":1781080794151}'
)
SIGNATURE = "v1,UsKlJP00XoQyOn410NM9xv34sP+Gl0jnOO9Lcpr7NJ4="
OTHER_SECRET = "whsec_b3RoZXJzZWNyZXRvdGhlcnNlY3JldG90aGVyc2VjcmV0"


def headers(signature: str = SIGNATURE, msg_id: str = MSG_ID, timestamp=TIMESTAMP) -> dict:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


def test_sign_matches_the_published_test_vector():
    assert webhooks.sign(SECRET, MSG_ID, TIMESTAMP, BODY) == SIGNATURE


def test_verify_accepts_the_test_vector():
    assert webhooks.verify(SECRET, BODY, headers(), now=TIMESTAMP) is True


def test_decode_secret_strips_prefix_and_decodes():
    assert webhooks.decode_secret(SECRET) == b"testsecrettestsecrettestsecret12"
    # Without the prefix the same key comes out (some dashboards show the bare base64).
    assert webhooks.decode_secret(SECRET.removeprefix("whsec_")) == (
        b"testsecrettestsecrettestsecret12"
    )


@pytest.mark.parametrize("secret", ["whsec_not base64!", "whsec_", ""])
def test_decode_secret_refuses_garbage(secret):
    with pytest.raises(ValueError):
        webhooks.decode_secret(secret)


def test_wrong_signature_is_rejected():
    forged = webhooks.sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    assert forged != SIGNATURE
    assert webhooks.verify(SECRET, BODY, headers(forged), now=TIMESTAMP) is False


def test_tampered_body_is_rejected():
    body = BODY.replace(b"succeeded", b"failed")
    assert webhooks.verify(SECRET, body, headers(), now=TIMESTAMP) is False


def test_signature_is_bound_to_the_message_id():
    assert webhooks.verify(SECRET, BODY, headers(msg_id="1"), now=TIMESTAMP) is False


def test_signature_is_bound_to_the_timestamp():
    assert webhooks.verify(SECRET, BODY, headers(timestamp=TIMESTAMP + 1), now=TIMESTAMP) is False


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(0, True), (300, True), (-300, True), (301, False), (-301, False), (86400, False)],
)
def test_timestamp_window(offset, expected):
    assert webhooks.verify(SECRET, BODY, headers(), now=TIMESTAMP + offset) is expected


def test_tolerance_is_configurable():
    assert webhooks.verify(SECRET, BODY, headers(), now=TIMESTAMP + 61, tolerance_seconds=60) is (
        False
    )
    assert webhooks.verify(SECRET, BODY, headers(), now=TIMESTAMP + 59, tolerance_seconds=60) is (
        True
    )


def test_rotated_multi_signature_header_accepts_any_match():
    old = webhooks.sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    assert webhooks.verify(SECRET, BODY, headers(f"{old} {SIGNATURE}"), now=TIMESTAMP) is True
    assert webhooks.verify(SECRET, BODY, headers(f"{SIGNATURE} {old}"), now=TIMESTAMP) is True


def test_multi_signature_header_without_a_match_is_rejected():
    old = webhooks.sign(OTHER_SECRET, MSG_ID, TIMESTAMP, BODY)
    assert webhooks.verify(SECRET, BODY, headers(f"{old} v1,AAAA"), now=TIMESTAMP) is False


def test_other_signature_versions_are_ignored():
    digest = SIGNATURE.split(",", 1)[1]
    assert webhooks.verify(SECRET, BODY, headers(f"v1a,{digest}"), now=TIMESTAMP) is False
    assert webhooks.verify(SECRET, BODY, headers(f"v2,{digest}"), now=TIMESTAMP) is False
    assert webhooks.verify(SECRET, BODY, headers(f"v1a,xyz {SIGNATURE}"), now=TIMESTAMP) is True


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_rejected(missing):
    sent = headers()
    del sent[missing]
    assert webhooks.verify(SECRET, BODY, sent, now=TIMESTAMP) is False


def test_non_numeric_timestamp_is_rejected():
    assert webhooks.verify(SECRET, BODY, headers(timestamp="soon"), now=TIMESTAMP) is False


def test_invalid_secret_rejects_instead_of_raising():
    assert webhooks.verify("whsec_%%%", BODY, headers(), now=TIMESTAMP) is False


def test_header_names_are_case_insensitive_in_plain_dicts():
    sent = {
        "Webhook-Id": MSG_ID,
        "WEBHOOK-TIMESTAMP": str(TIMESTAMP),
        "Webhook-Signature": SIGNATURE,
    }
    assert webhooks.verify(SECRET, BODY, sent, now=TIMESTAMP) is True
    assert webhooks.get_header(sent, "webhook-id") == MSG_ID
    assert webhooks.get_header(sent, "x-missing") == ""
