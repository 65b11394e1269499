"""django_tryon.fetch.download: the one SSRF-safe downloader (SAFETY rule 11)."""

from __future__ import annotations

import datetime
import socket
import ssl
import time

import httpx
import pytest

from django_tryon.fetch import (
    DownloadError,
    download,
    host_allowed,
    is_public_address,
    redact_url,
)
from tests.localhost import LocalHost

PUBLIC_IP = "93.184.216.34"
BODY = b"\xff\xd8\xff" + b"image bytes" * 100
ALLOWED = ["cdn.example.com"]
URL = "https://cdn.example.com/results/1.jpg?sig=SECRET123&expires=9"

#: What a download from the test's own server on loopback is allowed.
LOOPBACK = {"allowed_hosts": ["127.0.0.1"], "allow_http": True, "allow_private": True, "timeout": 5}


@pytest.fixture(autouse=True)
def default_tryon_settings(settings):
    """Documented defaults: https only, public addresses only."""
    settings.TRYON = {}


def public_resolver(host, port):
    return [PUBLIC_IP]


class Recorder:
    """A MockTransport handler that records the requests it sees."""

    def __init__(self, respond=None):
        self.requests: list[httpx.Request] = []
        self.respond = respond or (lambda request: httpx.Response(200, content=BODY))

    def __call__(self, request):
        self.requests.append(request)
        return self.respond(request)

    def client(self):
        return httpx.Client(transport=httpx.MockTransport(self), trust_env=False)


def fetch(url=URL, recorder=None, **kwargs):
    recorder = recorder or Recorder()
    kwargs.setdefault("allowed_hosts", ALLOWED)
    kwargs.setdefault("resolver", public_resolver)
    kwargs.setdefault("client", recorder.client())
    return download(url, **kwargs)


def refused(url=URL, recorder=None, **kwargs) -> DownloadError:
    recorder = recorder or Recorder()
    with pytest.raises(DownloadError) as excinfo:
        fetch(url, recorder, **kwargs)
    return excinfo.value


# ---------------------------------------------------------------------------------------
# Allow-list


@pytest.mark.parametrize(
    ("host", "entries", "expected"),
    [
        ("cdn.example.com", ["cdn.example.com"], True),
        ("CDN.Example.COM.", ["cdn.example.com"], True),
        ("a.cdn.example.com", ["cdn.example.com"], False),
        ("example.com", ["cdn.example.com"], False),
        ("a.example.com", ["*.example.com"], True),
        ("a.b.example.com", ["*.example.com"], True),
        ("example.com", ["*.example.com"], False),
        ("evilexample.com", ["*.example.com"], False),
        ("example.com", [".example.com"], True),
        ("a.example.com", [".example.com"], True),
        ("evilexample.com", [".example.com"], False),
        ("example.com.evil.net", [".example.com"], False),
        ("example.com.evil.net", ["*.example.com"], False),
        ("h1.inkwai.com", ["storage.theapi.app", "*.inkwai.com"], True),
        ("cdn.example.com", [], False),
        ("cdn.example.com", "cdn.example.com", True),  # a bare string is one entry
        ("", ["*.example.com", ""], False),
    ],
)
def test_host_allowed(host, entries, expected):
    assert host_allowed(host, entries) is expected


def test_host_not_on_the_allow_list_is_refused_before_any_request():
    recorder = Recorder()
    err = refused("https://evilexample.com/x.jpg", recorder, allowed_hosts=[".example.com"])
    assert err.retryable is False
    assert "allow-list" in err.reason
    assert recorder.requests == []


def test_wildcard_entry_allows_a_subdomain():
    assert fetch("https://h1.example.com/x.jpg", allowed_hosts=["*.example.com"]) == BODY


# ---------------------------------------------------------------------------------------
# The URL


def test_success_is_pinned_to_the_checked_address():
    recorder = Recorder()
    assert fetch(URL, recorder) == BODY
    (request,) = recorder.requests
    assert request.url.host == PUBLIC_IP  # no second DNS lookup
    assert request.url.scheme == "https"
    assert request.url.path == "/results/1.jpg"
    assert request.url.query == b"sig=SECRET123&expires=9"
    assert request.headers["host"] == "cdn.example.com"
    assert request.extensions["sni_hostname"] == "cdn.example.com"
    assert request.headers["accept-encoding"] == "identity"
    assert request.headers["connection"] == "close"
    assert "authorization" not in request.headers


def test_ipv6_address_is_pinned_with_brackets():
    recorder = Recorder()
    fetch(URL, recorder, resolver=lambda h, p: ["2606:4700::1111"])
    assert recorder.requests[0].url.host == "2606:4700::1111"
    assert recorder.requests[0].headers["host"] == "cdn.example.com"


