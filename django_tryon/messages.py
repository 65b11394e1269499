"""The words for a failed try-on, by its error code: what a shopper is told
(``shopper_message``, translated) and what a merchandiser reads (``explain_error``).

The one source: only the code is stored on a request. The API sends
``shopper_message(code)`` as a failed request's ``error.message`` (in the shopper's
language), the widget shows that text, the terminal command prints it, and the admin
quotes it as what the shopper saw. The widget keeps its own words only for what happens
in the browser (no consent, a photo too small, the network). Provider errors
(``ProviderError.user_message``) and the kill switch (``TryOnDisabled``) read theirs here.
The wording is the widget's; its French is in the app's catalog.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy

_BUSY = gettext_lazy("The try-on service is busy right now. Please try again in a few minutes.")
_NOT_CREATED = gettext_lazy("We couldn't create this image. Please try again with another photo.")

SHOPPER_MESSAGES = {
    "content_refused": gettext_lazy(
        "The try-on service couldn't use this photo under its content rules. "
        "Please try a different photo."
    ),
    "invalid_input": gettext_lazy(
        "This file isn't a photo we can use. Please choose a JPEG, PNG or WebP photo."
    ),
    "rate_limited": _BUSY,
    "provider_unavailable": _BUSY,
    "provider_auth": _BUSY,
    "provider_account": _BUSY,
    "garment_unavailable": gettext_lazy("This item can't be tried on at the moment."),
    "deadline": gettext_lazy("This try-on took too long and was stopped. Please try again."),
    "cancelled": gettext_lazy("This try-on was cancelled."),
    "disabled": gettext_lazy(
        "Virtual try-on is switched off at the moment. Please try again later."
    ),
}

#: What went wrong, for a merchandiser (the admin's request and batch pages).
ERROR_EXPLANATIONS = {
    "content_refused": "The provider refused the images under its content policy.",
    "invalid_input": "The provider could not use these images (format, size or content).",
    "provider_auth": "The provider did not accept the shop's API keys. Check TRYON['PROVIDERS'].",
    "provider_account": (
        "The provider account needs attention: billing, an exhausted resource pack, or no "
        "access to this model."
    ),
    "task_not_found": "The provider no longer knows this task.",
    "rate_limited": "The provider stayed too busy to accept it, even after several tries.",
    "provider_unavailable": "The provider was unavailable, even after several tries.",
    "provider_error": "The provider answered with an error.",
    "provider_failed": "The provider could not make the image.",
    "deadline": "It took longer than the deadline (DEADLINE_SECONDS) and was stopped.",
    "submit_unknown": (
        "The provider never confirmed it received the task. It was not sent again, so it is "
        "never paid twice."
    ),
    "result_unavailable": "The finished image could not be downloaded from the provider.",
    "result_invalid": "The provider returned an image that could not be read.",
    "input_unavailable": "An input image could not be read from storage.",
    "cancelled": "Someone cancelled it.",
    "too_small": "An input image is too small for the provider.",
    "not_an_image": "An input file is not an image.",
    "unsupported_format": "An input image is in a format the provider does not take.",
    "invalid_outfit": "The garments cannot be tried on together.",
}


def shopper_message(code: str) -> str:
    """The message for a failed (or cancelled) try-on's ``error_code``, in the active
    language; any other code gets the general "we couldn't create this image"."""
    return str(SHOPPER_MESSAGES.get(code, _NOT_CREATED))


def explain_error(code: str) -> str:
    """What went wrong, for a merchandiser, from a request's error code."""
    if not code:
        return ""
    return ERROR_EXPLANATIONS.get(code, "The try-on could not be finished.")
