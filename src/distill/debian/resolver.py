"""Dependency resolution: from requested names to the full set of packages to install.

The resolver follows Depends and Pre-Depends (never Recommends or Suggests),
prefers what it already chose, and otherwise takes the highest version that
satisfies every constraint it has seen. When a later constraint excludes a
version it already chose, it learns that constraint and starts over; a set that
still cannot be satisfied raises :class:`~distill.errors.ResolveError` naming
the package, the reason and the chain of packages that asked for it.
"""

from __future__ import annotations

import difflib
import functools
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from debian.deb822 import PkgRelation

from distill.debian.index import PackageIndex, parse_provides, parse_version
from distill.debian.records import PackageRecord
from distill.errors import ResolveError

_MAX_ROUNDS = 100
_PRIORITY_RANK = {"required": 0, "important": 1, "standard": 2, "optional": 3, "extra": 4}
_OPERATORS = {"<": "<=", ">": ">=", "<<": "<<", "<=": "<=", "=": "=", ">=": ">=", ">>": ">>"}

Chain = tuple[str, ...]
"""Package names from a user request down to the package that holds a dependency."""


@dataclass(frozen=True)
class Alternative:
    """One alternative of a dependency: a name, an optional version constraint."""

    name: str
    op: str | None = None
    version: str | None = None
    any_arch: bool = False
    """``name:any``: only a ``Multi-Arch: allowed`` package satisfies it."""

    def __str__(self) -> str:
        text = f"{self.name}:any" if self.any_arch else self.name
        return f"{text} ({self.op} {self.version})" if self.op else text

    def accepts(self, version: str | None) -> bool:
        """True when ``version`` (None for an unversioned Provides) meets the constraint."""
        if self.op is None or self.version is None:
            return True
        if version is None:
            return False
        return _compare(version, self.op, self.version)


Group = tuple[Alternative, ...]
"""A dependency: alternatives separated by ``|``, any one satisfies it."""


def _compare(version: str, op: str, wanted: str) -> bool:
    have, want = parse_version(version), parse_version(wanted)
    if op == "<<":
        return bool(have < want)
    if op == "<=":
        return bool(have <= want)
    if op == "=":
        return bool(have == want)
    if op == ">=":
        return bool(have >= want)
    return bool(have > want)


def _group_text(group: Group) -> str:
    return " | ".join(str(alt) for alt in group)


def _arch_matches(term: str, arch: str) -> bool:
    return term in (arch, "any", "linux-any", f"linux-{arch}", f"any-{arch}")


def _for_arch(restrictions: list[PkgRelation.ArchRestriction] | None, arch: str) -> bool:
    """Whether a ``[amd64 arm64]`` or ``[!arm64]`` restriction lets ``arch`` in."""
    if not restrictions:
        return True
    enabled = [r.arch for r in restrictions if r.enabled]
    disabled = [r.arch for r in restrictions if not r.enabled]
    if enabled and not any(_arch_matches(term, arch) for term in enabled):
        return False
    return not any(_arch_matches(term, arch) for term in disabled)


def _alternative(parsed: PkgRelation.ParsedRelation, arch: str) -> Alternative | None:
    """Turn one python-debian relation into an Alternative, or None if not for ``arch``."""
    qualifier = parsed["archqual"]
    if not _for_arch(parsed["arch"], arch) or qualifier not in (None, "any", "native", arch):
        return None
    op, wanted = parsed["version"] or (None, None)
    return Alternative(
        name=parsed["name"],
        op=_OPERATORS.get(op, op) if op else None,
        version=wanted or None,
        any_arch=qualifier == "any",
    )


@functools.lru_cache(maxsize=8192)
def parse_relations(field: str, arch: str) -> tuple[Group, ...]:
    """Parse a Depends-style field into groups of alternatives that apply to ``arch``.

    Alternatives restricted to other architectures are dropped, and so are groups
    left with no alternative (they do not apply to ``arch`` at all).
    """
    groups: list[Group] = []
    for relation in PkgRelation.parse_relations(field):
        alternatives = [_alternative(parsed, arch) for parsed in relation]
        group = tuple(alt for alt in alternatives if alt is not None)
        if group:
            groups.append(group)
    return tuple(groups)