def test_http_refused_by_default():
    recorder = Recorder()
    err = refused("http://cdn.example.com/x.jpg", recorder)
    assert err.retryable is False
    assert "https only" in err.reason
    assert recorder.requests == []


def test_http_refused_when_setting_is_false_and_allowed_when_true(settings):
    settings.TRYON = {"ALLOW_HTTP_DOWNLOADS": False}
    with pytest.raises(DownloadError):
        fetch("http://cdn.example.com/x.jpg")
    settings.TRYON = {"ALLOW_HTTP_DOWNLOADS": True}
    recorder = Recorder()
    assert fetch("http://cdn.example.com/x.jpg", recorder) == BODY
    assert "sni_hostname" not in recorder.requests[0].extensions


@pytest.mark.parametrize(
    "url",
    [
        "ftp://cdn.example.com/x.jpg",
        "file:///etc/passwd",
        "gopher://cdn.example.com/",
        "//cdn.example.com/x.jpg",
        "https:///x.jpg",
        "https://cdn example.com/x.jpg",
        "not a url",
        "http://[::1/",
    ],
)
def test_bad_urls_are_refused(url):
    recorder = Recorder()
    err = refused(url, recorder, allow_http=True)
    assert err.retryable is False
    assert recorder.requests == []


def test_userinfo_is_refused():
    recorder = Recorder()
    err = refused("https://user:pw@cdn.example.com/x.jpg", recorder)
    assert "user info" in err.reason
    assert recorder.requests == []


def test_odd_ports_are_refused_unless_private_is_allowed():
    url = "https://cdn.example.com:8443/x.jpg"
    assert "port 8443" in refused(url).reason
    recorder = Recorder()
    assert fetch(url, recorder, allow_private=True) == BODY
    assert recorder.requests[0].headers["host"] == "cdn.example.com:8443"
    assert fetch("https://cdn.example.com:443/x.jpg") == BODY


def test_messages_never_contain_the_query_string():
    err = refused(URL, Recorder(lambda r: httpx.Response(404)))
    assert "SECRET123" not in str(err)
    assert "SECRET123" not in err.url
    assert err.url == "https://cdn.example.com/results/1.jpg"
    assert (
        redact_url("https://u:p@h.example.com:8443/a/b?x=1#f") == "https://h.example.com:8443/a/b"
    )


def test_client_must_not_trust_the_environment():
    with pytest.raises(ValueError):
        download(URL, allowed_hosts=ALLOWED, resolver=public_resolver, client=httpx.Client())


# ---------------------------------------------------------------------------------------
# Addresses


NON_PUBLIC = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",  # multicast
    "240.0.0.1",  # reserved
    "198.18.0.1",  # benchmarking
    "::1",
    "::",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped IPv6
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::1",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "2001:db8::1",  # documentation
]


@pytest.mark.parametrize("address", NON_PUBLIC)
def test_non_public_addresses_are_refused(address):
    recorder = Recorder()
    err = refused(URL, recorder, resolver=lambda h, p: [address])
    assert err.retryable is False
    assert "non-public address" in err.reason
    assert recorder.requests == []
    assert is_public_address(address) is False


