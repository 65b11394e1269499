"""One small HTTP server on 127.0.0.1 for every test that needs a real socket: it serves
files on GET (input images, result images, redirects) and records every POST (a shop's
callback endpoint). Contract, sandbox, fetch and integration tests all use this one."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from kit.waiting import wait_until


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


class LocalHost:
    """``files`` maps a path to bytes (looked up with, then without, its query string);
    ``redirects`` maps a path to a Location; anything else is a 404. ``fetched`` lists
    the GET paths asked for, ``hosts`` their Host headers, ``posts`` every POST as a dict
    (path, headers, body, time), answered with ``post_status``."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self.files: dict[str, bytes] = {}
        self.content_types: dict[str, str] = {}
        self.redirects: dict[str, str] = {}
        self.fetched: list[str] = []
        self.hosts: list[str] = []
        self.posts: list[dict[str, Any]] = []
        self.post_status = 200
        self.server = _Server(("127.0.0.1", 0), self._handler())
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def add(self, path: str, data: bytes, content_type: str = "") -> str:
        """Serve ``data`` at ``path``; returns its URL."""
        self.files[path] = data
        if content_type:
            self.content_types[path] = content_type
        return self.url + path

    def wait_for_posts(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Every POST received, once at least ``count`` have arrived."""
        wait_until(lambda: len(self.posts) >= count, timeout, what=f"{count} POSTs to {self.url}")
        return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalHost:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _handler(self):
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.fetched.append(self.path)
                host.hosts.append(self.headers.get("Host", ""))
                bare = urlsplit(self.path).path
                target = host.redirects.get(self.path, host.redirects.get(bare))
                if target is not None:
                    self._answer(302, b"", {"Location": target})
                    return
                key = self.path if self.path in host.files else bare
                data = host.files.get(key)
                if data is None:
                    self._answer(404, b"not found")
                    return
                kind = host.content_types.get(key)
                self._answer(200, data, {"Content-Type": kind} if kind else {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                host.posts.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": body,
                        "time": time.monotonic(),
                    }
                )
                self._answer(host.post_status, b"")

            def _answer(self, status: int, body: bytes, headers: dict | None = None) -> None:
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def served() -> Iterator[LocalHost]:
    """A fixture's body: a LocalHost for one test, closed after it. Each conftest names it
    (``pytest.fixture(served, name="file_host")``)."""
    with LocalHost() as host:
        yield host
