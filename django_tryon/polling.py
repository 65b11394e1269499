"""Cheap polls: "has my try-on changed?" answered from the cache, without the database.

A waiting widget asks every few hundred milliseconds. Most answers are "no change", so
each request's *status version* (its status, provider and routing note: everything a
waiting client can see change) is kept in a cache every process shares. Whoever moves a
request (``transition``, the create) writes the new version once the move is committed.

A full read of a request answers with an ETag: an HMAC of the request, its version and
the caller's credentials as sent (session cookie, Authorization header). A later GET
with that ETag in ``If-None-Match`` is answered ``304 Not Modified`` when the cached
version is still the same and still active, before any session, user or row is read:
only the browser the tag was issued to, after the full read checked its access, can
match it, and the answer tells it nothing it does not already have. A finished request,
a missing or unreadable cache entry, or a tag of other credentials gets the full read.

The cache must be shared by the web processes and the workers: the default cache is
used unless it is per-process (local memory, dummy), when every poll is a full read
(``TRYON["STATUS_CACHE"]``; check I001 says so). The widget still reads in full every
ten seconds, so a version lost between two writers costs seconds, never a stuck page.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import transaction
from django.http import HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import parse_etags

from .callers import BROWSER_COOKIE, SECURE_BROWSER_COOKIE
from .conf import get_setting
from .status import ACTIVE

log = logging.getLogger("django_tryon")

#: A cached version outlives any usual wait; a full read puts back one that expired.
VERSION_SECONDS = 600
#: How long credentials that passed a full read may be answered 304 without another
#: (the widget reads in full every ten seconds): the most a revoked one that no signal
#: reports (a token of another scheme) keeps getting "not modified".
CALLER_SECONDS = 60
_SALT = "django_tryon.polling.etag"
#: Any cache may keep an answer for this caller only, and must ask again before reuse.
CACHE_CONTROL = "private, no-cache"
#: Backends whose entries one process alone sees.
PER_PROCESS_CACHES = (LocMemCache, DummyCache)


def unchanged(pk, request) -> str | None:
    """The ETag to answer 304 with when ``request`` (a GET of try-on ``pk``) names, in
    If-None-Match, the tag of a version that is still current and active; else None.
    Reads only the request's headers and the cache."""
    header = request.headers.get("If-None-Match")
    caller = credentials(request)
    if not header or not caller:
        return None
    try:
        pk = uuid.UUID(str(pk))  # one spelling for the key; not an id: the full read 404s
    except ValueError:
        return None
    version, vouched = _cached(pk, caller)
    if not vouched or version is None or version.split(":", 1)[0] not in ACTIVE:
        return None
    tag = etag(pk, version, caller)
    if any(constant_time_compare(tag, sent) for sent in _weak(parse_etags(header))):
        return tag
    return None


def not_modified(tag: str) -> HttpResponseNotModified:
    """The 304 for a poll whose ``tag`` is still current, headed as the full answer is."""
    response = HttpResponseNotModified()
    response["ETag"] = tag
    response["Cache-Control"] = CACHE_CONTROL
    patch_vary_headers(response, ["Cookie"])  # the full answer varies on the session
    return response


def tag_response(response, tryon, request) -> None:
    """Give a full read of ``tryon`` its ETag, and keep its version in the cache."""
    caller = credentials(request, answering=True)
    version = version_of(tryon)
    response["Cache-Control"] = CACHE_CONTROL
    if not caller:
        return
    response["ETag"] = etag(tryon.pk, version, caller)
    cache = status_cache()
    if cache is None:
        return
    try:
        # These credentials passed a full read just now: for CALLER_SECONDS their tags
        # may be answered without one (a deleted token or a closed session stops sooner).
        cache.set(_caller_key(caller), 1, CALLER_SECONDS)
        cached = cache.get(_key(tryon.pk))
        if cached is None:
            # add, never set: a writer that committed after this read set a newer one.
            cache.add(_key(tryon.pk), version, VERSION_SECONDS)
        elif cached != version:
            # One of the two is older, and only a writer knows which: drop it, so the
            # next full read puts back what the row says then.
            cache.delete(_key(tryon.pk))
    except Exception as exc:  # a cache outage makes polls full reads, never errors
        _outage("read", exc)


def changed(tryon) -> None:
    """``tryon`` moved: once committed, its new version is what cheap polls compare with."""
    cache = status_cache()
    if cache is None:
        return
    pk, version = tryon.pk, version_of(tryon)

    def write():
        try:
            cache.set(_key(pk), version, VERSION_SECONDS)
        except Exception as exc:
            _outage("written", exc)
            # Left stale, it is dropped by the next full read (the widget makes one every ten
            # seconds) or expires.
            with contextlib.suppress(Exception):
                cache.delete(_key(pk))

    transaction.on_commit(write)


