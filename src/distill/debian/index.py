"""An in-memory index of one architecture's packages: versions and providers by name."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator

from debian.debian_support import Version

from distill.debian.records import PackageRecord


@functools.lru_cache(maxsize=65536)
def parse_version(text: str) -> Version:
    """The dpkg-ordered :class:`Version` of ``text`` (cached: versions repeat a lot)."""
    return Version(text)


def compare_versions(left: str, right: str) -> int:
    """Compare two Debian versions the way dpkg does: negative, zero or positive."""
    a, b = parse_version(left), parse_version(right)
    return (a > b) - (a < b)


def parse_provides(field: str) -> list[tuple[str, str | None]]:
    """Split a Provides field into ``(name, version or None)`` pairs.

    Provides only allows ``name`` and ``name (= version)``, so a split is enough
    and much faster than a general relation parser on tens of thousands of records.
    """
    provided: list[tuple[str, str | None]] = []
    for item in field.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, rest = item.partition("(")
        version = rest.rstrip(")").strip().removeprefix("=").strip() if rest else None
        provided.append((name.strip().split(":", 1)[0], version or None))
    return provided


class PackageIndex:
    """The packages of one architecture, looked up by name.

    Records of another architecture than ``arch`` (other than ``all``) are left
    out when ``arch`` is given. When the same name and version come from two
    suites, the record listed later wins (list ``bookworm-security`` after
    ``bookworm`` to download from it).
    """

    def __init__(
        self,
        records: Iterable[PackageRecord],
        *,
        arch: str | None = None,
        release: str | None = None,
    ) -> None:
        self._by_name: dict[str, dict[str, PackageRecord]] = {}
        self._sorted: dict[str, list[PackageRecord]] = {}
        self._providers: dict[str, list[tuple[PackageRecord, str | None]]] | None = None
        for record in records:
            if arch is not None and record.architecture not in (arch, "all"):
                continue
            self._by_name.setdefault(record.name, {})[record.version] = record
        self.arch = arch
        self.release = release if release is not None else self._guess_release()

    def _guess_release(self) -> str:
        """The shortest suite name seen (``bookworm`` among ``bookworm-updates``...)."""
        suites = {r.suite for versions in self._by_name.values() for r in versions.values()}
        return min(suites, key=lambda s: (len(s), s)) if suites else ""

    def versions(self, name: str) -> list[PackageRecord]:
        """The real packages called ``name``, highest version first."""
        cached = self._sorted.get(name)
        if cached is None:
            records = self._by_name.get(name, {}).values()
            cached = sorted(records, key=lambda r: parse_version(r.version), reverse=True)
            self._sorted[name] = cached
        return list(cached)

    def providers(self, name: str) -> list[tuple[PackageRecord, str | None]]:
        """The packages whose Provides names ``name``, with the provided version if any."""
        if self._providers is None:
            self._providers = self._build_providers()
        return list(self._providers.get(name, ()))

    def _build_providers(self) -> dict[str, list[tuple[PackageRecord, str | None]]]:
        providers: dict[str, list[tuple[PackageRecord, str | None]]] = {}
        for versions in self._by_name.values():
            for record in versions.values():
                if record.provides:
                    for provided, version in parse_provides(record.provides):
                        providers.setdefault(provided, []).append((record, version))
        return providers

    def names(self) -> Iterator[str]:
        """Every real package name in the index."""
        return iter(self._by_name)

    def __contains__(self, name: object) -> bool:
        """True when ``name`` is a real package or is provided by one."""
        if not isinstance(name, str):
            return False
        return name in self._by_name or bool(self.providers(name))

    def __len__(self) -> int:
        """The number of distinct (name, version) packages."""
        return sum(len(versions) for versions in self._by_name.values())
