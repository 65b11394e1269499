"""Who owns what an API caller makes: a signed-in user, or an anonymous browser's
session with the app's browser cookie (``callers``), as API answers."""

from __future__ import annotations

from rest_framework import exceptions

from ..callers import NoSession, owner_key_of, remember_browser
from .errors import SessionRequired


def owner_key(request, *, bind: bool) -> str:
    """The caller's owner key (``identity.owner_key_of``), as an API answer."""
    try:
        return owner_key_of(request, bind=bind)
    except NoSession:
        raise exceptions.PermissionDenied(
            "Anonymous try-ons need Django's session middleware; please sign in."
        ) from None


def creating_owner(request) -> str:
    """The owner of a new try-on. An anonymous caller must already have a session from
    ``GET quota/``: were one made here, simultaneous first creates would each make their
    own session and each get the whole per-shopper quota."""
    key = owner_key(request, bind=False)
    if key:
        return key
    if getattr(request, "session", None) is None:
        owner_key(request, bind=True)  # says why: no session middleware
    raise SessionRequired()


def started_session(request, response) -> None:
    """A read that started an anonymous shopper's session: saved now, so its key (the
    cookie's value) and the browser cookie go out with this answer."""
    session = getattr(request, "session", None)
    if session is not None and session.modified and session.session_key is None:
        session.save()
    remember_browser(request, response)
