"""skopeo, umoci and runc read and run what ``distill build`` writes, without Docker."""

from __future__ import annotations

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest

from support.e2e import HelloImage

pytestmark = [pytest.mark.mirror, pytest.mark.tools("go", "skopeo", "umoci", "runc")]

NONROOT = 65532
HEALTH_TEST = ["CMD", "/app/hello", "--health-check"]


def _run(*command: str, timeout: float = 300) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, f"{' '.join(command)}: {result.stderr.strip()}"
    return result.stdout


def _skopeo_json(*args: str) -> Any:
    return json.loads(_run("skopeo", "inspect", *args))


def _manifest_digest(layout: Path) -> str:
    index = json.loads((layout / "index.json").read_text(encoding="utf-8"))
    # the image; SBOM and provenance referrers sit beside it with an artifactType
    (manifest,) = [m for m in index["manifests"] if "artifactType" not in m]
    return str(manifest["digest"])


def test_skopeo_inspects_the_oci_layout(hello_image: HelloImage) -> None:
    inspected = _skopeo_json(f"oci:{hello_image.layout}:{hello_image.tag}")

    assert inspected["Digest"] == _manifest_digest(hello_image.layout)
    assert inspected["Architecture"] == "amd64" and inspected["Os"] == "linux"
    assert len(inspected["Layers"]) >= 2


def test_skopeo_inspects_the_docker_archive(hello_image: HelloImage) -> None:
    archive = f"docker-archive:{hello_image.archive}"
    oci = f"oci:{hello_image.layout}:{hello_image.tag}"

    inspected = _skopeo_json(f"{archive}:{hello_image.reference}")  # picked by its tag

    assert inspected["Architecture"] == "amd64"
    assert len(inspected["Layers"]) == len(_skopeo_json(oci)["Layers"])
    # The same image config document in both outputs.
    assert _run("skopeo", "inspect", "--config", "--raw", archive) == _run(
        "skopeo", "inspect", "--config", "--raw", oci)


@pytest.mark.parametrize("transport", ["oci", "docker-archive"])
def test_the_config_runs_as_nonroot_with_a_health_check(
    hello_image: HelloImage, transport: str
) -> None:
    source = (f"oci:{hello_image.layout}:{hello_image.tag}" if transport == "oci"
              else f"docker-archive:{hello_image.archive}")

    config = _skopeo_json("--config", "--raw", source)["config"]
    cooked = _skopeo_json("--config", source)["config"]

    assert config["User"] == cooked["User"] == f"{NONROOT}:{NONROOT}"
    assert config["Healthcheck"]["Test"] == HEALTH_TEST
    assert config["Entrypoint"] == ["/app/hello"]
    assert "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" in config["Env"]


@pytest.fixture(scope="module")
def bundle(hello_image: HelloImage, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The OCI layout unpacked by umoci as root (a full runtime config.json)."""
    target = tmp_path_factory.mktemp("umoci") / "bundle"
    _run("umoci", "unpack", "--image", f"{hello_image.layout}:{hello_image.tag}", str(target))
    return target


def test_umoci_unpacks_the_layout_with_the_image_user(bundle: Path) -> None:
    runtime = json.loads((bundle / "config.json").read_text(encoding="utf-8"))
    rootfs = bundle / "rootfs"

    assert runtime["process"]["user"]["uid"] == NONROOT
    assert runtime["process"]["user"]["gid"] == NONROOT
    assert runtime["process"]["args"] == ["/app/hello"]
    assert (rootfs / "app" / "hello").stat().st_mode & 0o111
    assert (rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt").is_file()
    passwd = (rootfs / "etc" / "passwd").read_text(encoding="utf-8")
    assert f"nonroot:x:{NONROOT}:{NONROOT}:" in passwd
    assert not (rootfs / "bin" / "sh").exists() and not (rootfs / "busybox").exists()


def test_runc_runs_the_unpacked_bundle_as_nonroot(bundle: Path) -> None:
    config_path = bundle / "config.json"
    runtime = json.loads(config_path.read_text(encoding="utf-8"))
    runtime["process"]["args"] = ["/app/hello", "--report"]
    runtime["process"]["terminal"] = False
    runtime["process"]["env"] = [*runtime["process"].get("env", []), "TZ=Europe/Paris"]
    config_path.write_text(json.dumps(runtime), encoding="utf-8")
    name = f"distill-e2e-{uuid.uuid4().hex[:12]}"

    try:
        output = _run("runc", "run", "--bundle", str(bundle), name)
    finally:
        subprocess.run(["runc", "delete", "--force", name], capture_output=True, check=False)

    assert f"uid={NONROOT} gid={NONROOT}" in output
    assert "tz=Europe/Paris noon-utc=14:00 CEST" in output
    certs = int(output.split("certs=")[1].split()[0])
    assert certs > 100
