"""The one downloader for provider URLs (SAFETY rule 11: no SSRF).

``download`` fetches a result image from a provider's CDN and nothing else:

* https only (http only when ``allow_http``), no user info in the URL, ports 443/80 only
  (any port when ``allow_private``, for the local sandbox);
* the host must be on the caller's allow-list: an exact name, or ``*.example.com``
  (any subdomain) or ``.example.com`` (the domain and any subdomain, as Django's
  ALLOWED_HOSTS);
* every address the host resolves to must be globally routable: loopback, private,
  link-local (169.254.x, cloud metadata), CGNAT, multicast, reserved, unspecified and
  IPv6 forms embedding such an IPv4 address (mapped, 6to4, NAT64) are refused;
* the connection is pinned to the checked address (no second DNS lookup an attacker
  could answer differently: DNS rebinding). The request goes to the IP-literal URL with
  the original ``Host`` header, and for https ``extensions={"sni_hostname": host}``:
  httpcore passes that name as ``server_hostname`` to ``SSLContext.wrap_socket``
  (httpcore/_sync/connection.py, ``_connect``), so it is used both for SNI and for the
  certificate hostname check. tests/unit/test_fetch.py proves it against a local TLS
  server whose certificate names only the hostname;
* no redirects, ``trust_env=False`` (no proxies or netrc from the environment),
  ``Connection: close`` (a pinned connection is never reused for another host),
  ``Accept-Encoding: identity`` (no decompression bombs), connect and read timeouts, a
  wall-clock deadline over the whole streamed body, and a byte cap checked against
  ``Content-Length`` first and then while streaming.

It returns the bytes; the caller runs the image checks (``django_tryon.images``).

Residual limits: DNS resolution itself is bounded by the system resolver's own timeouts,
not by ``timeout``; a single blocked socket read can overrun the deadline by at most the
read timeout (``_READ_TIMEOUT`` or ``timeout``, whichever is smaller).

Messages and ``DownloadError.url`` never contain the query string or fragment (provider
URLs carry signatures): only scheme, host, port and path, as ``redact_url`` gives.
"""

from __future__ import annotations

import functools
import socket
import ssl
import time
from collections.abc import Callable, Iterable

import httpx

from .addresses import host_allowed, is_ip_literal, is_public_address, valid_hostname
from .conf import get_setting
from .errors import TryOnError

__all__ = [
    "DownloadError",
    "Resolver",
    "download",
    "host_allowed",
    "is_public_address",
    "redact_url",
]

Resolver = Callable[[str, int], list[str]]

# Per-operation timeouts (seconds), each also capped by the whole-download timeout.
_CONNECT_TIMEOUT = 10.0
_READ_TIMEOUT = 15.0
# How many resolved addresses are tried when connecting fails.
_MAX_ADDRESSES = 4
_DEFAULT_PORTS = {"https": 443, "http": 80}
# Retryable HTTP statuses besides 5xx: request timeout, too early, too many requests.
_RETRYABLE_4XX = {408, 425, 429}


class DownloadError(TryOnError):
    """A download that failed or was refused.

    ``retryable`` says whether trying again later may succeed (timeouts, connection
    errors, 5xx, 429); ``reason`` is a short text; ``url`` is the redacted URL.
    """

    error_code = "download_failed"

    def __init__(self, reason: str, *, retryable: bool, url: str = "") -> None:
        self.reason = reason
        self.retryable = retryable
        self.url = url
        super().__init__(f"{reason} ({url})" if url else reason)


