"""Retrying one registry operation: backoff, Retry-After, and a budget of silence."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from distill.errors import TransportError
from distill.transports.registry.options import RegistryOptions

T = TypeVar("T")


class Retry(Exception):
    """A transient failure; ``delay`` is the registry's Retry-After, if it gave one.

    ``silent``: the registry did not answer in time (as opposed to answering badly).
    """

    def __init__(self, reason: str, delay: float | None = None, *, silent: bool = False) -> None:
        super().__init__(reason)
        self.delay = delay
        self.silent = silent


def retrying(what: str, operation: Callable[[], T], *, host: str, options: RegistryOptions) -> T:
    """Run ``operation``, retrying it on :class:`Retry` with exponential backoff (or the
    registry's Retry-After) until ``options.retries`` or ``options.silence`` run out."""
    attempts, silence = options.retries + 1, 0.0
    for attempt in range(attempts):
        started = time.monotonic()
        try:
            return operation()
        except Retry as retry:
            if retry.silent:
                silence += time.monotonic() - started
            if silence >= options.silence:
                raise TransportError(
                    f"{what} failed: {host} did not answer "
                    f"({attempt + 1} attempts of {options.timeout:g} s)"
                ) from retry
            if attempt == attempts - 1:
                raise TransportError(
                    f"{what} failed after {attempts} attempts: {retry}"
                ) from retry
            wait = options.backoff * (2**attempt)
            delay = retry.delay if retry.delay is not None else wait
            time.sleep(min(delay, options.max_backoff))
    raise AssertionError("unreachable")
