"""The registry client's HTTP layer against real local servers: kept-alive connections
shared by threads, a kept connection the peer closed, query parameters merged into an
upload's Location."""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import pytest

from distill.transports.registry.http import HttpClient, HttpError, with_params
from distill.transports.registry.proxies import Proxies
from support.local_http import QuietHandler, serving


def _no_tls() -> ssl.SSLContext:
    raise AssertionError("plain HTTP must not make a TLS context")


def _client(keep: int = 4) -> HttpClient:
    return HttpClient(tls=_no_tls, timeout=5, connections=keep, proxies=Proxies())


class _Echo(QuietHandler):
    protocol_version = "HTTP/1.1"
    ports: ClassVar[set[int]] = set()
    lock = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            self.ports.add(self.client_address[1])
        self.send_body(200, self.path.encode())


def test_threads_share_a_few_kept_alive_connections() -> None:
    _Echo.ports = set()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    with serving(server) as url, _client(keep=4) as client:

        def get(number: int) -> bytes:
            with client.request("GET", f"{url}/n/{number}") as response:
                return response.read()

        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = list(pool.map(get, range(60)))
    assert answers == [f"/n/{number}".encode() for number in range(60)]
    assert 1 <= len(_Echo.ports) <= 8  # far fewer connections than requests


def _closing_server(answers: list[bytes]) -> tuple[int, list[bytes]]:
    """A server whose first connection answers one request and is then closed, and whose
    second answers the next; it returns what each request's body was."""
    listener = socket.create_server(("127.0.0.1", 0))
    bodies: list[bytes] = []

    def serve() -> None:
        with listener:
            for answer in answers:
                peer, _ = listener.accept()
                with peer:
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += peer.recv(65536)
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                                   if line.lower().startswith(b"content-length:")), 0)
                    while len(body) < length:
                        body += peer.recv(65536)
                    bodies.append(body)
                    peer.sendall(answer)

    threading.Thread(target=serve, daemon=True).start()
    return int(listener.getsockname()[1]), bodies


def test_a_streamed_body_goes_again_on_a_new_connection_when_the_kept_one_was_closed(
) -> None:
    ok = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    port, bodies = _closing_server([ok, ok])
    url = f"http://127.0.0.1:{port}/upload"
    with _client() as client:
        client.request("PUT", url, body=lambda: b"first").close()

        def pieces() -> list[bytes]:
            return [b"sec", b"ond"]

        response = client.request("PUT", url, headers={"Content-Length": "6"},
                                  body=lambda: iter(pieces()))
        assert response.status_code == 201
        response.close()
    assert bodies == [b"first", b"second"]


def test_nobody_listening_is_a_connect_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with _client() as client, pytest.raises(HttpError) as caught:
        client.request("GET", f"http://127.0.0.1:{port}/")
    assert caught.value.connecting and not caught.value.timed_out


@pytest.mark.parametrize(("url", "params", "expected"), [
    ("http://r/v2/a/blobs/uploads/u?_state=ab%2Bc%3D%3D", {"digest": "sha256:00"},
     "http://r/v2/a/blobs/uploads/u?_state=ab%2Bc%3D%3D&digest=sha256%3A00"),
    ("http://r/u?digest=old&x=1", {"digest": "sha256:11"}, "http://r/u?x=1&digest=sha256%3A11"),
    ("http://r/u", {}, "http://r/u"),
    ("https://auth/token?service=s", [("scope", "a:pull"), ("scope", "b:pull")],
     "https://auth/token?service=s&scope=a%3Apull&scope=b%3Apull"),
])
def test_query_parameters_are_merged_keeping_the_urls_own(
    url: str, params: dict[str, str] | list[tuple[str, str]], expected: str,
) -> None:
    assert with_params(url, params) == expected