def redact_url(url: str | httpx.URL) -> str:
    """``scheme://host[:port]/path`` only: no user info, query string or fragment."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(str(url))
        netloc = parsed.netloc.decode("ascii", "replace")
        return f"{parsed.scheme}://{netloc}{parsed.path}"
    except Exception:
        return "<unparseable url>"


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _ssl_verification_failed(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _status_error(status: int, safe_url: str) -> DownloadError:
    if 300 <= status < 400:
        return DownloadError(
            f"HTTP {status}: redirects are not followed", retryable=False, url=safe_url
        )
    retryable = status >= 500 or status in _RETRYABLE_4XX
    return DownloadError(f"HTTP {status}", retryable=retryable, url=safe_url)


def download(
    url: str,
    *,
    allowed_hosts: Iterable[str],
    max_bytes: int | None = None,
    timeout: float | None = None,
    allow_http: bool | None = None,
    allow_private: bool | None = None,
    client: httpx.Client | None = None,
    resolver: Resolver | None = None,
) -> bytes:
    """Download ``url`` safely and return its body.

    Defaults come from the TRYON settings (``DOWNLOAD_MAX_BYTES``,
    ``DOWNLOAD_TIMEOUT_SECONDS``, ``ALLOW_HTTP_DOWNLOADS``, ``ALLOW_PRIVATE_DOWNLOADS``),
    read at call time. ``client`` (built with ``trust_env=False``) and ``resolver``
    (``(host, port) -> [ip, ...]``) are for tests; the address checks always run.
    Raises ``DownloadError``.
    """
    max_bytes = get_setting("DOWNLOAD_MAX_BYTES") if max_bytes is None else max_bytes
    timeout = get_setting("DOWNLOAD_TIMEOUT_SECONDS") if timeout is None else timeout
    allow_http = get_setting("ALLOW_HTTP_DOWNLOADS") if allow_http is None else allow_http
    allow_private = (
        get_setting("ALLOW_PRIVATE_DOWNLOADS") if allow_private is None else allow_private
    )
    if client is not None and client.trust_env:
        raise ValueError("download() needs an httpx.Client built with trust_env=False")
    deadline = time.monotonic() + timeout

    # --- the URL --------------------------------------------------------------------
    safe_url = redact_url(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise DownloadError("invalid URL", retryable=False, url=safe_url) from None
    scheme = parsed.scheme
    if scheme != "https" and not (scheme == "http" and allow_http):
        raise DownloadError(
            f"scheme {scheme or '(none)'!r} not allowed: https only", retryable=False, url=safe_url
        )
    if parsed.userinfo:
        raise DownloadError("user info in the URL is not allowed", retryable=False, url=safe_url)
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    if not host or not valid_hostname(host):
        raise DownloadError("invalid host", retryable=False, url=safe_url)
    port = parsed.port or _DEFAULT_PORTS[scheme]
    if not allow_private and port not in (80, 443):
        raise DownloadError(f"port {port} not allowed", retryable=False, url=safe_url)
    if not host_allowed(host, allowed_hosts):
        raise DownloadError("host not on the allow-list", retryable=False, url=safe_url)

    # --- the addresses ----------------------------------------------------------------
    try:
        addresses = (resolver or _default_resolver)(host, port)
    except (OSError, UnicodeError) as exc:
        raise DownloadError(
            f"could not resolve host ({type(exc).__name__})", retryable=True, url=safe_url
        ) from None
    addresses = [str(a).split("%", 1)[0] for a in addresses]
    if not addresses:
        raise DownloadError("host has no address", retryable=True, url=safe_url)
    for address in addresses:
        if not is_ip_literal(address):
            raise DownloadError("resolver returned a non-address", retryable=False, url=safe_url)
        if not allow_private and not is_public_address(address):
            raise DownloadError(
                f"host resolves to a non-public address ({address})",
                retryable=False,
                url=safe_url,
            )

    # --- the request, pinned to a checked address --------------------------------------
    own_client = client is None
    if own_client:
        client = httpx.Client(
            trust_env=False, follow_redirects=False, http2=False, verify=_tls_context()
        )
    assert client is not None
    try:
        return _fetch_pinned(
            client,
            parsed,
            host=host,
            addresses=addresses[:_MAX_ADDRESSES],
            max_bytes=max_bytes,
            timeout=timeout,
            deadline=deadline,
            safe_url=safe_url,
        )
    finally:
        if own_client:
            client.close()


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's CA bundle, nothing from the environment),
    built once per process: loading the bundle costs about 20 ms of CPU, which every
    download paid again when each one built its own client's context. A context is
    safe to share between threads; each download still gets its own connection."""
    return httpx.create_ssl_context(trust_env=False)


