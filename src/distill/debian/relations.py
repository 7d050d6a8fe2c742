"""Relationship fields (Depends, Pre-Depends, Conflicts, Breaks) parsed for one architecture.

The syntax is Debian policy 7.1: comma-separated groups of ``|``-separated
alternatives, each ``name[:archqual] [(op version)] [[arch ...]] [<profile ...>]``.
python-debian's parser logs a warning and returns anything it cannot parse as a
raw name; this one raises :class:`RelationError` instead, so a broken index
ends in one error that names the package and the field.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from distill.debian.index import parse_version

_OPERATORS = {"<": "<=", ">": ">=", "<<": "<<", "<=": "<=", "=": "=", ">=": ">=", ">>": ">>"}
_ALTERNATIVE = re.compile(
    r"""\s*(?P<name>[A-Za-z0-9][A-Za-z0-9.+-]*)
    (?::(?P<archqual>[A-Za-z0-9][A-Za-z0-9-]*))?
    (?:\s*\(\s*(?P<op><<|<=|>=|>>|=|<|>)\s*(?P<version>[A-Za-z0-9.+~:-]+)\s*\))?
    (?:\s*\[(?P<archs>\s*!?[A-Za-z0-9-]+(?:\s+!?[A-Za-z0-9-]+)*\s*)\])?
    (?:\s*<[^<>]*>)*
    \s*""",
    re.VERBOSE,
)


class RelationError(ValueError):
    """A relationship field does not follow Debian's syntax."""


@dataclass(frozen=True)
class Alternative:
    """One alternative of a relation: a name, an optional version constraint."""

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
"""A relation: alternatives separated by ``|``, any one satisfies it."""


def group_text(group: Group) -> str:
    """A group as a field writes it: ``a (>= 1) | b``."""
    return " | ".join(str(alt) for alt in group)


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


def _arch_matches(term: str, arch: str) -> bool:
    return term in (arch, "any", "linux-any", f"linux-{arch}", f"any-{arch}")


def _for_arch(archs: str | None, arch: str) -> bool:
    """Whether a ``[amd64 arm64]`` or ``[!arm64]`` restriction lets ``arch`` in."""
    if not archs:
        return True
    terms = archs.split()
    enabled = [term for term in terms if not term.startswith("!")]
    disabled = [term[1:] for term in terms if term.startswith("!")]
    if enabled and not any(_arch_matches(term, arch) for term in enabled):
        return False
    return not any(_arch_matches(term, arch) for term in disabled)


def _alternative(text: str, arch: str) -> Alternative | None:
    """Parse one alternative; None when it does not apply to ``arch``."""
    match = _ALTERNATIVE.fullmatch(text)
    if match is None:
        raise RelationError(f"cannot parse {text.strip()!r}")
    qualifier = match["archqual"]
    if not _for_arch(match["archs"], arch) or qualifier not in (None, "any", "native", arch):
        return None
    op = match["op"]
    return Alternative(
        name=match["name"],
        op=_OPERATORS[op] if op else None,
        version=match["version"],
        any_arch=qualifier == "any",
    )


@functools.lru_cache(maxsize=8192)
def parse_relations(field: str, arch: str) -> tuple[Group, ...]:
    """Parse a Depends-style field into groups of alternatives that apply to ``arch``.

    Alternatives restricted to other architectures are dropped, and so are groups
    left with no alternative (they do not apply to ``arch`` at all). Raises
    :class:`RelationError` when the field is not valid relationship syntax.
    """
    groups: list[Group] = []
    if not field.strip():
        return ()
    for relation in field.split(","):
        alternatives = [_alternative(text, arch) for text in relation.split("|")]
        group = tuple(alt for alt in alternatives if alt is not None)
        if group:
            groups.append(group)
    return tuple(groups)
