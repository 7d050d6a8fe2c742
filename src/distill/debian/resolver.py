"""Dependency resolution: from requested names to the full set of packages to install.

The resolver follows Depends and Pre-Depends (never Recommends or Suggests),
prefers what it already chose, and otherwise takes the highest version that
satisfies every constraint it has seen and clashes with nothing chosen
(Conflicts and Breaks, in either direction, on real names and on what packages
Provide). When a later constraint excludes a version it already chose, it learns
that constraint and starts over; when every candidate of a dependency clashes
with a package chosen earlier, it leaves out that package (or the package that
brought the dependency in) if another alternative can take its place, and starts
over. A set that still cannot be satisfied raises
:class:`~distill.errors.ResolveError` naming the package, the reason and the
chain of packages that asked for it.
"""

from __future__ import annotations

import difflib
from collections import deque
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

from distill.debian.clashes import Clash, clashes, names_of, relations_of
from distill.debian.index import PackageIndex, parse_provides, parse_version
from distill.debian.records import PackageRecord
from distill.debian.relations import (
    Alternative,
    Group,
    RelationError,
    group_text,
    parse_relations,
)
from distill.errors import ResolveError

_MAX_ROUNDS = 100
_PRIORITY_RANK = {"required": 0, "important": 1, "standard": 2, "optional": 3, "extra": 4}

Chain = tuple[str, ...]
"""Package names from a user request down to the package that holds a dependency."""


def parse_request(request: str, arch: str) -> Group:
    """Parse a user request: ``name``, ``name=version`` or ``name (>= 1.2)``."""
    text = request.strip()
    if "=" in text and "(" not in text:
        name, _, version = text.partition("=")
        return (Alternative(name=name.strip(), op="=", version=version.strip()),)
    try:
        groups = parse_relations(text, arch)
    except RelationError as exc:
        raise ResolveError(f"cannot parse package request {request!r}: {exc}") from exc
    if len(groups) != 1:
        raise ResolveError(f"cannot parse package request {request!r}: expected one package")
    return groups[0]


@dataclass(frozen=True)
class _Pin:
    """A constraint learned from a conflict, kept for every later round."""

    alternative: Alternative
    chain: Chain


@dataclass(frozen=True)
class _Ban:
    """A package version left out of every later round, because it clashed."""

    name: str
    version: str
    reason: str


