"""Who owns a try-on: the owner key of a signed-in user or an anonymous session."""

from __future__ import annotations

import hashlib
import secrets

OWNER_KEY_SALT = "django_tryon.owner-key"
#: Session key of the random token that names an anonymous shopper.
SESSION_OWNER = "django_tryon_owner"


class NoSession(Exception):
    """An anonymous caller needs Django's session middleware to own a try-on."""


def owner_key_of(request, *, bind: bool = False) -> str:
    """The caller's owner key (a Django or DRF request): their user, or a random token
    kept in their session.

    A token in the session data (not the session key) survives the key change at login
    and works with every session backend. ``bind`` creates it (and so the session) for a
    first create, and raises ``NoSession`` without session middleware; reads never
    create sessions.
    """
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return owner_key_for(user)
    session = getattr(request, "session", None)
    if session is None:
        if bind:
            raise NoSession()
        return ""
    token = session.get(SESSION_OWNER)
    if not isinstance(token, str) or not token:
        if not bind:
            return ""
        token = secrets.token_urlsafe(24)
        session[SESSION_OWNER] = token
    return owner_key_for(None, token)


def owner_key_for(user=None, session_key: str | None = None) -> str:
    """The string that binds a request to its shopper: a user, else a session, else nobody.

    ``session_key`` is the random shopper token the API keeps in the session. It is
    named by its hash, never itself: owner keys are shown to staff and kept in usage
    counters. The hash is not keyed with SECRET_KEY, so rotating the key does not cut
    anonymous shoppers off their try-ons (or reset their quota).
    """
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    if session_key:
        digest = hashlib.sha256(f"{OWNER_KEY_SALT}:{session_key}".encode()).hexdigest()
        return f"session:{digest[:40]}"
    return ""


def adopt_anonymous_tryons(sender, request, user, **kwargs) -> int:
    """``user_logged_in``: the try-ons an anonymous shopper made in this session become
    the user's, with today's count against the per-shopper quota. Returns how many."""
    from django.db import transaction
    from django.db.models import F

    from ..models import TryOnRequest, UsageCounter

    session = getattr(request, "session", None)
    token = session.get(SESSION_OWNER) if session is not None else None
    if not isinstance(token, str) or not token or not getattr(user, "is_authenticated", False):
        return 0
    anonymous, own = owner_key_for(None, token), owner_key_for(user)
    with transaction.atomic():
        moved = TryOnRequest.objects.filter(owner_key=anonymous).update(owner_key=own, owner=user)
        for counter in UsageCounter.objects.filter(scope=anonymous).select_for_update():
            mine, _ = UsageCounter.objects.get_or_create(scope=own, period=counter.period)
            UsageCounter.objects.filter(pk=mine.pk).update(
                generations=F("generations") + counter.generations
            )
            counter.delete()
    del session[SESSION_OWNER]
    return moved
