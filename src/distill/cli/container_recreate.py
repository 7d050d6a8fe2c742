"""A watched app's container made again from a new image, through the engine's API.

``distill watch --run`` starts its container once with ``docker run -d``, so
Docker itself reads the user's run arguments. After each rebuild the container
is made again as docker compose does it: the old container's configuration,
without what it took from the old image, goes to ``POST /containers/create``
with the new image, and is started. That saves the docker command's start-up
and its own round trips (about 50 ms of a save-to-answer turn on the benchmark
machine). Anything this cannot carry over exactly makes :func:`recreate` return
False, and the caller falls back to ``docker rm -f`` + ``docker run``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from distill.transports.engine_api import EngineClient, HTTPError

INHERITED = ("Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "StopSignal",
             "Volumes", "Healthcheck", "Shell", "OnBuild", "ArgsEscaped")
"""Config keys a container takes from its image unless the run arguments set them."""


def recreate(client: EngineClient, container: str, image: str) -> bool:
    """Replace ``container`` by one made the same way from ``image``; False when the API
    path cannot (no such container, an engine error, networks it cannot carry over)."""
    try:
        return _recreate(client, container, image)
    except (*HTTPError, ValueError, KeyError, TypeError):
        return False


def _recreate(client: EngineClient, container: str, image: str) -> bool:
    old = client.get(f"/containers/{container}/json")
    if old.status_code != 200:
        return False
    state = old.json()
    networks = (state.get("NetworkSettings") or {}).get("Networks") or {}
    host = state["HostConfig"]
    if len(networks) > 1 or any(name != host.get("NetworkMode") for name in networks):
        return False  # extra networks joined after the start: docker run knows them
    base = client.get(f"/images/{state['Image']}/json")
    if base.status_code != 200:
        return False
    config = user_config(state["Config"], base.json().get("Config") or {},
                         container_id=state["Id"])
    config["Image"] = image
    if client.delete(f"/containers/{container}", params={"force": "1"}).status_code \
            not in (204, 404):
        return False
    made = client.request_json("POST", "/containers/create", params={"name": container},
                               body={**config, "HostConfig": host})
    if made.status_code != 201:
        return False
    return client.request("POST", f"/containers/{made.json()['Id']}/start").status_code in (
        204, 304)


def user_config(config: Mapping[str, Any], image_config: Mapping[str, Any], *,
                container_id: str) -> dict[str, Any]:
    """``config`` (a container's) without what it has from ``image_config``: what the run
    arguments set, for a container of another image to take the rest from that image."""
    result = {key: value for key, value in config.items()
              if not (key in INHERITED and value == image_config.get(key))}
    inherited_env = set(image_config.get("Env") or ())
    result["Env"] = [item for item in config.get("Env") or () if item not in inherited_env]
    if result.get("Hostname") == container_id[:12]:
        del result["Hostname"]  # the engine names each container's host after its ID
    result.pop("Image", None)
    return result
