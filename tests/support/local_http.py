"""Small HTTP servers on 127.0.0.1 for tests: a quiet handler and a running-server block."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """A request handler that logs nothing and answers with :meth:`send_body`."""

    def send_body(self, status: int, body: bytes, headers: dict[str, str] | None = None, *,
                  head: bool = False) -> None:
        """Answer ``status`` with ``body`` (Content-Length set unless ``headers`` has it)."""
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(server: http.server.HTTPServer) -> Iterator[str]:
    """Run ``server`` in a thread while in the block; yields its ``http://127.0.0.1:PORT``."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
