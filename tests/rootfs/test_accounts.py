"""/etc/passwd, /etc/group and homes."""

from __future__ import annotations

import pytest

from distill.errors import ConfigError
from distill.rootfs.accounts import (
    DEFAULT_GROUPS,
    DEFAULT_USERS,
    Group,
    User,
    add_accounts,
    group_text,
    merge_accounts,
    passwd_text,
)
from distill.rootfs.tree import FileTree, Kind

DISTROLESS_PASSWD = (
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
)
DISTROLESS_GROUP = "root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"


def test_default_files_match_distroless() -> None:
    assert passwd_text(DEFAULT_USERS) == DISTROLESS_PASSWD
    assert group_text(DEFAULT_GROUPS) == DISTROLESS_GROUP


def test_members_and_gecos() -> None:
    user = User(name="app", uid=10001, gid=10001, home="/app", shell="/bin/false", gecos="App")
    assert passwd_text([user]) == "app:x:10001:10001:App:/app:/bin/false\n"
    assert group_text([Group(name="app", gid=10001, members=("app", "nonroot"))]) == (
        "app:x:10001:app,nonroot\n"
    )


def test_merge_appends_and_accepts_identical_repeats() -> None:
    app = User(name="app", uid=10001, gid=10001, home="/home/app")
    users, groups = merge_accounts(
        DEFAULT_USERS, DEFAULT_GROUPS, [app, DEFAULT_USERS[2]], [Group(name="app", gid=10001)]
    )
    assert users == (*DEFAULT_USERS, app)
    assert groups[-1] == Group(name="app", gid=10001) and len(groups) == 6


@pytest.mark.parametrize(
    ("users", "groups", "message"),
    [
        ([User(name="nonroot", uid=1000, gid=1000, home="/x")], [],
         "user nonroot is already defined differently"),
        ([User(name="app", uid=65532, gid=1, home="/x")], [],
         "user app: uid 65532 is already used by nonroot"),
        ([], [Group(name="staff", gid=51)], "group staff is already defined differently"),
        ([], [Group(name="wheel", gid=5)], "group wheel: gid 5 is already used by tty"),
    ],
)
def test_merge_rejects_clashes(users: list[User], groups: list[Group], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        merge_accounts(DEFAULT_USERS, DEFAULT_GROUPS, users, groups)


@pytest.mark.parametrize(
    "make",
    [
        lambda: User(name="a:b", uid=1, gid=1, home="/x"),
        lambda: User(name="a", uid=-1, gid=1, home="/x"),
        lambda: User(name="a", uid=1, gid=2**32, home="/x"),
        lambda: User(name="a", uid=1, gid=1, home="relative"),
        lambda: User(name="a", uid=1, gid=1, home="/x", gecos="new\nline"),
        lambda: Group(name="", gid=1),
        lambda: Group(name="g", gid=1, members=("a,b",)),
    ],
)
def test_invalid_accounts_are_config_errors(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError):
        make()


def test_add_accounts_writes_files_and_homes() -> None:
    tree = FileTree()
    add_accounts(tree, DEFAULT_USERS, DEFAULT_GROUPS)
    passwd = tree.get("/etc/passwd")
    group = tree.get("/etc/group")
    assert passwd is not None and passwd.data.decode() == DISTROLESS_PASSWD
    assert group is not None and group.data.decode() == DISTROLESS_GROUP
    assert passwd.mode == group.mode == 0o644
    home = tree.get("/home/nonroot")
    assert home is not None
    assert (home.kind, home.mode, home.uid, home.gid) == (Kind.DIR, 0o700, 65532, 65532)
    root = tree.get("/root")
    assert root is not None and (root.mode, root.uid) == (0o700, 0)
    assert "/nonexistent" not in tree
