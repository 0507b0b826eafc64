"""A tiny Kite stand-in over real sockets for tests that need a specific (or broken) answer.

The simulator is the project's Kite; this serves canned responses (e.g. a corrupted copy of the
instruments dump) from a ``ThreadingHTTPServer`` on 127.0.0.1 and records each request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class StubResponse:
    status: int
    body: bytes
    content_type: str


@dataclass
class KiteStub:
    routes: dict[str, StubResponse] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def csv(self, path: str, text: str) -> None:
        self.routes[path] = StubResponse(200, text.encode(), "text/csv")

    def json(self, path: str, payload: object, status: int = 200) -> None:
        self.routes[path] = StubResponse(status, json.dumps(payload).encode(), "application/json")

    def error(self, path: str, status: int, error_type: str, message: str) -> None:
        self.json(path, {"status": "error", "message": message, "error_type": error_type}, status)


def _handler(stub: KiteStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            stub.requests.append((self.path, dict(self.headers.items())))
            response = stub.routes.get(path) or stub.routes.get(self.path)
            if response is None:
                response = StubResponse(
                    404,
                    b'{"status":"error","message":"not found","error_type":"GeneralException"}',
                    "application/json",
                )
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextmanager
def kite_stub() -> Iterator[KiteStub]:
    stub = KiteStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