def _fetch_pinned(
    client: httpx.Client,
    parsed: httpx.URL,
    *,
    host: str,
    addresses: list[str],
    max_bytes: int,
    timeout: float,
    deadline: float,
    safe_url: str,
) -> bytes:
    host_header = f"[{host}]" if ":" in host else host
    if parsed.port is not None:  # httpx drops the scheme's default port
        host_header += f":{parsed.port}"
    headers = {
        "Host": host_header,
        "Accept": "image/*",
        "Accept-Encoding": "identity",
        "Connection": "close",
        "User-Agent": "django-tryon",
    }
    extensions = {}
    if parsed.scheme == "https" and not is_ip_literal(host):
        extensions["sni_hostname"] = host
    last_error: DownloadError | None = None
    for address in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        request = client.build_request(
            "GET",
            parsed.copy_with(host=address, fragment=None),
            headers=headers,
            extensions=extensions,
            timeout=httpx.Timeout(
                connect=min(_CONNECT_TIMEOUT, remaining),
                read=min(_READ_TIMEOUT, timeout),
                write=min(_READ_TIMEOUT, timeout),
                pool=min(_CONNECT_TIMEOUT, remaining),
            ),
        )
        try:
            response = client.send(request, stream=True, follow_redirects=False)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if _ssl_verification_failed(exc):
                raise DownloadError(
                    "TLS certificate verification failed", retryable=False, url=safe_url
                ) from None
            kind = "timed out" if isinstance(exc, httpx.ConnectTimeout) else "failed"
            last_error = DownloadError(f"connection {kind}", retryable=True, url=safe_url)
            continue  # try the next checked address
        except httpx.TimeoutException:
            raise DownloadError("timed out", retryable=True, url=safe_url) from None
        except httpx.TransportError as exc:
            raise DownloadError(
                f"transport error ({type(exc).__name__})", retryable=True, url=safe_url
            ) from None
        try:
            return _read_body(response, max_bytes=max_bytes, deadline=deadline, safe_url=safe_url)
        finally:
            response.close()
    if last_error is not None:
        raise last_error
    raise DownloadError("timed out before connecting", retryable=True, url=safe_url)


def _read_body(
    response: httpx.Response, *, max_bytes: int, deadline: float, safe_url: str
) -> bytes:
    if response.status_code != 200:
        raise _status_error(response.status_code, safe_url)
    encoding = response.headers.get("Content-Encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise DownloadError(
            f"unexpected Content-Encoding {encoding!r}", retryable=False, url=safe_url
        )
    declared = response.headers.get("Content-Length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise DownloadError("invalid Content-Length", retryable=False, url=safe_url) from None
        if length > max_bytes:
            raise DownloadError(
                f"too large: {length} bytes declared, the limit is {max_bytes}",
                retryable=False,
                url=safe_url,
            )
    chunks: list[bytes] = []
    total = 0
    try:
        # iter_bytes, not iter_raw: the encoding is identity (checked above), so both give
        # the same bytes, and iter_bytes also serves a body that was already read.
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise DownloadError(
                    f"too large: more than {max_bytes} bytes", retryable=False, url=safe_url
                )
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise DownloadError("download took too long", retryable=True, url=safe_url)
    except httpx.TimeoutException:
        raise DownloadError("timed out while reading", retryable=True, url=safe_url) from None
    except httpx.TransportError as exc:
        raise DownloadError(
            f"transport error while reading ({type(exc).__name__})", retryable=True, url=safe_url
        ) from None
    if time.monotonic() > deadline:
        raise DownloadError("download took too long", retryable=True, url=safe_url)
    return b"".join(chunks)
