"""What no container needs: the paths left out when packages are installed.

The predicate works on merged-/usr paths (see :mod:`distill.rootfs.merged_usr`).
A dropped folder takes everything below it along. What goes, and why:

- documentation: ``/usr/share/doc`` except ``/usr/share/doc/<pkg>/copyright``
  (kept for license compliance, with the package folders or links holding it),
  ``man``, ``info``, ``doc-base``, ``gtk-doc``, ``lintian`` and ``linda``
  overrides, ``bug`` (reportbug scripts), ``menu`` (desktop menus);
- translations: ``/usr/share/locale`` (a flavor can keep some, see :func:`dropper`);
- interactive shells: ``bash-completion``, ``zsh``, ``/etc/update-motd.d``
  (login banners), since a distroless image has no shell to log in to;
- service managers and schedulers that never run in a container: ``/etc/init.d``,
  ``/etc/rc?.d``, ``/etc/systemd``, ``/lib/systemd``, ``/usr/lib/systemd``,
  ``/usr/lib/tmpfiles.d`` and ``/usr/lib/sysusers.d`` (systemd's),
  ``/etc/cron.*``, ``/etc/logrotate.d``;
- boot: ``/usr/share/initramfs-tools`` and ``/etc/initramfs-tools`` (hooks that
  build an initial ramdisk; a container boots no kernel);
- desktop integration: ``/usr/share/applications``, ``icons``, ``pixmaps``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase

from distill.rootfs.tree import normalize

DROPPED_TREES: tuple[str, ...] = (
    "/usr/share/man",
    "/usr/share/info",
    "/usr/share/lintian",
    "/usr/share/linda",
    "/usr/share/locale",
    "/usr/share/bug",
    "/usr/share/doc-base",
    "/usr/share/gtk-doc",
    "/usr/share/menu",
    "/usr/share/bash-completion",
    "/usr/share/zsh",
    "/usr/share/applications",
    "/usr/share/icons",
    "/usr/share/pixmaps",
    "/usr/share/initramfs-tools",
    "/etc/initramfs-tools",
    "/etc/init.d",
    "/etc/systemd",
    "/etc/logrotate.d",
    "/etc/update-motd.d",
    "/lib/systemd",
    "/usr/lib/systemd",
    "/usr/lib/tmpfiles.d",
    "/usr/lib/sysusers.d",
)
"""Folders dropped with everything below them."""

_DROPPED_GLOBS: tuple[str, ...] = ("/etc/cron.", "/etc/rc")
_DOC = "/usr/share/doc"


def is_dropped(path: str) -> bool:
    """True when ``path`` (a merged-/usr path) is something no container needs."""
    path = normalize(path)
    if any(_within(path, tree) for tree in DROPPED_TREES):
        return True
    if _dropped_by_glob(path):
        return True
    return _dropped_doc(path)


def dropper(
    *, also: Iterable[str] = (), keep: Iterable[str] = ()
) -> Callable[[str], bool]:
    """A predicate like :func:`is_dropped` that also drops the folders in ``also``
    and keeps the folders in ``keep`` (with their parents), for flavors that need to.

    An entry of ``also`` may be a shell pattern (``*``, ``?``, ``[...]``; ``*``
    crosses ``/``), such as ``/usr/lib/*/gconv/*.so``; an entry starting with
    ``!`` keeps what it names, as in ``.gitignore``, even where another entry
    drops it (``!/usr/lib/*/gconv/UTF-16.so``).
    """
    extra = tuple(_rule(p) for p in also if not p.startswith("!"))
    kept = (*(normalize(p) for p in keep),
            *(_rule(p.removeprefix("!")) for p in also if p.startswith("!")))

    def predicate(path: str) -> bool:
        path = normalize(path)
        if any(_kept(path, k) for k in kept):
            return False
        return is_dropped(path) or any(_matches(path, e) for e in extra)

    return predicate


def _rule(entry: str) -> str:
    return entry if _is_pattern(entry) else normalize(entry)


def _is_pattern(entry: str) -> bool:
    return any(char in entry for char in "*?[")


def _matches(path: str, rule: str) -> bool:
    """``path`` is ``rule`` or below it (``rule`` a folder, a file or a pattern)."""
    if _is_pattern(rule):
        return fnmatchcase(path, rule) or fnmatchcase(path, rule + "/*")
    return _within(path, rule)


def _kept(path: str, rule: str) -> bool:
    """``path`` is kept by ``rule``: it is below it, or one of its parent folders."""
    if _is_pattern(rule):
        return _matches(path, rule)
    return _within(path, rule) or _within(rule, path)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _dropped_by_glob(path: str) -> bool:
    first = "/" + "/".join(path.split("/")[1:3])
    for prefix in _DROPPED_GLOBS:
        if not first.startswith(prefix):
            continue
        if prefix == "/etc/rc":
            # /etc/rc0.d ... /etc/rc6.d and /etc/rcS.d: SysV init links
            name = first.removeprefix(prefix)
            return len(name) == 3 and name.endswith(".d")
        return True
    return False


def _dropped_doc(path: str) -> bool:
    if not path.startswith(_DOC + "/"):
        return False
    below = path.removeprefix(_DOC + "/")
    _, _, rest = below.partition("/")
    if not rest:
        return False  # a package's folder, or a link to another package's folder
    return rest != "copyright"