@pytest.mark.parametrize("address", ["8.8.8.8", PUBLIC_IP, "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    assert is_public_address(address) is True
    assert fetch(URL, resolver=lambda h, p: [address]) == BODY


def test_any_non_public_address_among_several_is_refused():
    recorder = Recorder()
    err = refused(URL, recorder, resolver=lambda h, p: [PUBLIC_IP, "10.0.0.7"])
    assert "10.0.0.7" in err.reason
    assert recorder.requests == []


def test_allow_private_lets_loopback_through(settings):
    assert fetch(URL, resolver=lambda h, p: ["127.0.0.1"], allow_private=True) == BODY
    settings.TRYON = {"ALLOW_PRIVATE_DOWNLOADS": True}
    assert fetch(URL, resolver=lambda h, p: ["127.0.0.1"]) == BODY


def test_the_real_resolver_runs_and_refuses_localhost():
    recorder = Recorder()
    err = refused("https://localhost/x.jpg", recorder, allowed_hosts=["localhost"], resolver=None)
    assert "non-public address" in err.reason
    assert recorder.requests == []


def test_ip_literal_urls_are_checked_too():
    recorder = Recorder()
    err = refused(
        "https://169.254.169.254/latest/meta-data",
        recorder,
        allowed_hosts=["169.254.169.254"],
        resolver=None,
    )
    assert "non-public address" in err.reason
    assert recorder.requests == []


def test_dns_failure_is_retryable():
    def broken(host, port):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    err = refused(URL, resolver=broken)
    assert err.retryable is True
    assert "resolve" in err.reason


def test_empty_resolution_is_refused():
    assert refused(URL, resolver=lambda h, p: []).retryable is True


def test_the_next_checked_address_is_tried_when_connecting_fails():
    def respond(request):
        if request.url.host == "93.184.216.1":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, content=BODY)

    recorder = Recorder(respond)
    got = fetch(URL, recorder, resolver=lambda h, p: ["93.184.216.1", PUBLIC_IP])
    assert got == BODY
    assert [r.url.host for r in recorder.requests] == ["93.184.216.1", PUBLIC_IP]


# ---------------------------------------------------------------------------------------
# Responses


def test_redirects_are_not_followed():
    recorder = Recorder(
        lambda r: httpx.Response(302, headers={"Location": "http://169.254.169.254/"})
    )
    err = refused(URL, recorder)
    assert err.retryable is False
    assert "redirect" in err.reason
    assert len(recorder.requests) == 1


@pytest.mark.parametrize(
    ("status", "retryable"),
    [
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (429, True),
        (408, True),
        (404, False),
        (410, False),
        (403, False),
        (401, False),
        (400, False),
        (204, False),
        (206, False),
        (301, False),
        (307, False),
    ],
)
def test_status_codes(status, retryable):
    err = refused(URL, Recorder(lambda r: httpx.Response(status)))
    assert err.retryable is retryable
    assert str(status) in err.reason


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (httpx.ConnectTimeout, True),
        (httpx.ConnectError, True),
        (httpx.ReadTimeout, True),
        (httpx.ReadError, True),
        (httpx.RemoteProtocolError, True),
    ],
)
def test_transport_errors(exc, retryable):
    def respond(request):
        raise exc("boom", request=request)

    assert refused(URL, Recorder(respond)).retryable is retryable


class Chunks(httpx.SyncByteStream):
    """A response body delivered in chunks, counting how many were pulled."""

    def __init__(self, chunk=b"x" * 100, count=None, delay=0.0):
        self.chunk, self.count, self.delay = chunk, count, delay
        self.pulled = 0

    def __iter__(self):
        while self.count is None or self.pulled < self.count:
            if self.delay:
                time.sleep(self.delay)
            self.pulled += 1
            yield self.chunk


def test_declared_content_length_over_the_cap_is_refused_before_reading():
    body = Chunks(count=20)
    recorder = Recorder(
        lambda r: httpx.Response(200, headers={"Content-Length": "2000"}, stream=body)
    )
    err = refused(URL, recorder, max_bytes=1000)
    assert err.retryable is False
    assert "too large" in err.reason
    assert body.pulled == 0


def test_streamed_body_over_the_cap_stops_early():
    body = Chunks()  # endless, no Content-Length
    err = refused(URL, Recorder(lambda r: httpx.Response(200, stream=body)), max_bytes=1000)
    assert err.retryable is False
    assert "too large" in err.reason
    assert body.pulled == 11  # stopped at the first chunk past 1000 bytes


def test_body_of_exactly_the_cap_is_accepted():
    body = Chunks(count=10)
    assert (
        len(fetch(URL, Recorder(lambda r: httpx.Response(200, stream=body)), max_bytes=1000))
        == 1000
    )


def test_byte_cap_comes_from_settings(settings):
    settings.TRYON = {"DOWNLOAD_MAX_BYTES": 10}
    assert "too large" in refused(URL).reason


def test_wall_clock_deadline_over_a_slow_body():
    body = Chunks(delay=0.05, count=200)  # would take 10 s
    started = time.monotonic()
    err = refused(URL, Recorder(lambda r: httpx.Response(200, stream=body)), timeout=0.3)
    elapsed = time.monotonic() - started
    assert err.retryable is True
    assert "too long" in err.reason
    assert elapsed < 2.0
    assert body.pulled < 40


def test_compressed_bodies_are_refused():
    recorder = Recorder(
        lambda r: httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=b"\x1f\x8b")
    )
    err = refused(URL, recorder)
    assert err.retryable is False
    assert "Content-Encoding" in err.reason


# ---------------------------------------------------------------------------------------
# Real sockets


def image_host(**kwargs) -> LocalHost:
    """A host serving BODY at /image.jpg (a redirect at /redirect, 404 elsewhere)."""
    host = LocalHost(**kwargs)
    host.add("/image.jpg", BODY, "image/jpeg")
    host.redirects["/redirect"] = "/image.jpg"
    return host


@pytest.fixture
def http_server():
    with image_host() as host:
        yield host


def test_real_http_download_from_a_local_server(http_server):
    port = http_server.port
    base = f"http://127.0.0.1:{port}"
    got = download(f"{base}/image.jpg?sig=abc", **LOOPBACK)
    assert got == BODY
    assert http_server.hosts == [f"127.0.0.1:{port}"]
    with pytest.raises(DownloadError) as excinfo:
        download(f"{base}/redirect", **LOOPBACK)
    assert excinfo.value.retryable is False
    assert len(http_server.hosts) == 2  # the redirect target was never requested
    with pytest.raises(DownloadError) as excinfo:
        download(f"{base}/missing", **LOOPBACK)
    assert excinfo.value.retryable is False


