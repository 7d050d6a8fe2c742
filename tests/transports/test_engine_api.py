"""The unix-socket HTTP client of the engine sink, against the real engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from distill.transports.engine_api import EngineClient, HTTPError, StatusError


@pytest.mark.docker
def test_requests_share_one_connection_and_read_json(docker_engine: Path) -> None:
    with EngineClient(docker_engine) as client:
        assert client.get("/_ping").text == "OK"
        version = client.get("/version").json()
        missing = client.get("/images/distill-test/engine-api-no-such-image:0/json")
    assert isinstance(version["ApiVersion"], str)
    assert missing.status_code == 404
    with pytest.raises(StatusError, match=r"^HTTP 404: "):
        missing.raise_for_status()


@pytest.mark.docker
def test_a_body_left_unread_does_not_spoil_the_next_answer(docker_engine: Path) -> None:
    with EngineClient(docker_engine) as client:
        with client.stream("GET", "/version") as response:
            assert response.read(1) == b"{"
        assert client.get("/_ping").text == "OK"


def test_no_socket_is_an_http_error(tmp_path: Path) -> None:
    with EngineClient(tmp_path / "none.sock") as client, pytest.raises(HTTPError):
        client.get("/_ping")
