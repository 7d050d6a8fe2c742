"""The registry side of the layer cache: does every destination registry hold a blob?

A build whose outputs are all ``docker://`` references hands :class:`DestinationBlobs`
to its layer store, so a cached layer whose local blob is gone is reused without
being rebuilt when each destination answers HEAD for its digest; the push then
skips it for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence

from distill.errors import DistillError
from distill.transports.registry.client import RegistryClient
from distill.transports.registry.options import RegistryOptions


class DestinationBlobs:
    """``blobs(digest)``: whether every ``(host, repository)`` destination has the blob."""

    def __init__(self, destinations: Sequence[tuple[str, str]], *,
                 options: RegistryOptions | None = None) -> None:
        self._destinations = tuple(destinations)
        self._options = options
        self._clients: dict[str, RegistryClient] = {}
        self._unreachable = False

    def __enter__(self) -> DestinationBlobs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, digest: str) -> bool:
        if not self._destinations or self._unreachable:
            return False
        try:
            return all(self._client(host).blob_exists(repository, digest)
                       for host, repository in self._destinations)
        except DistillError:
            self._unreachable = True  # ask it no more: each question would wait again
            return False  # an unreachable registry means: build the layer here

    def _client(self, host: str) -> RegistryClient:
        if host not in self._clients:
            self._clients[host] = RegistryClient(host, options=self._options)
        return self._clients[host]

    def close(self) -> None:
        """Close the registry connections."""
        for client in self._clients.values():
            client.close()
        self._clients.clear()
