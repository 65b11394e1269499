"""The sandbox's HTTP plumbing: a threaded HTTP/1.1 server that reads each request
(Content-Length or chunked, with a size cap), hands it to the ``respond`` function it was
given (``Sandbox.respond``) and writes the answer. It knows nothing of the providers."""

from __future__ import annotations

import logging
import socket
import socketserver
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .web import ApiRequest, ApiResponse

logger = logging.getLogger("django_tryon.sandbox")

MAX_BODY_BYTES = 64 * 1024 * 1024


class SandboxHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # never wait for idle keep-alive connections on close

    def __init__(
        self, address: tuple[str, int], respond: Callable[[ApiRequest], ApiResponse]
    ) -> None:
        self.respond = respond
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall; skip that.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "django-tryon-sandbox/1"
    timeout = 120  # an idle keep-alive connection is closed after this
    server: SandboxHTTPServer

    def setup(self) -> None:
        super().setup()
        # Answers go out in several writes; with Nagle's algorithm on, each answer on a
        # kept-alive connection would wait ~40 ms for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _handle(self) -> None:
        received = time.time()
        body = self._read_body()
        if body is None:
            return
        split = urlsplit(self.path)
        request = ApiRequest(
            method=self.command,
            path=split.path,
            query=dict(parse_qsl(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            received=received,
        )
        response = self.server.respond(request)
        self._write(response)

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length_text = self.headers.get("Content-Length") or "0"
        if not length_text.isdigit():
            self._write(ApiResponse(400, {"error": "invalid Content-Length"}), close=True)
            return None
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            self._write(ApiResponse(413, {"error": "request body too large"}), close=True)
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self._write(ApiResponse(400, {"error": "bad chunked body"}), close=True)
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data)
            if len(data) + size > MAX_BODY_BYTES:
                self._write(ApiResponse(413, {"error": "request body too large"}), close=True)
                return None
            data += self.rfile.read(size)
            self.rfile.readline(1024)

    def _write(self, response: ApiResponse, *, close: bool = False) -> None:
        body = response.encoded()
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. hang)
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)
