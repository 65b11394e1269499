"""Who is calling: the ``Caller`` value each entry point builds once (its source, user,
owner key, client key, staff powers and consent), the owner key of a signed-in user or of an
anonymous session (bound to the app's browser cookie), and the move of a session's
try-ons at sign-in."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

OWNER_KEY_SALT = "django_tryon.owner-key"
#: Session key of the random token that names an anonymous shopper.
SESSION_OWNER = "django_tryon_owner"
#: Session key of the hash of the browser cookie the token was issued with.
SESSION_BROWSER = "django_tryon_browser"
#: The app's own HttpOnly cookie: the browser that was given the session's token. Over
#: HTTPS its name has the ``__Host-`` prefix, which a sibling subdomain cannot set.
BROWSER_COOKIE = "tryon_browser"
SECURE_BROWSER_COOKIE = "__Host-tryon_browser"


#: Sources whose try-ons count against the shopper's own limits (``Source`` values).
SHOPPER_SOURCES = frozenset({"widget", "api"})


class NoSession(Exception):
    """An anonymous caller needs Django's session middleware to own a try-on."""


@dataclass(frozen=True)
class Caller:
    """Who asks for a try-on, worked out once by its entry point and handed to the
    pipeline: where from (``source``, a ``Source`` value), the signed-in user (or None),
    the owner key the try-on belongs to, an anonymous shopper's client key (their
    address, hashed: a daily limit of its own), whether staff powers apply, and whether
    the shopper agreed to the photo terms (``CONSENT_VERSION``) for this call: a photo
    from a shopper's entry point needs it (the pipeline refuses one without)."""

    source: str
    owner_key: str = ""
    user: Any = None
    client_key: str = ""
    staff: bool = False
    consented: bool = False

    @property
    def shopper_limits(self) -> bool:
        """The shopper's own daily limits apply: a shopper's entry point, not staff. The
        shop's budgets and kill switch apply to everyone."""
        return self.source in SHOPPER_SOURCES and not self.staff

    @classmethod
    def from_request(
        cls, request, *, source: str, owner_key: str | None = None, consented: bool = False
    ) -> Caller:
        """A shopper's web request (Django's or DRF's). ``owner_key`` when the entry point
        worked it out itself (the API's create, which needs a session first); else the
        request's own, without starting a session. ``consented``: the request carries the
        shopper's agreement to the photo terms."""
        user = getattr(request, "user", None)
        signed_in = bool(user is not None and user.is_authenticated)
        from .quotas import client_key

        return cls(
            source=source,
            owner_key=owner_key_of(request) if owner_key is None else owner_key,
            user=user if signed_in else None,
            client_key="" if signed_in else client_key(client_address(request)),
            staff=is_staff(user),
            consented=consented,
        )

    @classmethod
    def for_admin(cls, user) -> Caller:
        """A merchandiser in the admin: house models, no shopper limits, no owner."""
        return cls(source="admin", user=user, staff=True)

    @classmethod
    def for_terminal(cls) -> Caller:
        """The ``tryon`` management command: the operator, no owner."""
        return cls(source="cli", staff=True)


def is_staff(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_staff)


def client_address(request) -> str:
    """The address the request came from: REMOTE_ADDR, or with TRUSTED_PROXY_COUNT = N
    the address the N-th proxy from the right recorded in X-Forwarded-For.

    DRF's own default (NUM_PROXIES unset) takes the whole header, which the client can
    write: a made-up header per request would be a new client each time.
    """
    from .conf import get_setting

    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "")
    proxies = int(get_setting("TRUSTED_PROXY_COUNT") or 0)
    if proxies <= 0:
        return remote
    hops = [h.strip() for h in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    return hops[-proxies] if len(hops) >= proxies else remote


def owner_key_of(request, *, bind: bool = False) -> str:
    """The caller's owner key (a Django or DRF request): their user, or a random token
    kept in their session, valid only together with the browser cookie it was issued
    with.

    A token in the session data (not the session key) survives the key change at login
    and works with every session backend. The browser cookie is what a session cookie
    planted from elsewhere (a sibling subdomain, a shared computer) does not carry: a
    session whose token was issued to another browser names nobody here. ``bind``
    issues a new token and cookie (and so the session) when there is none for this
    browser, and raises ``NoSession`` without session middleware; reads never create
    sessions. The cookie is set on the answer by ``remember_browser``.
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
    if isinstance(token, str) and token and _this_browser(request, session):
        return owner_key_for(None, token)
    if not bind:
        return ""
    token, browser = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    session[SESSION_OWNER] = token
    session[SESSION_BROWSER] = _digest(browser)
    _django_request(request)._tryon_browser = browser
    return owner_key_for(None, token)


def remember_browser(request, response) -> None:
    """Set the browser cookie ``owner_key_of(bind=True)`` issued on this request, if any."""
    from django.conf import settings

    browser = getattr(_django_request(request), "_tryon_browser", None)
    if not browser:
        return
    secure = request.is_secure()
    response.set_cookie(
        SECURE_BROWSER_COOKIE if secure else BROWSER_COOKIE,
        browser,
        max_age=settings.SESSION_COOKIE_AGE,
        path="/",
        secure=secure,
        httponly=True,
        samesite="Lax",
    )


def _this_browser(request, session) -> bool:
    """Whether the session's token was issued to the browser making this request."""
    import hmac

    expected = session.get(SESSION_BROWSER)
    name = SECURE_BROWSER_COOKIE if request.is_secure() else BROWSER_COOKIE
    sent = request.COOKIES.get(name, "")
    return isinstance(expected, str) and bool(sent) and hmac.compare_digest(expected, _digest(sent))


def _digest(browser: str) -> str:
    return hashlib.sha256(f"django_tryon.browser:{browser}".encode()).hexdigest()


def _django_request(request):
    return getattr(request, "_request", request)  # DRF's Request wraps Django's


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
    """``user_logged_in``: the try-ons an anonymous shopper made in this browser become
    the user's, with today's count against the per-shopper quota. Returns how many.

    Only when the session's token was issued to the browser signing in: a session cookie
    planted in a victim's browser carries the attacker's token but not the attacker's
    browser cookie, so nothing moves in either direction."""
    from django.db import transaction
    from django.db.models import F

    from .models import TryOnRequest, UsageCounter

    session = getattr(request, "session", None)
    token = session.get(SESSION_OWNER) if session is not None else None
    if not isinstance(token, str) or not token or not getattr(user, "is_authenticated", False):
        return 0
    mine = _this_browser(request, session)
    # The anonymous token ends here either way; only the browser it was issued to brings
    # its try-ons along (a planted session moves nothing into, or out of, an account).
    session.pop(SESSION_OWNER, None)
    session.pop(SESSION_BROWSER, None)
    if not mine:
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
    return moved
