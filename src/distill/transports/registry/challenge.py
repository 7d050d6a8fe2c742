"""Answering a registry's ``WWW-Authenticate`` challenge: HTTP basic, or bearer tokens.

A bearer token is fetched from the challenge's realm for the scopes a request
needs, once per set of scopes, and sent with every later request for them.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from distill.errors import TransportError
from distill.transports.registry.auth import Credentials, parse_challenge
from distill.transports.registry.http import HttpClient, HttpError, Response, with_params
from distill.transports.registry.retry import Retry


class Authenticator:
    """The credentials of one registry host and the auth they earned so far."""

    def __init__(self, host: str, credentials: Credentials | None) -> None:
        self.host = host
        self._credentials = credentials
        self._lock = threading.Lock()
        self._basic: str | None = None
        self._tokens: dict[str, str] = {}
        self._bearer: dict[str, str] | None = None

    def header(self, scopes: Sequence[str]) -> dict[str, str]:
        """The ``Authorization`` header for a request needing ``scopes`` (empty if none yet)."""
        with self._lock:
            if self._bearer is not None:
                token = self._tokens.get(" ".join(scopes))
                return {"Authorization": f"Bearer {token}"} if token else {}
            return {"Authorization": self._basic} if self._basic else {}

    def answer(self, response: Response, scopes: Sequence[str], *, http: HttpClient) -> bool:
        """Set up auth from a 401's challenge; False when there is nothing new to try."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate") or "")
        if self._credentials is None and challenge.scheme != "bearer":
            raise TransportError(
                f"{self.host} requires authentication; run `distill login {self.host}`"
            )
        if challenge.scheme == "basic":
            if self._basic is not None or self._credentials is None:
                raise self._rejected()
            self._basic = self._credentials.basic_header()
            return True
        if challenge.scheme == "bearer":
            key = " ".join(scopes)
            if key in self._tokens:
                raise self._rejected()
            self._bearer = dict(challenge.params)
            self._tokens[key] = self._fetch_token(dict(challenge.params), scopes, http=http)
            return True
        raise TransportError(
            f"{self.host} asks for unsupported authentication {challenge.scheme!r}"
        )

    def _fetch_token(self, params: dict[str, str], scopes: Sequence[str], *,
                     http: HttpClient) -> str:
        realm = params.get("realm")
        if not realm:
            raise TransportError(f"{self.host}: bearer challenge without a realm")
        query = [("scope", scope) for scope in scopes]
        if "service" in params:
            query.append(("service", params["service"]))
        headers = {}
        if self._credentials is not None:
            headers["Authorization"] = self._credentials.basic_header()
        try:
            with http.request("GET", with_params(realm, query), headers=headers) as response:
                response.read()
        except HttpError as exc:
            raise Retry(f"token request to {realm} failed: {exc}", silent=exc.timed_out) from exc
        if response.status_code in (401, 403):
            raise self._rejected()
        if response.status_code != 200:
            raise TransportError(f"token service {realm} answered {response.status_code}")
        doc = response.json()
        token = doc.get("token") or doc.get("access_token")
        if not isinstance(token, str):
            raise TransportError(f"token service {realm} gave no token")
        return token

    def _rejected(self) -> TransportError:
        if self._credentials is None:
            return TransportError(f"{self.host} requires authentication; "
                                  f"run `distill login {self.host}`")
        return TransportError(
            f"{self.host} rejected the credentials of user {self._credentials.username!r}; "
            f"run `distill login {self.host}` with the right password"
        )
