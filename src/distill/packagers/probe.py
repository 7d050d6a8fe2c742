"""Health checks without a shell: ``healthcheck: {http: URL}``, ``{https: URL}`` and
``{tcp: HOST:PORT}``.

On the python3 and nodejs flavors the runtime itself probes (``python3 -c``
with urllib and socket, ``node -e`` with http, https and net); https checks
the certificate against the image's CA bundle unless ``insecure: true``. On
every other base, scratch and static included, distill adds its own tiny static
probe (``/usr/local/bin/distill-probe``, built from ``probe/probe.c``) in a layer
of its own; it speaks plain HTTP and TCP to IPv4 and IPv6 literals and
localhost, but no TLS: ``https`` needs a runtime that has it (java's JRE would
need a compiled class added, so java is not one). Either way the health check
is an exec-form command: no shell, no curl.
"""

from __future__ import annotations

import hashlib
import ipaddress
from importlib import resources

from distill.config import Config, Healthcheck
from distill.errors import ConfigError
from distill.layers.fingerprint import cache_key
from distill.packagers import AppLayer, LayerContext, PrepareContext
from distill.rootfs.certificates import CA_BUNDLE_PATH
from distill.rootfs.tree import FileTree

PROBE_PATH = "/usr/local/bin/distill-probe"
"""Where the static probe goes in the image."""

INSECURE = "insecure"
"""The runtime probes' second argument that turns off the https certificate check."""

PYTHON_PROBE = (
    "import sys,socket,ssl,urllib.request as u\n"
    "a=sys.argv[1]\n"
    "try:\n"
    " if a[:6]=='tcp://':\n"
    "  h,p=a[6:].rsplit(':',1);socket.create_connection((h.strip('[]'),int(p)),5).close();s=200\n"
    " else:\n"
    f"  c=ssl.create_default_context(cafile='{CA_BUNDLE_PATH}') if a[:6]=='https:' else None\n"
    f"  if c and sys.argv[2:]==['{INSECURE}']:c.check_hostname=False;c.verify_mode=ssl.CERT_NONE\n"
    "  s=u.urlopen(a,timeout=5,context=c).status\n"
    "except Exception:s=0\n"
    "sys.exit(0 if 200<=s<300 else 1)"
)
NODE_PROBE = (
    "const a=process.argv[1],f=()=>process.exit(1);let h;"
    "if(a.startsWith('tcp://')){const m=a.slice(6).match(/^\\[?(.*?)\\]?:(\\d+)$/);"
    "h=require('net').connect({host:m[1],port:+m[2],timeout:5000},()=>process.exit(0))}"
    "else{const t=a.startsWith('https:'),o={timeout:5000};"
    f"if(t){{o.ca=require('fs').readFileSync('{CA_BUNDLE_PATH}');"
    f"o.rejectUnauthorized=process.argv[2]!=='{INSECURE}'}}"
    "h=require(t?'https':'http').get(a,o,"
    "r=>process.exit(r.statusCode>=200&&r.statusCode<300?0:1))}"
    "h.on('error',f);h.on('timeout',f)"
)
_JAVA_HAS_NO_PROBE = (
    "java's JRE has TLS but runs no probe without a compiled class distill would have to add"
)
_RUNTIME_PROBES: dict[str, tuple[str, ...]] = {
    "python3": ("/usr/bin/python3", "-c", PYTHON_PROBE),
    "nodejs": ("/usr/bin/node", "-e", NODE_PROBE),
}


def uses_runtime(base: str) -> bool:
    """Whether ``base`` probes with its own runtime rather than distill-probe."""
    return base in _RUNTIME_PROBES


def probe_command(base: str, url: str, *, insecure: bool = False) -> list[str]:
    """The exec-form health-check command that probes ``url`` (``http://``, ``https://``
    or ``tcp://``) on ``base``."""
    return [*_RUNTIME_PROBES.get(base, (PROBE_PATH,)), url, *((INSECURE,) if insecure else ())]


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
    """The packager step behind ``healthcheck: {http: URL}``, ``{https: URL}``, ``{tcp: ...}``."""

    def prepare(self, config: Config, *, context: PrepareContext) -> Config:
        """Turn the health check's URL or address into an exec-form ``test`` for the base."""
        check = _probed_check(config)
        test = probe_command(config.base, _checked_url(check, base=config.base),
                             insecure=check.insecure)
        return config.model_copy(update={"healthcheck": check.model_copy(update={"test": test})})

    def layers(self, config: Config, *, context: LayerContext) -> list[AppLayer]:
        """distill-probe's layer, unless the base's runtime does the probing."""
        _probed_check(config)
        if uses_runtime(config.base):
            return []
        binary = probe_binary(context.arch)
        key = cache_key(kind="probe", arch=context.arch, mtime=context.epoch,
                        sha256=hashlib.sha256(binary).hexdigest())
        layer = context.store.build(key, lambda: probe_tree(context.arch), mtime=context.epoch)
        return [AppLayer(layer=layer, created_by=f"distill health probe ({PROBE_PATH})")]


def _probed_check(config: Config) -> Healthcheck:
    check = config.healthcheck
    if check is None or check.probe_url is None:
        raise ConfigError("healthcheck has no http, https or tcp; the probe step has nothing "
                          "to probe")
    return check


def _checked_url(check: Healthcheck, *, base: str) -> str:
    url = check.probe_url or ""
    key = "tcp" if check.tcp is not None else url.partition(":")[0]
    if uses_runtime(base):
        return url  # the runtime resolves names itself
    if key == "https":
        why = (_JAVA_HAS_NO_PROBE if base == "java"
               else f"{base} has no TLS client to probe {url} with")
        raise ConfigError(
            f"healthcheck.https: {why}: https needs a runtime that can probe it "
            "(base python3 or nodejs); on this base use http or tcp"
        )
    host = _host(url)
    if host != "localhost" and not _is_ipv4(host) and not _is_ipv6_literal(host):
        raise ConfigError(
            f"healthcheck.{key}: {check.tcp or url}: the host must be an IPv4 address, an IPv6 "
            "address in brackets or localhost (the probe runs inside the container, "
            "without DNS)"
        )
    return url


def _host(url: str) -> str:
    authority = url.partition("://")[2].split("/", 1)[0]
    if authority.startswith("["):
        return authority.partition("]")[0] + "]"
    return authority.rsplit(":", 1)[0]


def _is_ipv4(host: str) -> bool:
    parts = host.split(".")
    return len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)


def _is_ipv6_literal(host: str) -> bool:
    # distill-probe takes neither zones (%eth0) nor an embedded IPv4 (::ffff:1.2.3.4)
    inner = host.removeprefix("[").removesuffix("]")
    if not host.startswith("[") or not host.endswith("]") or "." in inner or "%" in inner:
        return False
    try:
        ipaddress.IPv6Address(inner)
    except ValueError:
        return False
    return True


STEP = ProbeStep()