def version_of(tryon) -> str:
    """What a waiting client sees change: the status, then a digest of the rest."""
    rest = f"{tryon.provider}|{tryon.routing_note}".encode()
    return f"{tryon.status}:{hashlib.blake2s(rest, digest_size=8).hexdigest()}"


def etag(pk, version: str, caller: str) -> str:
    mac = salted_hmac(_SALT, f"{pk}|{version}|{caller}", algorithm="sha256").hexdigest()
    return f'W/"{mac[:32]}"'


def credentials(request, *, answering: bool = False) -> str:
    """The caller's credentials as sent, hashed: the tag is bound to them, so a tag seen
    elsewhere (a log, a shared proxy) matches nothing. "" when the call carries none.

    ``answering``: the ones the answer leaves the caller with, which the next poll sends:
    a session this request created has its new key (its cookie's value) already.
    """
    cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
    browser = request.COOKIES.get(SECURE_BROWSER_COOKIE) or request.COOKIES.get(BROWSER_COOKIE, "")
    if answering:
        session = getattr(request, "session", None)
        cookie = getattr(session, "session_key", None) or cookie
    sent = (cookie, request.META.get("HTTP_AUTHORIZATION", ""), browser)
    return _hashed(sent) if any(sent) else ""


def _hashed(sent: tuple[str, str, str]) -> str:
    return hashlib.sha256("\n".join(sent).encode()).hexdigest()


def status_cache():
    """The cache the versions live in, or None when polls always read the database:
    TRYON["STATUS_CACHE"] names an alias, False turns it off, None (the default) takes
    the default cache unless it lives in one process only."""
    alias = get_setting("STATUS_CACHE")
    if alias is False:
        return None
    if alias is None:
        cache = caches[DEFAULT_CACHE_ALIAS]
        return None if isinstance(cache, PER_PROCESS_CACHES) else cache
    return caches[alias]


def forget_caller(*, cookie: str = "", authorization: str = "", browser: str = "") -> None:
    """Credentials that no longer authenticate (a deleted token, a closed session): their
    tags get full reads from now on, not 304s."""
    sent = (cookie, authorization, browser)
    if any(sent):
        _forget(_hashed(sent))


def _forget(caller: str) -> None:
    cache = status_cache()
    if cache is None or not caller:
        return
    try:
        cache.delete(_caller_key(caller))
    except Exception as exc:
        _outage("written", exc)


def _cached(pk, caller: str) -> tuple[str | None, bool]:
    """The cached version of ``pk``, and whether ``caller`` passed a full read lately."""
    cache = status_cache()
    if cache is None:
        return None, False
    try:
        found = cache.get_many([_key(pk), _caller_key(caller)])
    except Exception as exc:
        _outage("read", exc)
        return None, False
    version = found.get(_key(pk))
    return (version if isinstance(version, str) else None), _caller_key(caller) in found


def _outage(what: str, exc: Exception) -> None:
    # One line: an outage would log this at every poll and every move.
    log.warning("django-tryon: the status cache could not be %s (%r)", what, exc)


def _key(pk) -> str:
    return f"django_tryon:status:{pk}"


def _caller_key(caller: str) -> str:
    return f"django_tryon:caller:{caller}"


def _weak(tags: list[str]) -> list[str]:
    # If-None-Match compares weakly: W/"x" and "x" are the same tag.
    return [t if t.startswith("W/") else f"W/{t}" for t in tags]


def connect() -> None:
    """Stop cheap polls for credentials as they are revoked: a DRF token deleted, a
    session closed at sign-out."""
    from django.apps import apps
    from django.contrib.auth.signals import user_logged_out
    from django.db.models.signals import post_delete

    user_logged_out.connect(_signed_out, dispatch_uid="django_tryon.polling.signed_out")
    if apps.is_installed("rest_framework.authtoken"):
        from rest_framework.authtoken.models import Token

        post_delete.connect(_token_deleted, sender=Token, dispatch_uid="django_tryon.polling.token")


def _signed_out(sender, request, **kwargs) -> None:
    if request is not None:
        _forget(credentials(request))


def _token_deleted(sender, instance, **kwargs) -> None:
    # A headless client sends its token alone; both usual keywords are forgotten.
    for keyword in ("Token", "Bearer"):
        forget_caller(authorization=f"{keyword} {instance.key}")