def parse_request(request: str, arch: str) -> Group:
    """Parse a user request: ``name``, ``name=version`` or ``name (>= 1.2)``."""
    text = request.strip()
    if "=" in text and "(" not in text:
        name, _, version = text.partition("=")
        return (Alternative(name=name.strip(), op="=", version=version.strip()),)
    groups = parse_relations(text, arch) if text else ()
    if len(groups) != 1:
        raise ResolveError(f"cannot parse package request {request!r}: expected one package")
    return groups[0]


@dataclass(frozen=True)
class _Pin:
    """A constraint learned from a conflict, kept for every later round."""

    alternative: Alternative
    chain: Chain


class _Conflict(Exception):
    """A chosen version violates a later constraint: learn it and start over."""

    def __init__(self, pin: _Pin) -> None:
        super().__init__(str(pin.alternative))
        self.pin = pin


def _chain_text(chain: Chain) -> str:
    if not chain:
        return "requested directly"
    return "required by " + " -> ".join(reversed(chain))


def _ranked_providers(
    providers: list[tuple[PackageRecord, str | None]],
) -> list[tuple[PackageRecord, str | None]]:
    """Providers by priority (required first), then name, then highest version."""
    by_version = sorted(providers, key=lambda item: parse_version(item[0].version), reverse=True)
    return sorted(
        by_version,
        key=lambda item: (_PRIORITY_RANK.get(item[0].priority, len(_PRIORITY_RANK)), item[0].name),
    )


