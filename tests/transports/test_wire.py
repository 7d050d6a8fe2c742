"""distill.transports.wire against real sockets: a keep-alive HTTP/1.1 server and raw peers."""

from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from distill.transports.wire import Connection, ProtocolError, TunnelError
from support.http_proxy import HttpProxy
from support.local_http import QuietHandler, serving


class _Echo(QuietHandler):
    protocol_version = "HTTP/1.1"
    connections: ClassVar[set[int]] = set()

    def do_GET(self) -> None:
        type(self).connections.add(self.client_address[1])  # ids of freed sockets recur
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"line one\n", b"line ", b"two\n", b"tail"):
                self.wfile.write(b"%x;ext=1\r\n%b\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\nX-Trailer: yes\r\n\r\n")
            return
        self.send_body(200, f"got {self.path}".encode(), {"X-Twice": "a"})

    def do_HEAD(self) -> None:
        self.send_body(200, b"ignored body", {"Content-Length": "12"}, head=True)

    def do_PUT(self) -> None:
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            data = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_body(201, b"stored " + data)


@pytest.fixture()
def echo() -> Iterator[int]:
    _Echo.connections = set()
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)) as url:
        yield int(url.rsplit(":", 1)[1])


def test_keeps_one_connection_alive_across_requests(echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        for path in ("/a", "/b", "/c"):
            with connection.request("GET", path) as response:
                assert (response.status, response.read()) == (200, f"got {path}".encode())
                assert response.headers.get("x-twice") == "a"
    assert len(_Echo.connections) == 1


def test_reads_a_chunked_body_by_lines_and_skips_trailers(echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        response = connection.request("GET", "/chunked")
        assert list(response) == [b"line one\n", b"line two\n", b"tail"]
        assert response.complete
        response.close()
        assert connection.request("GET", "/after").read() == b"got /after"
    assert len(_Echo.connections) == 1


def test_small_reads_of_a_chunked_body(echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        response = connection.request("GET", "/chunked")
        assert b"".join(iter(lambda: response.read(3), b"")) == b"line one\nline two\ntail"


def test_sends_fixed_and_chunked_bodies(echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        assert connection.request("PUT", "/x", body=b"fixed").read() == b"stored fixed"
        chunks = (piece for piece in (b"one ", b"", b"two"))
        response = connection.request("PUT", "/y", body=chunks)
        assert (response.status, response.read()) == (201, b"stored one two")


def test_head_has_no_body_even_with_a_length(echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        response = connection.request("HEAD", "/")
        assert response.headers["Content-Length"] == "12" and response.read() == b""
        assert connection.request("GET", "/next").read() == b"got /next"


def test_an_unread_response_closes_the_connection_and_the_next_request_opens_one(
        echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        connection.request("GET", "/chunked").read(2)
        assert connection.request("GET", "/b").read() == b"got /b"
    assert len(_Echo.connections) == 2


def _raw_server(answer: Callable[[socket.socket, int], None], *, connections: int = 1
                ) -> tuple[int, threading.Thread]:
    """A TCP server on 127.0.0.1 that hands each accepted socket (and its number) to
    ``answer``, for ``connections`` connections."""
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with listener:
            for number in range(connections):
                listener.settimeout(5)
                try:
                    peer, _ = listener.accept()
                except TimeoutError:
                    return
                with peer:
                    answer(peer, number)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener.getsockname()[1], thread


def _read_request(peer: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += peer.recv(4096)
    return data


def test_a_kept_alive_connection_the_peer_closed_is_opened_again() -> None:
    def answer(peer: socket.socket, number: int) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n%d!" % number)
        # then close while the client thinks the connection is alive

    port, thread = _raw_server(answer, connections=2)
    with Connection(host="127.0.0.1", port=port) as connection:
        assert connection.request("GET", "/").read() == b"0!"
        assert connection.request("GET", "/").read() == b"1!"
    thread.join()


def test_a_body_to_the_end_of_the_connection_and_a_skipped_100_continue() -> None:
    def answer(peer: socket.socket, number: int) -> None:
        _read_request(peer)
        peer.sendall(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nServer: old\r\n\r\n"
                     b"all of it")

    port, thread = _raw_server(answer)
    with Connection(host="127.0.0.1", port=port) as connection:
        response = connection.request("GET", "/")
        assert (response.status, response.read()) == (200, b"all of it")
        response.close()
    thread.join()


@pytest.mark.parametrize("reply", [
    b"SSH-2.0-OpenSSH\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
])
def test_broken_answers_raise_protocol_errors(reply: bytes) -> None:
    def answer(peer: socket.socket, number: int) -> None:
        _read_request(peer)
        peer.sendall(reply)

    port, thread = _raw_server(answer)
    with Connection(host="127.0.0.1", port=port, timeout=5) as connection, \
            pytest.raises(ProtocolError):
        connection.request("GET", "/").read()
    thread.join()


def test_a_unix_socket_peer(tmp_path: Path) -> None:
    path = tmp_path / "engine.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    seen: list[bytes] = []

    def serve() -> None:
        peer, _ = listener.accept()
        with peer:
            seen.append(_read_request(peer))
            peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with Connection(unix_path=str(path)) as connection:
        assert connection.request("GET", "/_ping").read() == b"OK"
    thread.join()
    listener.close()
    assert seen[0].startswith(b"GET /_ping HTTP/1.1\r\nHost: localhost\r\n")


@pytest.fixture()
def tls_echo(tmp_path: Path) -> Iterator[tuple[int, ssl.SSLContext]]:
    """The echo server on TLS for ``localhost``: its port and a context that trusts it."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    with serving(server):
        yield server.server_port, ssl.create_default_context(cafile=str(cert))


def test_tls_with_a_context_that_trusts_the_peer(tls_echo: tuple[int, ssl.SSLContext]) -> None:
    port, trusting = tls_echo
    with Connection(host="localhost", port=port, tls=trusting) as connection:
        assert connection.request("GET", "/secure").read() == b"got /secure"
    with Connection(host="localhost", port=port,
                    tls=ssl.create_default_context()) as connection, \
            pytest.raises(ssl.SSLCertVerificationError):
        connection.request("GET", "/secure")


def test_tls_through_a_proxy_tunnel(tls_echo: tuple[int, ssl.SSLContext]) -> None:
    port, trusting = tls_echo
    with HttpProxy(authorization="Basic dTpw") as proxy, \
            Connection(host="localhost", port=port, tls=trusting,
                       proxy=("127.0.0.1", proxy.port),
                       proxy_headers={"Proxy-Authorization": "Basic dTpw"}) as connection:
        for path in ("/one", "/two"):
            assert connection.request("GET", path).read() == f"got {path}".encode()
    assert [(seen.method, seen.target) for seen in proxy.seen] == \
        [("CONNECT", f"localhost:{port}")]  # one tunnel, kept alive


def test_a_refused_tunnel_is_a_tunnel_error(tls_echo: tuple[int, ssl.SSLContext]) -> None:
    port, trusting = tls_echo
    with HttpProxy(authorization="Basic dTpw") as proxy, \
            Connection(host="localhost", port=port, tls=trusting,
                       proxy=("127.0.0.1", proxy.port)) as connection, \
            pytest.raises(TunnelError, match="407") as caught:
        connection.connect()
    assert caught.value.status == 407 and not connection.is_open


def test_plain_http_through_a_proxy_sends_absolute_form(echo: int) -> None:
    with HttpProxy() as proxy, \
            Connection(host="localhost", port=echo, proxy=("127.0.0.1", proxy.port),
                       proxy_headers={"Proxy-Authorization": "Basic dTpw"}) as connection:
        # the echo server, reached through the proxy, shows the target it was sent
        answer = connection.request("GET", "/x?y=1").read()
    assert answer == f"got http://localhost:{echo}/x?y=1".encode()
    assert proxy.seen[0].authorization == "Basic dTpw"


def test_an_iterable_body_with_a_length_is_sent_as_it_is(echo: int) -> None:
    with Connection(host="127.0.0.1", port=echo) as connection:
        response = connection.request("PUT", "/z", headers={"Content-Length": "7"},
                                      body=iter([b"not ", b"", b"cut"]))
        assert (response.status, response.read()) == (201, b"stored not cut")


def test_the_host_header_of_an_ipv6_address() -> None:
    assert Connection(host="::1", port=5000).host_header == "[::1]:5000"
    assert Connection(host="::1", port=80).host_header == "[::1]"


def test_an_http_1_0_answer_is_not_kept_alive() -> None:
    def answer(peer: socket.socket, number: int) -> None:
        _read_request(peer)
        if number == 0:  # what Go's TLS server says to plain HTTP, then it closes later
            peer.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n"
                         b"Client sent an HTTP request to an HTTPS server.\n")
            peer.recv(1)
        else:
            peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")

    port, thread = _raw_server(answer, connections=2)
    with Connection(host="127.0.0.1", port=port) as connection:
        with connection.request("HEAD", "/v2/") as response:
            assert response.status == 400
        assert connection.request("GET", "/v2/").read() == b"OK"
    thread.join()
