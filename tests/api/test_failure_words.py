"""One failure, one sentence: only the error code is stored, and every screen that tells a
shopper about a failure (the API's ``error.message``, which the widget shows as the
server's message; the terminal command; the admin's "The shopper saw") reads the words
from django_tryon/messages.py, in the caller's language. The batch page's reason for a
merchandiser comes from the same module's staff table."""

from __future__ import annotations

import pytest
from django.utils import translation
from django.utils.html import escape

from django_tryon import messages
from django_tryon.management.commands.tryon import _reason, _summary
from django_tryon.models import TryOnRequest
from django_tryon.pipeline import transitions
from django_tryon.providers import errors as provider_errors

pytestmark = pytest.mark.django_db

#: Every code a try-on fails with, from the pipeline and the providers.
CODES = [
    "content_refused",
    "invalid_input",
    "rate_limited",
    "provider_unavailable",
    "provider_auth",
    "provider_account",
    "task_not_found",
    "provider_failed",
    "provider_expired",
    "deadline",
    "submit_unknown",
    "result_unavailable",
    "result_invalid",
    "input_unavailable",
    "disabled",
    "too_small",
]


@pytest.mark.parametrize("code", CODES)
def test_every_screen_tells_a_shopper_the_same_words(code, alice, garment, sent, admin_client):
    tryon = TryOnRequest.objects.get(pk=alice.create(garment).json()["id"])
    transitions.fail(tryon, code=code, detail="the provider's own words, for staff")
    tryon.refresh_from_db()
    words = messages.shopper_message(code)

    api = alice.get(f"requests/{tryon.pk}/").json()["error"]
    assert api == {"code": code, "message": words}
    assert _summary(tryon, [])["error"]["message"] == words  # tryon --json
    assert _reason(tryon).startswith(f"{words} [{code}]")  # the command's error line
    assert tryon.error_message == words  # what a tryon_failed receiver reads
    page = admin_client.get(f"/admin/django_tryon/tryonrequest/{tryon.pk}/change/")
    html = page.content.decode()
    assert f"The shopper saw: “{escape(words)}”" in html
    assert escape(messages.explain_error(code)) in html

    with translation.override("fr"):
        french = alice.client.get(f"/tryon/api/requests/{tryon.pk}/", HTTP_ACCEPT_LANGUAGE="fr")
        assert french.json()["error"]["message"] == messages.shopper_message(code)


#: Every provider error with a code of its own (a new one is covered without listing it).
PROVIDER_ERRORS = [
    kind
    for kind in vars(provider_errors).values()
    if isinstance(kind, type)
    and issubclass(kind, provider_errors.ProviderError)
    and kind is not provider_errors.ProviderError
    and "error_code" in vars(kind)
]


def test_the_provider_errors_are_all_found():
    assert len(PROVIDER_ERRORS) >= 8


@pytest.mark.parametrize("error", PROVIDER_ERRORS)
def test_a_provider_error_tells_what_its_code_says(error):
    """Provider errors carried their own wording ("We will keep trying." beside "Please
    try again in a few minutes."); now their code's."""
    raised = error("the provider's own words", provider="kling")
    assert raised.user_message == messages.shopper_message(raised.error_code)
    assert "the provider's own words" not in raised.user_message


def test_the_kill_switch_says_what_the_table_says():
    from django_tryon.quotas import TryOnDisabled

    assert TryOnDisabled().message == messages.shopper_message("disabled")


def test_every_shopper_sentence_is_in_french():
    with translation.override("en"):
        english = {code: messages.shopper_message(code) for code in messages.SHOPPER_MESSAGES}
    with translation.override("fr"):
        untranslated = [c for c, words in english.items() if messages.shopper_message(c) == words]
    assert untranslated == []