def test_real_http_to_loopback_refused_without_allow_private(http_server):
    port = http_server.port
    with pytest.raises(DownloadError) as excinfo:
        download(
            f"http://127.0.0.1:{port}/image.jpg",
            allowed_hosts=["127.0.0.1"],
            allow_http=True,
            allow_private=False,
        )
    assert excinfo.value.retryable is False
    assert http_server.hosts == []


def test_connection_refused_is_retryable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(DownloadError) as excinfo:
        download(f"http://127.0.0.1:{port}/x.jpg", **LOOPBACK)
    assert excinfo.value.retryable is True


# --- TLS: the pinned connection verifies the certificate against the *hostname* -------


def _make_ca_and_cert(tmp_path, hostname):
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tryon test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.OID_SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path, cert_path, key_path = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, cert_path, key_path


@pytest.fixture
def https_server(tmp_path):
    """A TLS server on 127.0.0.1 whose certificate names only ``good.test``."""
    ca_path, cert_path, key_path = _make_ca_and_cert(tmp_path, "good.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert_path, key_path)
    sni_seen: list[str | None] = []
    server_ctx.sni_callback = lambda sslobj, name, ctx: sni_seen.append(name)

    client_ctx = ssl.create_default_context(cafile=str(ca_path))
    with image_host(tls=server_ctx) as host:
        yield host, client_ctx, sni_seen


def test_https_pinned_to_an_ip_still_verifies_the_hostname(https_server):
    host, client_ctx, sni_seen = https_server
    port = host.port
    loopback = lambda host, p: ["127.0.0.1"]  # noqa: E731
    with httpx.Client(verify=client_ctx, trust_env=False) as client:
        got = download(
            f"https://good.test:{port}/image.jpg",
            allowed_hosts=["good.test"],
            allow_private=True,
            resolver=loopback,
            client=client,
            timeout=5,
        )
        assert got == BODY
        assert sni_seen == ["good.test"]  # SNI is the hostname, not the IP
        assert host.hosts == [f"good.test:{port}"]

        # The same server, reached for another name: its certificate does not match.
        with pytest.raises(DownloadError) as excinfo:
            download(
                f"https://other.test:{port}/image.jpg",
                allowed_hosts=["other.test"],
                allow_private=True,
                resolver=loopback,
                client=client,
                timeout=5,
            )
    assert excinfo.value.retryable is False
    assert "certificate" in excinfo.value.reason
    assert len(host.hosts) == 1


def test_https_by_ip_literal_without_a_hostname_fails_verification(https_server):
    # Without the hostname (no sni_hostname), verification would be against the IP and
    # fail: this is what the pinning would look like if httpcore ignored sni_hostname.
    host, client_ctx, _ = https_server
    port = host.port
    with (
        httpx.Client(verify=client_ctx, trust_env=False) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get(f"https://127.0.0.1:{port}/image.jpg", headers={"Host": "good.test"})


def test_downloads_load_the_ca_bundle_once_per_process(http_server, monkeypatch):
    """Building a TLS context loads the whole CA bundle (about 20 ms of CPU): a client per
    download is fine, a context per download is not."""
    from django_tryon import fetch

    loads = []
    real = ssl.SSLContext.load_verify_locations

    def counting(self, *args, **kwargs):
        loads.append(args or kwargs)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    fetch._tls_context.cache_clear()
    port = http_server.port
    for _ in range(3):
        got = download(f"http://127.0.0.1:{port}/image.jpg", **LOOPBACK)
        assert got == BODY
    assert len(loads) == 1
    assert len(http_server.hosts) == 3  # still one request (and connection) per download


def test_the_shared_tls_context_verifies_certificates_and_hostnames():
    from django_tryon import fetch

    fetch._tls_context.cache_clear()
    context = fetch._tls_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert fetch._tls_context() is context


@pytest.mark.parametrize(
    "address",
    ["::127.0.0.1", "::ffff:0:127.0.0.1", "::10.0.0.1", "::ffff:0:169.254.169.254"],
    ids=["compatible-loopback", "translated-loopback", "compatible-private", "translated-metadata"],
)
def test_ipv6_forms_that_embed_a_private_ipv4_address_are_refused(address):
    """IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d) addresses count
    as global to Python, but can reach the IPv4 host they embed."""
    assert is_public_address(address) is False


def test_ipv6_forms_that_embed_a_public_ipv4_address_follow_it():
    assert is_public_address("2606:4700:4700::1111") is True
