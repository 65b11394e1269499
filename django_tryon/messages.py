"""What a shopper is told when a try-on fails: one message per error code, translated.

The one source: the API sends ``shopper_message(code)`` as a failed request's
``error.message`` (in the shopper's language), the widget shows that text, and the admin
quotes the same text as what the shopper saw. The widget keeps its own words only for
what happens in the browser (no consent, a photo too small, the network, the quota).
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
}


def shopper_message(code: str) -> str:
    """The message for a failed (or cancelled) try-on's ``error_code``, in the active
    language; any other code gets the general "we couldn't create this image"."""
    return str(SHOPPER_MESSAGES.get(code, _NOT_CREATED))
