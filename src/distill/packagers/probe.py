"""HTTP health checks without a shell: ``healthcheck: {http: URL}`` on every base.

On the python3 and nodejs flavors the runtime itself probes the URL
(``python3 -c`` with urllib, ``node -e`` with http.get). On every other base,
scratch and static included, distill adds its own tiny static probe
(``/usr/local/bin/distill-probe``, built from ``probe/probe.c``) in a layer of
its own. Either way the health check is an exec-form command: no shell, no curl.
"""

from __future__ import annotations

import hashlib
from importlib import resources

from distill.config import Config, Healthcheck
from distill.errors import ConfigError
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.rootfs.tree import FileTree

PROBE_PATH = "/usr/local/bin/distill-probe"
"""Where the static probe goes in the image."""

PYTHON_PROBE = (
    "import sys,urllib.request as u\n"
    "try:s=u.urlopen(sys.argv[1],timeout=5).status\n"
    "except Exception:s=0\n"
    "sys.exit(0 if 200<=s<300 else 1)"
)
NODE_PROBE = (
    "const h=require('http').get(process.argv[1],{timeout:5000},"
    "r=>process.exit(r.statusCode>=200&&r.statusCode<300?0:1));"
    "h.on('error',()=>process.exit(1));h.on('timeout',()=>process.exit(1))"
)
_RUNTIME_PROBES: dict[str, tuple[str, ...]] = {
    "python3": ("/usr/bin/python3", "-c", PYTHON_PROBE),
    "nodejs": ("/usr/bin/node", "-e", NODE_PROBE),
}


def uses_runtime(base: str) -> bool:
    """Whether ``base`` probes with its own runtime rather than distill-probe."""
    return base in _RUNTIME_PROBES


def probe_command(base: str, url: str) -> list[str]:
    """The exec-form health-check command that probes ``url`` on ``base``."""
    return [*_RUNTIME_PROBES.get(base, (PROBE_PATH,)), url]


def probe_binary(arch: str) -> bytes:
    """distill-probe for ``arch`` (amd64 or arm64), as shipped with distill."""
    resource = resources.files("distill.packagers") / "probe" / f"distill-probe-{arch}"
    try:
        return resource.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(f"healthcheck.http: distill-probe has no build for {arch}") from exc


def probe_tree(arch: str) -> FileTree:
    """A tree holding only distill-probe for ``arch``, mode 0755."""
    tree = FileTree()
    tree.add_file(PROBE_PATH, probe_binary(arch), mode=0o755)
    return tree


class ProbeStep:
    """The packager step behind ``healthcheck: {http: URL}``."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Turn ``healthcheck.http`` into an exec-form ``test`` for the config's base."""
        check = _http_check(config)
        test = probe_command(config.base, _url(check))
        return config.model_copy(update={"healthcheck": check.model_copy(update={"test": test})})

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """distill-probe's layer, unless the base's runtime does the probing."""
        _http_check(config)
        if uses_runtime(config.base):
            return []
        binary = probe_binary(context.arch)
        key = cache_key(kind="probe", arch=context.arch, mtime=context.epoch,
                        sha256=hashlib.sha256(binary).hexdigest())
        layer = context.store.build(key, lambda: probe_tree(context.arch), mtime=context.epoch)
        return [AppLayer(layer=layer, created_by=f"distill http health probe ({PROBE_PATH})")]


def _http_check(config: Config) -> Healthcheck:
    check = config.healthcheck
    if check is None or check.http is None:
        raise ConfigError("healthcheck.http is not set; the probe step has nothing to probe")
    return check


def _url(check: Healthcheck) -> str:
    url = check.http or ""
    host = url.removeprefix("http://").split("/", 1)[0].rsplit(":", 1)[0]
    if host != "localhost" and not _is_ipv4(host):
        raise ConfigError(
            f"healthcheck.http: {url}: the host must be an IPv4 address or localhost "
            "(the probe runs inside the container, without DNS)"
        )
    return url


def _is_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


STEP = ProbeStep()
