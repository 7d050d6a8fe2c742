"""Accounts of an image: the base's users plus the configuration's, and run-as."""

from __future__ import annotations

from dataclasses import dataclass

from distill.assembly.runtime import resolve_user
from distill.config import Config
from distill.config import User as UserSpec
from distill.rootfs.accounts import (
    DEFAULT_GROUPS,
    DEFAULT_USERS,
    NO_HOME,
    Group,
    User,
    group_text,
    merge_accounts,
    passwd_text,
)
from distill.rootfs.tree import FileTree

_VARIANT_USER = {"latest": "root", "debug": "root", "nonroot": "nonroot",
                 "debug-nonroot": "nonroot"}


@dataclass(frozen=True)
class AccountPlan:
    """The image's users and groups and whether the app layer must rewrite them."""

    users: tuple[User, ...]
    groups: tuple[Group, ...]
    new_users: tuple[User, ...]
    """Users the app layer adds (their homes are created there)."""
    rewrite: bool
    """True when /etc/passwd and /etc/group differ from the base's."""
    user: str
    """The image's ``uid:gid``."""


def plan_accounts(config: Config, *, base_has_accounts: bool) -> AccountPlan:
    """Merge the configuration's accounts into the base's and resolve run-as."""
    run_as = config.accounts.run_as or _VARIANT_USER[config.variant]
    base_users, base_groups = (DEFAULT_USERS, DEFAULT_GROUPS) if base_has_accounts else ((), ())
    wanted_users = [_user(u) for u in config.accounts.users]
    wanted_groups = [Group(name=g.name, gid=g.gid, members=tuple(g.members))
                     for g in config.accounts.groups]
    if not base_has_accounts and run_as != "root" and not wanted_users:
        # scratch with a non-root user: generate the distroless accounts it needs.
        wanted_users = [u for u in DEFAULT_USERS if u.name in ("root", run_as)]
        wanted_groups = [g for g in DEFAULT_GROUPS if g.name in ("root", run_as)]
    wanted_groups += _implicit_groups(wanted_users, [*base_groups, *wanted_groups])
    users, groups = merge_accounts(base_users, base_groups, wanted_users, wanted_groups)
    new_users = tuple(u for u in users if u not in base_users)
    rewrite = bool(new_users) or len(groups) != len(base_groups)
    user = "0:0" if run_as == "root" and not users else resolve_user(run_as, users)
    return AccountPlan(users, groups, new_users, rewrite, user)


def add_account_files(tree: FileTree, plan: AccountPlan) -> None:
    """Write the merged passwd and group, and the new users' homes, into ``tree``."""
    if not plan.rewrite:
        return
    tree.add_file("/etc/passwd", passwd_text(plan.users).encode(), mode=0o644)
    tree.add_file("/etc/group", group_text(plan.groups).encode(), mode=0o644)
    for user in plan.new_users:
        if user.home not in (NO_HOME, "/"):
            tree.add_dir(user.home, mode=0o700, uid=user.uid, gid=user.gid)


def _user(spec: UserSpec) -> User:
    gid = spec.uid if spec.gid is None else spec.gid
    return User(name=spec.name, uid=spec.uid, gid=gid, home=spec.home or f"/home/{spec.name}",
                shell=spec.shell)


def _implicit_groups(users: list[User], groups: list[Group]) -> list[Group]:
    """A group named after each user whose gid has no group yet, as adduser makes."""
    known = {g.gid for g in groups}
    added: list[Group] = []
    for user in users:
        if user.gid not in known:
            added.append(Group(name=user.name, gid=user.gid))
            known.add(user.gid)
    return added
