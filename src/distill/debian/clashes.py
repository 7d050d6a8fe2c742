"""Conflicts and Breaks between two packages, on real names and on what they Provide.

A package never clashes with itself; a Conflicts on a name the package itself
provides (the Provides + Conflicts + Replaces pattern) is not a clash with itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from distill.debian.index import parse_provides
from distill.debian.records import PackageRecord
from distill.debian.relations import Alternative, Group, RelationError, parse_relations
from distill.errors import FormatError


def relations_of(record: PackageRecord, field: str, arch: str) -> tuple[Group, ...]:
    """The parsed relation ``field`` (``Depends``, ``Breaks``...) of ``record``.

    Raises FormatError naming the package and the field when the index holds a
    field that is not valid relationship syntax.
    """
    text = {"Pre-Depends": record.pre_depends, "Depends": record.depends,
            "Conflicts": record.conflicts, "Breaks": record.breaks}[field]
    try:
        return parse_relations(text, arch) if text else ()
    except RelationError as exc:
        raise FormatError(
            f"package {record.name} {record.version} in {record.suite}: its {field} field "
            f"{text!r} is not valid: {exc}"
        ) from exc


@dataclass(frozen=True)
class Clash:
    """Why a candidate cannot be installed next to ``other``: one Conflicts or Breaks."""

    other: PackageRecord
    owner: PackageRecord
    """The package whose field names the other one (the candidate or ``other``)."""
    field: str
    alternative: Alternative
    target: str
    """The name the relation hit in the other package: its own name or one it Provides."""

    def detail(self, candidate: PackageRecord) -> str:
        """``postfix Conflicts: mail-transport-agent, which exim4-daemon-light provides``."""
        hit = candidate if self.owner == self.other else self.other
        text = f"{self.owner.name} {self.field}: {self.alternative}"
        if self.target != hit.name:
            text += f", which {hit.name} provides"
        return text


def names_of(record: PackageRecord) -> list[tuple[str, str | None]]:
    """The names a relation can hit ``record`` by: its own, and what it Provides."""
    return [(record.name, record.version), *parse_provides(record.provides)]


def clashes(left: PackageRecord, right: PackageRecord, arch: str) -> bool:
    """Whether a Conflicts or Breaks of either package hits the other."""
    if left.name == right.name:
        return False
    for owner, other in ((left, right), (right, left)):
        names = names_of(other)
        for field in ("Conflicts", "Breaks"):
            for group in relations_of(owner, field, arch):
                if any(alt.name == name and alt.accepts(version)
                       for alt in group for name, version in names):
                    return True
    return False