class _Round:
    """One pass of resolution under the pins learned so far."""

    def __init__(
        self,
        index: PackageIndex,
        *,
        arch: str,
        ignore: Collection[str],
        pins: dict[str, list[_Pin]],
    ) -> None:
        self.index = index
        self.arch = arch
        self.ignore = ignore
        self.pins = pins
        self.chosen: dict[str, PackageRecord] = {}
        self.provided: dict[str, list[tuple[PackageRecord, str | None]]] = {}
        self.queue: deque[tuple[Group, Chain]] = deque()

    def run(self, requests: Sequence[Group]) -> dict[str, PackageRecord]:
        """Resolve ``requests`` and everything they depend on."""
        self.queue.extend((group, ()) for group in requests)
        while self.queue:
            group, chain = self.queue.popleft()
            self._satisfy(group, chain)
        return self.chosen

    def _satisfy(self, group: Group, chain: Chain) -> None:
        if any(alt.name in self.ignore for alt in group):
            return
        if any(self._already_satisfied(alt) for alt in group):
            return
        for alt in group:
            candidate = self._candidate(alt)
            if candidate is not None:
                self._install(candidate, chain)
                return
        self._fail(group, chain)

    def _already_satisfied(self, alt: Alternative) -> bool:
        record = self.chosen.get(alt.name)
        if record is not None and alt.accepts(record.version) and self._arch_ok(alt, record):
            return True
        return any(
            alt.accepts(version) and self._arch_ok(alt, provider)
            for provider, version in self.provided.get(alt.name, ())
        )

    def _arch_ok(self, alt: Alternative, record: PackageRecord) -> bool:
        return not alt.any_arch or record.multi_arch == "allowed"

    def _pinned_ok(self, record: PackageRecord) -> bool:
        pins = self.pins.get(record.name, ())
        return all(pin.alternative.accepts(record.version) for pin in pins)

    def _usable(self, record: PackageRecord) -> bool:
        """Not in conflict with a chosen version of the same name, and within the pins."""
        chosen = self.chosen.get(record.name)
        return (chosen is None or chosen == record) and self._pinned_ok(record)

    def _candidate(self, alt: Alternative) -> PackageRecord | None:
        for record in self.index.versions(alt.name):
            ok = alt.accepts(record.version) and self._arch_ok(alt, record)
            if ok and self._usable(record):
                return record
        for provider, version in _ranked_providers(self.index.providers(alt.name)):
            if alt.accepts(version) and self._arch_ok(alt, provider) and self._usable(provider):
                return provider
        return None

    def _install(self, record: PackageRecord, chain: Chain) -> None:
        self.chosen[record.name] = record
        for provided, version in parse_provides(record.provides):
            self.provided.setdefault(provided, []).append((record, version))
        below = (*chain, record.name)
        for field in (record.pre_depends, record.depends):
            if field:
                self.queue.extend((group, below) for group in parse_relations(field, self.arch))

    def _fail(self, group: Group, chain: Chain) -> None:
        """Raise a conflict to learn from, or the ResolveError that explains the failure."""
        for alt in group:
            if self._worth_pinning(alt):
                raise _Conflict(_Pin(alternative=alt, chain=chain))
        if len(group) == 1:
            reasons = self._reason(group[0])
        else:
            reasons = "; ".join(f"{alt.name}: {self._reason(alt)}" for alt in group)
        raise ResolveError(f"cannot install {_group_text(group)}: {reasons}; {_chain_text(chain)}")

    def _worth_pinning(self, alt: Alternative) -> bool:
        """A version of ``alt`` was chosen, but another one would meet it and every pin."""
        if alt.name not in self.chosen:
            return False
        if any(pin.alternative == alt for pin in self.pins.get(alt.name, ())):
            return False
        return any(
            alt.accepts(r.version) and self._arch_ok(alt, r) and self._pinned_ok(r)
            for r in self.index.versions(alt.name)
        )

    def _reason(self, alt: Alternative) -> str:
        versions = self.index.versions(alt.name)
        if not versions and not self.index.providers(alt.name):
            return f"no such package in {_where(self.index, self.arch)}"
        if not versions:
            providers = self.index.providers(alt.name)
            offered = ", ".join(f"{r.name} (= {v})" if v else r.name for r, v in providers[:5])
            offered += ", ..." if len(providers) > 5 else ""
            return f"no provider meets the constraint (provided by: {offered})"
        if alt.any_arch and not any(r.multi_arch == "allowed" for r in versions):
            return f"not Multi-Arch: allowed, so {alt.name}:any cannot be met"
        available = ", ".join(r.version for r in versions)
        if any(alt.accepts(r.version) for r in versions):
            pins = ", ".join(
                f"{p.alternative} ({_chain_text(p.chain)})" for p in self.pins.get(alt.name, ())
            )
            held = self.chosen.get(alt.name)
            also = pins or (f"{held.version} already chosen" if held else "other constraints")
            return f"no version also satisfies {also} (available: {available})"
        return f"no version available (available: {available})"


def _where(index: PackageIndex, arch: str) -> str:
    return f"{index.release}/{arch}" if index.release else arch


def _check_known(index: PackageIndex, group: Group, ignore: Collection[str], arch: str) -> None:
    """Reject a request none of whose names the index knows, suggesting close names."""
    if any(alt.name in index or alt.name in ignore for alt in group):
        return
    name = group[0].name
    where = _where(index, arch)
    close = difflib.get_close_matches(name, list(index.names()), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise ResolveError(f"unknown package {name!r} in {where}{hint}")


def resolve(
    index: PackageIndex,
    requests: Sequence[str],
    *,
    arch: str,
    ignore: Collection[str] = (),
) -> list[PackageRecord]:
    """Resolve ``requests`` and their dependencies to the packages to install, sorted by name.

    ``ignore`` names (real or virtual) count as satisfied without installing anything.
    """
    ignored = frozenset(ignore)
    groups = [parse_request(request, arch) for request in requests]
    for group in groups:
        _check_known(index, group, ignored, arch)
    pins: dict[str, list[_Pin]] = {}
    for _ in range(_MAX_ROUNDS):
        try:
            chosen = _Round(index, arch=arch, ignore=ignored, pins=pins).run(groups)
        except _Conflict as conflict:
            pins.setdefault(conflict.pin.alternative.name, []).append(conflict.pin)
            continue
        return sorted(chosen.values(), key=lambda record: record.name)
    raise ResolveError(f"cannot resolve {', '.join(requests)}: too many conflicting constraints")
