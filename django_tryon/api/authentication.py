"""CSRF for every call that cookies can make, anonymous ones included (SAFETY rule 18).

DRF's views are csrf-exempt, and its ``SessionAuthentication`` checks CSRF only for a
user it has authenticated: an anonymous shopper's POST, bound to their session cookie,
would pass unchecked. The API views call ``enforce_csrf`` after authentication for every
unsafe request that was not authenticated by a header credential (a token), whatever
authentication classes the shop configured.
"""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import SAFE_METHODS

_CHECKER = SessionAuthentication()


def needs_csrf(request) -> bool:
    """True for an unsafe request that a browser's cookies alone could have sent."""
    if request.method in SAFE_METHODS:
        return False
    authenticator = request.successful_authenticator
    return authenticator is None or isinstance(authenticator, SessionAuthentication)


def enforce_csrf(request) -> None:
    """Raise PermissionDenied (403) unless the request carries a valid CSRF token."""
    _CHECKER.enforce_csrf(request)
