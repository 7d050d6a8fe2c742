"""A loopback HTTP shim over a registry that answers the OCI referrers API.

Debian's docker-registry (distribution 2.8) has no referrers API, so distill
uses the tag schema there. This shim exists only to test distill's client on
the API branch: it forwards everything to the real registry, remembers each
manifest pushed with a ``subject`` (answering the push with ``OCI-Subject``),
and answers ``GET /v2/<name>/referrers/<digest>`` from what it remembers.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from typing import Any

from support.local_http import QuietHandler, serving

INDEX = "application/vnd.oci.image.index.v1+json"
_REFERRERS = re.compile(r"^/v2/(?P<name>.+)/referrers/(?P<digest>sha256:[0-9a-f]{64})")
_MANIFEST = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/?]+)$")


class ReferrersShim:
    """The shim's state: the referrers it indexed and every request it saw."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.referrers: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.host = f"127.0.0.1:{self.server.server_address[1]}"

    def remember(self, name: str, body: bytes, media_type: str) -> str | None:
        """Index a pushed manifest by its subject; return the subject's digest."""
        document = json.loads(body)
        subject = (document.get("subject") or {}).get("digest")
        if subject is None:
            return None
        entry = {"mediaType": media_type, "size": len(body),
                 "digest": "sha256:" + hashlib.sha256(body).hexdigest()}
        for key in ("artifactType", "annotations"):
            if key in document:
                entry[key] = document[key]
        with self.lock:
            self.referrers.setdefault((name, subject), []).append(entry)
        return str(subject)


@contextmanager
def referrers_shim(upstream: str) -> Iterator[ReferrersShim]:
    """Run a shim over the registry ``upstream`` (``127.0.0.1:PORT``) while in the block."""
    shim = ReferrersShim(upstream)
    with serving(shim.server):
        yield shim


def _handler(shim: ReferrersShim) -> type[QuietHandler]:
    class Handler(QuietHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            with shim.lock:
                shim.requests.append((self.command, self.path))
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            asked = _REFERRERS.match(self.path)
            if asked and self.command == "GET":
                with shim.lock:
                    entries = list(shim.referrers.get((asked["name"], asked["digest"]), []))
                data = json.dumps({"schemaVersion": 2, "mediaType": INDEX,
                                   "manifests": entries}).encode()
                self.send_body(200, data, {"Content-Type": INDEX})
                return
            status, headers, data = self._forward(body)
            pushed = _MANIFEST.match(self.path)
            if pushed and self.command == "PUT" and status == 201:
                subject = shim.remember(pushed["name"], body,
                                        self.headers.get("Content-Type", ""))
                if subject is not None:
                    headers["OCI-Subject"] = subject
            self.send_body(status, data, headers, head=self.command == "HEAD")

        def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection(shim.upstream, timeout=60)
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in ("connection", "keep-alive", "transfer-encoding")}
            connection.request(self.command, self.path, body=body or None, headers=headers)
            response = connection.getresponse()
            data = response.read()
            kept = {k: v for k, v in response.getheaders()
                    if k.lower() not in ("connection", "transfer-encoding", "content-length")}
            if self.command == "HEAD":
                kept["Content-Length"] = response.getheader("Content-Length") or "0"
            connection.close()
            return response.status, kept, data

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _any

    return Handler
