"""``distill copy`` to and from a registry loads only what a copy needs (no httpx: the
registry client speaks HTTP through distill.transports.wire; no click: cli/fast.py runs
it); plain HTTP to a loopback registry never
loads a CA store nor imports ssl, and clients share one TLS context per CA file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from distill.errors import ConfigError
from distill.oci.model import Image
from distill.transports.oci_layout import write
from distill.transports.registry import RegistryOptions, pull, push
from support.tls import make_test_ca
from support.warm_runs import WRAPPER

NOT_FOR_COPY = ("rich", "pydantic", "pygments", "yaml", "httpx", "httpcore", "h11", "anyio",
                "certifi", "urllib.request", "http.client", "email", "distill.assembly",
                "distill.config", "distill.sbom", "distill.supply", "distill.debian",
                "distill.packagers", "distill.layers", "click")


def _copy(src: str, dst: str, cache: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, "-q", "copy", src, dst],
        capture_output=True, text=True, check=False,
        env={**os.environ, "DISTILL_CACHE": str(cache)},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["code"] == 0, done.stderr
    return list(result["modules"])


def _loaded(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == n or m.startswith(f"{n}.") for n in NOT_FOR_COPY)]


def test_copy_to_and_from_a_registry_imports_no_build_pipeline_nor_rich(
    plain_registry: Any, image: Image, tmp_path: Path,
) -> None:
    layout = tmp_path / "layout"
    write(image, layout, tag="1")
    ref = f"docker://{plain_registry.host}/startup/copy:1"
    pushed = _copy(f"oci:{layout}:1", ref, tmp_path / "cache")
    pulled = _copy(ref, f"oci:{tmp_path / 'back'}:1", tmp_path / "cache")
    assert (_loaded(pushed), _loaded(pulled)) == ([], [])
    assert "distill.transports.wire" in pushed  # the registry was spoken to
    assert "ssl" not in pulled  # the host is known to speak plain HTTP: no TLS was tried


def test_plain_http_to_a_loopback_registry_never_reads_the_ca_file(
    plain_registry: Any, image: Image, tmp_path: Path,
) -> None:
    broken = tmp_path / "not-a-ca.pem"
    broken.write_text("not a certificate\n")
    options = RegistryOptions(ca_file=broken, insecure_hosts=frozenset({plain_registry.host}))
    push(image, host=plain_registry.host, repository="startup/plain", tag="1",
         options=options)
    back = pull(host=plain_registry.host, repository="startup/plain", tag="1",
                work_dir=tmp_path / "work", options=options)
    assert back.digest == image.digest


def test_clients_share_one_tls_context_per_ca_file_as_it_is_on_disk(tmp_path: Path) -> None:
    ca = make_test_ca(tmp_path / "ca").ca
    options = RegistryOptions(ca_file=ca)
    first = options.ssl_context("registry.test:5000")
    assert options.ssl_context("other.test") is first  # the CA store is loaded once
    ca.write_text("not a certificate any more\n")
    with pytest.raises(ConfigError, match="cannot load CA file"):
        options.ssl_context("registry.test:5000")  # a changed file is read again
