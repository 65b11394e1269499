"""The shop's web server for the benchmarks: Django's own threaded WSGI server (the one
``runserver`` uses), with TCP_NODELAY on every connection.

``runserver`` leaves Nagle's algorithm on: on a kept-alive connection its answer goes out
in two writes and the second waits for the client's delayed ACK, adding about 40 ms to
every request after the first. That would swamp what the benchmarks measure.

``python -m bench.server PORT`` (settings from DJANGO_SETTINGS_MODULE).
"""

from __future__ import annotations

import socket
import sys

import django
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application


class Handler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args) -> None:  # one line per request would cost CPU
        pass


def main() -> None:
    port = int(sys.argv[1])
    django.setup()
    server = ThreadedWSGIServer(("127.0.0.1", port), Handler)
    server.set_app(get_wsgi_application())
    server.serve_forever()


if __name__ == "__main__":
    main()
