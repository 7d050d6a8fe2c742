"""APT sources: where Debian packages come from and which key signs them.

Reads the host's apt configuration (``sources.list``, one-line ``*.list`` and
deb822 ``*.sources`` files) and turns it into :class:`Source` values, then keeps
the Debian ones and points them at the release being built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from debian import deb822

from distill.errors import ConfigError

DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
"""The keyring of Debian's archive keys (package debian-archive-keyring)."""

_CODENAMES = frozenset({
    "buzz", "rex", "bo", "hamm", "slink", "potato", "woody", "sarge", "etch", "lenny",
    "squeeze", "wheezy", "jessie", "stretch", "buster", "bullseye", "bookworm", "trixie",
    "forky", "duke", "sid",
})
_ALIASES = frozenset({
    "oldoldstable", "oldstable", "stable", "testing", "unstable", "experimental", "rc-buggy",
})
_SUITE = re.compile(r"^(?P<base>[a-z-]+?)(?P<suffix>-updates|-security|-backports|/updates)?$")


@dataclass(frozen=True)
class Source:
    """One repository: a base URI, the suites and components used from it, and its key.

    ``keyring`` is the Signed-By keyring file; ``None`` means :data:`DEBIAN_KEYRING`.
    Lists are accepted for ``suites`` and ``components`` and stored as tuples; a
    trailing slash on ``uri`` and ``snapshot`` is dropped.
    """

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]
    keyring: Path | None = None
    snapshot: str | None = None
    """URL prefix of a snapshot archive of this repository (``snapshot:`` in
    distill.yaml), for locked .debs the mirror no longer has; None when unset."""

    def __post_init__(self) -> None:
        # Normalise here so values straight from distill.yaml compare equal.
        object.__setattr__(self, "uri", self.uri.rstrip("/"))
        if self.snapshot is not None:
            object.__setattr__(self, "snapshot", self.snapshot.rstrip("/"))
        object.__setattr__(self, "suites", tuple(self.suites))
        object.__setattr__(self, "components", tuple(self.components))
        if self.keyring is not None:
            object.__setattr__(self, "keyring", Path(self.keyring))

    @property
    def keyring_path(self) -> Path:
        """The keyring that verifies this source's InRelease files."""
        return self.keyring if self.keyring is not None else DEBIAN_KEYRING


def read_host_sources(root: Path = Path("/")) -> list[Source]:
    """Every ``deb`` source configured in ``<root>/etc/apt``, in apt's reading order."""
    apt = root / "etc" / "apt"
    sources: list[Source] = []
    main_list = apt / "sources.list"
    if main_list.is_file():
        sources += _read_file(main_list)
    parts = apt / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix in (".list", ".sources") and path.is_file():
                sources += _read_file(path)
    return sources


def _read_file(path: Path) -> list[Source]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read apt sources file {path}: {exc}") from exc
    if path.suffix == ".sources":
        return _parse_deb822(text, path=path)
    return _parse_one_line(text, path=path)


def _parse_one_line(text: str, *, path: Path) -> list[Source]:
    sources = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        options, words = _split_options(line, where=f"{path}:{number}")
        if len(words) < 3 or words[0] not in ("deb", "deb-src"):
            raise ConfigError(f"{path}:{number}: not an apt source line: {raw.strip()}")
        if words[0] != "deb":
            continue
        sources.append(
            Source(
                uri=words[1],
                suites=(words[2],),
                components=tuple(words[3:]),
                keyring=_keyring(options.get("signed-by")),
            )
        )
    return sources


def _split_options(line: str, *, where: str) -> tuple[dict[str, str], list[str]]:
    """Split ``deb [a=b c=d] uri ...`` into its options and its other words."""
    kind, _, rest = line.partition(" ")
    rest = rest.strip()
    if not rest.startswith("["):
        return {}, [kind, *rest.split()]
    inside, closed, after = rest[1:].partition("]")
    if not closed:
        raise ConfigError(f"{where}: unclosed '[' in apt source options")
    options = {}
    for item in inside.split():
        key, _, value = item.partition("=")
        options[key.lower()] = value
    return options, [kind, *after.split()]


def _parse_deb822(text: str, *, path: Path) -> list[Source]:
    sources = []
    for paragraph in deb822.Deb822.iter_paragraphs(text.splitlines(keepends=True)):
        fields = {key.lower(): value for key, value in paragraph.items()}
        if fields.get("enabled", "yes").strip().lower() == "no":
            continue
        if "deb" not in fields.get("types", "").split():
            continue
        uris = fields.get("uris", "").split()
        suites = tuple(fields.get("suites", "").split())
        if not uris or not suites:
            raise ConfigError(f"{path}: a deb822 source lacks URIs or Suites")
        keyring = _keyring(fields.get("signed-by"))
        components = tuple(fields.get("components", "").split())
        sources += [Source(uri=uri, suites=suites, components=components, keyring=keyring)
                    for uri in uris]
    return sources


def _keyring(signed_by: str | None) -> Path | None:
    """A Signed-By keyring path; inline keys and fingerprints fall back to Debian's keyring."""
    if signed_by is None:
        return None
    value = signed_by.strip()
    if value.startswith("/") and "\n" not in value:
        return Path(value)
    return None


def debian_sources_for(sources: Sequence[Source], release: str) -> list[Source]:
    """The Debian sources among ``sources``, rewritten to serve ``release``.

    ``bookworm`` becomes ``release``, ``bookworm-updates`` becomes
    ``<release>-updates``, ``bookworm-security`` and ``bookworm/updates`` become
    ``<release>-security``; backports and non-Debian suites are dropped and
    sources that differ only by suite are merged.
    """
    merged: dict[tuple[str, tuple[str, ...], Path | None], list[str]] = {}
    for source in sources:
        suites = [s for s in (_rewrite_suite(suite, release) for suite in source.suites) if s]
        if not suites:
            continue
        key = (source.uri, source.components, source.keyring)
        merged.setdefault(key, [])
        merged[key] += [suite for suite in suites if suite not in merged[key]]
    if not merged:
        raise ConfigError(
            "no Debian source was found in the host's apt sources;"
            " name one under 'repositories:' in distill.yaml"
        )
    return [
        Source(uri=uri, suites=tuple(suites), components=components, keyring=keyring)
        for (uri, components, keyring), suites in merged.items()
    ]


def _rewrite_suite(suite: str, release: str) -> str | None:
    match = _SUITE.match(suite)
    if match is None or match["base"] not in _CODENAMES | _ALIASES:
        return None
    suffix = match["suffix"] or ""
    if suffix == "-backports":
        return None
    if suffix == "/updates":
        suffix = "-security"
    return release + suffix


def known_suites(sources: Iterable[Source]) -> list[str]:
    """Every suite named by ``sources``, in order, without repeats."""
    seen: list[str] = []
    for source in sources:
        seen += [suite for suite in source.suites if suite not in seen]
    return seen