class _Retry(Exception):
    """A choice made earlier is wrong: learn the pin or ban and start over."""

    def __init__(self, lesson: _Pin | _Ban) -> None:
        super().__init__(str(lesson))
        self.lesson = lesson


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
    """One pass of resolution under the pins and bans learned so far."""

    def __init__(
        self,
        index: PackageIndex,
        *,
        arch: str,
        ignore: Collection[str],
        pins: dict[str, list[_Pin]],
        bans: dict[tuple[str, str], _Ban],
    ) -> None:
        self.index = index
        self.arch = arch
        self.ignore = ignore
        self.pins = pins
        self.bans = bans
        self.chosen: dict[str, PackageRecord] = {}
        self.why: dict[str, tuple[Group, Chain]] = {}
        self.provided: dict[str, list[tuple[PackageRecord, str | None]]] = {}
        self.against: dict[str, list[tuple[PackageRecord, str, Alternative]]] = {}
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
            candidate = next(self._candidates(alt, free=True), None)
            if candidate is not None:
                self._install(candidate, group, chain)
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

    def _free(self, record: PackageRecord) -> bool:
        """Neither banned nor clashing with a chosen package."""
        return (record.name, record.version) not in self.bans and self._clash(record) is None

    def _matches(self, alt: Alternative) -> Iterator[PackageRecord]:
        """Records that meet ``alt``, best first: real ones, then providers."""
        for record in self.index.versions(alt.name):
            if alt.accepts(record.version) and self._arch_ok(alt, record):
                yield record
        for provider, version in _ranked_providers(self.index.providers(alt.name)):
            if alt.accepts(version) and self._arch_ok(alt, provider):
                yield provider

    def _candidates(self, alt: Alternative, *, free: bool) -> Iterator[PackageRecord]:
        """:meth:`_matches` within the pins and the chosen versions; only free ones if ``free``."""
        for record in self._matches(alt):
            if self._usable(record) and (not free or self._free(record)):
                yield record

    def _negatives(self, record: PackageRecord) -> Iterator[tuple[str, Alternative]]:
        for field in ("Conflicts", "Breaks"):
            for group in relations_of(record, field, self.arch):
                yield from ((field, alt) for alt in group)

    def _clash(self, record: PackageRecord) -> Clash | None:
        """The first chosen package ``record`` cannot be installed with, if any.

        A package never clashes with itself, so a Conflicts on a name it also
        Provides (the Provides + Conflicts + Replaces pattern) only keeps others out.
        """
        for name, version in names_of(record):
            for owner, field, alt in self.against.get(name, ()):
                if owner.name != record.name and alt.accepts(version):
                    return Clash(other=owner, owner=owner, field=field, alternative=alt,
                                  target=name)
        for field, alt in self._negatives(record):
            chosen = self.chosen.get(alt.name)
            hits = [(chosen, chosen.version)] if chosen is not None else []
            for other, version in [*hits, *self.provided.get(alt.name, ())]:
                if other.name != record.name and alt.accepts(version):
                    return Clash(other=other, owner=record, field=field, alternative=alt,
                                  target=alt.name)
        return None

    def _install(self, record: PackageRecord, group: Group, chain: Chain) -> None:
        self.chosen[record.name] = record
        self.why[record.name] = (group, chain)
        for provided, version in parse_provides(record.provides):
            self.provided.setdefault(provided, []).append((record, version))
        for field, alt in self._negatives(record):
            self.against.setdefault(alt.name, []).append((record, field, alt))
        below = (*chain, record.name)
        for field in ("Pre-Depends", "Depends"):
            self.queue.extend((group, below) for group in relations_of(record, field, self.arch))

    def _fail(self, group: Group, chain: Chain) -> None:
        """Raise a lesson to learn from, or the ResolveError that explains the failure."""
        for alt in group:
            if self._worth_pinning(alt):
                raise _Retry(_Pin(alternative=alt, chain=chain))
        for record, clash in self._blocked(group):
            if clash is not None:
                self._learn_ban(record, clash, chain=chain)
                break
        if len(group) == 1:
            reasons = self._reason(group[0])
        else:
            reasons = "; ".join(f"{alt.name}: {self._reason(alt)}" for alt in group)
        raise ResolveError(f"cannot install {group_text(group)}: {reasons}; {_chain_text(chain)}")

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

    def _blocked(self, group: Group) -> Iterator[tuple[PackageRecord, Clash | None]]:
        """Candidates of ``group`` that only a ban or a clash keeps out, best first."""
        for alt in group:
            for record in self._candidates(alt, free=False):
                clash = self._clash(record)
                if clash is not None or (record.name, record.version) in self.bans:
                    yield record, clash

    def _learn_ban(self, record: PackageRecord, clash: Clash, *, chain: Chain) -> None:
        """Leave out the package in the way, or one that brought ``record`` in, if replaceable."""
        other = clash.other
        if self._replaceable(other, avoid=record):
            reason = (f"{other.name} {other.version} left out: it conflicts with {record.name} "
                      f"({clash.detail(record)}), {_chain_text(chain)}")
            raise _Retry(_Ban(name=other.name, version=other.version, reason=reason))
        for name in reversed(chain):
            below = self.chosen[name]
            if self._replaceable(below, avoid=None):
                reason = (f"{name} {below.version} left out: it needs {record.name}, which "
                          f"conflicts with {other.name} ({clash.detail(record)})")
                raise _Retry(_Ban(name=name, version=below.version, reason=reason))

    def _replaceable(self, record: PackageRecord, *, avoid: PackageRecord | None) -> bool:
        """Another candidate could satisfy what brought ``record`` in (and not hit ``avoid``)."""
        group, _ = self.why[record.name]
        for alt in group:
            for other in self._matches(alt):
                if other == record or (other.name, other.version) in self.bans:
                    continue
                if not self._pinned_ok(other):
                    continue
                if avoid is None or not clashes(other, avoid, self.arch):
                    return True
        return False

    def _reason(self, alt: Alternative) -> str:
        versions = self.index.versions(alt.name)
        if not versions and not self.index.providers(alt.name):
            return f"no such package in {_where(self.index, self.arch)}"
        blocked = next(self._blocked((alt,)), None)
        if blocked is not None:
            return self._blocked_reason(*blocked)
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

    def _blocked_reason(self, record: PackageRecord, clash: Clash | None) -> str:
        if clash is None:  # only a ban keeps it out
            return self.bans[(record.name, record.version)].reason
        _, chain = self.why[clash.other.name]
        return (f"{record.name} {record.version} conflicts with {clash.other.name} "
                f"{clash.other.version}, {_chain_text(chain)} ({clash.detail(record)})")


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
    Raises ResolveError when the set cannot be satisfied, FormatError when a
    record's relationship field cannot be parsed.
    """
    ignored = frozenset(ignore)
    groups = [parse_request(request, arch) for request in requests]
    for group in groups:
        _check_known(index, group, ignored, arch)
    pins: dict[str, list[_Pin]] = {}
    bans: dict[tuple[str, str], _Ban] = {}
    for _ in range(_MAX_ROUNDS):
        try:
            chosen = _Round(index, arch=arch, ignore=ignored, pins=pins, bans=bans).run(groups)
        except _Retry as retry:
            lesson = retry.lesson
            if isinstance(lesson, _Pin):
                pins.setdefault(lesson.alternative.name, []).append(lesson)
            else:
                bans[(lesson.name, lesson.version)] = lesson
            continue
        return sorted(chosen.values(), key=lambda record: record.name)
    raise ResolveError(f"cannot resolve {', '.join(requests)}: too many conflicting constraints")
