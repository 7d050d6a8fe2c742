"""Users and groups: /etc/passwd, /etc/group and home folders, as distroless writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from distill.errors import ConfigError
from distill.rootfs.tree import FileTree

NO_HOME = "/nonexistent"
"""The home of accounts that must not have one; it is never created."""
_MAX_ID = 2**32 - 2


def _check_name(label: str, name: str) -> None:
    if not name or any(c in name for c in ":,\n ") or name.startswith("-"):
        raise ConfigError(f"{label} name {name!r} is not a valid account name")


def _check_id(label: str, value: int) -> None:
    if not 0 <= value <= _MAX_ID:
        raise ConfigError(f"{label} {value} is out of range 0..{_MAX_ID}")


@dataclass(frozen=True)
class User:
    """One /etc/passwd line. ``gecos`` defaults to the name, as in distroless."""

    name: str
    uid: int
    gid: int
    home: str
    shell: str = "/sbin/nologin"
    gecos: str | None = None

    def __post_init__(self) -> None:
        _check_name("user", self.name)
        _check_id(f"user {self.name} uid", self.uid)
        _check_id(f"user {self.name} gid", self.gid)
        for label, value in (("home", self.home), ("shell", self.shell), ("gecos", self.gecos)):
            if value is not None and (":" in value or "\n" in value):
                raise ConfigError(f"user {self.name}: {label} {value!r} contains ':' or a newline")
        if not self.home.startswith("/"):
            raise ConfigError(f"user {self.name}: home {self.home!r} is not an absolute path")

    def line(self) -> str:
        """The /etc/passwd line, without newline."""
        gecos = self.name if self.gecos is None else self.gecos
        return f"{self.name}:x:{self.uid}:{self.gid}:{gecos}:{self.home}:{self.shell}"


@dataclass(frozen=True)
class Group:
    """One /etc/group line."""

    name: str
    gid: int
    members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name("group", self.name)
        _check_id(f"group {self.name} gid", self.gid)
        for member in self.members:
            _check_name(f"group {self.name} member", member)

    def line(self) -> str:
        """The /etc/group line, without newline."""
        return f"{self.name}:x:{self.gid}:{','.join(self.members)}"


DEFAULT_USERS: tuple[User, ...] = (
    User(name="root", uid=0, gid=0, home="/root"),
    User(name="nobody", uid=65534, gid=65534, home=NO_HOME),
    User(name="nonroot", uid=65532, gid=65532, home="/home/nonroot"),
)
"""distroless's users, in its order."""

DEFAULT_GROUPS: tuple[Group, ...] = (
    Group(name="root", gid=0),
    Group(name="nobody", gid=65534),
    Group(name="tty", gid=5),
    Group(name="staff", gid=50),
    Group(name="nonroot", gid=65532),
)
"""distroless's groups, in its order."""


def passwd_text(users: Sequence[User]) -> str:
    """The contents of /etc/passwd."""
    return "".join(user.line() + "\n" for user in users)


def group_text(groups: Sequence[Group]) -> str:
    """The contents of /etc/group."""
    return "".join(group.line() + "\n" for group in groups)


def merge_accounts(
    base_users: Sequence[User],
    base_groups: Sequence[Group],
    users: Sequence[User],
    groups: Sequence[Group],
) -> tuple[tuple[User, ...], tuple[Group, ...]]:
    """Append ``users`` and ``groups`` to the base ones.

    Repeating an identical definition is allowed; a name or id already used by a
    different definition raises :class:`ConfigError`.
    """
    merged_users: list[User] = list(base_users)
    for user in users:
        if _admit(merged_users, user, "user", "uid", user.uid):
            merged_users.append(user)
    merged_groups: list[Group] = list(base_groups)
    for group in groups:
        if _admit(merged_groups, group, "group", "gid", group.gid):
            merged_groups.append(group)
    return tuple(merged_users), tuple(merged_groups)


def add_accounts(tree: FileTree, users: Sequence[User], groups: Sequence[Group]) -> None:
    """Write /etc/passwd and /etc/group (0644) and each user's home (0700, theirs).

    Homes equal to ``/nonexistent`` are not created.
    """
    tree.add_file("/etc/passwd", passwd_text(users).encode(), mode=0o644)
    tree.add_file("/etc/group", group_text(groups).encode(), mode=0o644)
    for user in users:
        if user.home not in (NO_HOME, "/"):
            tree.add_dir(user.home, mode=0o700, uid=user.uid, gid=user.gid)


def _admit(existing: Sequence[User | Group], new: User | Group, kind: str, id_label: str,
           new_id: int) -> bool:
    """True when ``new`` must be appended; False when already there; raise on a clash."""
    for old in existing:
        old_id = old.uid if isinstance(old, User) else old.gid
        if old.name != new.name and old_id != new_id:
            continue
        if old == new:
            return False
        if old.name == new.name:
            raise ConfigError(f"{kind} {new.name} is already defined differently ({old.line()})")
        raise ConfigError(f"{kind} {new.name}: {id_label} {new_id} is already used by {old.name}")
    return True
