"""Accounts of an image: defaults, extra users, implicit groups, run-as, scratch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from distill.assembly.accounts import AccountPlan, add_account_files, plan_accounts
from distill.config import Config, parse_config
from distill.errors import ConfigError
from distill.rootfs.accounts import DEFAULT_GROUPS, DEFAULT_USERS
from distill.rootfs.tree import FileTree, Kind


def config(**document: Any) -> Config:
    """A configuration from ``document`` (a name is added)."""
    return parse_config({"name": "app", **document}, source="distill.yaml", base_dir=Path("/"))


def written(plan: AccountPlan) -> FileTree:
    """The tree the app layer gets from ``plan``."""
    tree = FileTree()
    add_account_files(tree, plan)
    return tree


def text(tree: FileTree, path: str) -> str:
    """A file of ``tree`` as text."""
    entry = tree.get(path)
    assert entry is not None, f"{path} missing from {tree.paths()}"
    return entry.data.decode()


def test_static_defaults_keep_the_base_accounts() -> None:
    plan = plan_accounts(config(variant="nonroot"), base_has_accounts=True)
    assert (plan.users, plan.groups) == (DEFAULT_USERS, DEFAULT_GROUPS)
    assert plan.user == "65532:65532"
    assert not plan.rewrite and plan.new_users == ()
    assert len(written(plan)) == 0
    assert plan_accounts(config(variant="latest"), base_has_accounts=True).user == "0:0"


def test_extra_user_gets_an_implicit_group_and_a_home() -> None:
    plan = plan_accounts(config(accounts={
        "users": [{"name": "appuser", "uid": 10001}], "run-as": "appuser"}),
        base_has_accounts=True)
    assert plan.user == "10001:10001"
    assert plan.rewrite
    assert [u.name for u in plan.new_users] == ["appuser"]
    tree = written(plan)
    assert text(tree, "/etc/passwd").splitlines()[-1] == (
        "appuser:x:10001:10001:appuser:/home/appuser:/sbin/nologin")
    assert text(tree, "/etc/passwd").startswith("root:x:0:0:root:/root:/sbin/nologin\n")
    assert text(tree, "/etc/group").splitlines()[-1] == "appuser:x:10001:"
    home = tree.get("/home/appuser")
    assert home is not None
    assert (home.kind, home.mode, home.uid, home.gid) == (Kind.DIR, 0o700, 10001, 10001)


def test_user_in_an_existing_group_adds_no_group() -> None:
    plan = plan_accounts(config(accounts={
        "users": [{"name": "web", "uid": 1000, "gid": 65532, "home": "/srv"}],
        "groups": [{"name": "extra", "gid": 2000, "members": ["web"]}]}),
        base_has_accounts=True)
    names = [g.name for g in plan.groups]
    assert names == [g.name for g in DEFAULT_GROUPS] + ["extra"]
    assert "extra:x:2000:web" in text(written(plan), "/etc/group").splitlines()
    # Without run-as the variant's user stays.
    assert plan.user == "65532:65532"


def test_run_as_by_name_becomes_numeric() -> None:
    plan = plan_accounts(config(accounts={
        "users": [{"name": "svc", "uid": 4000, "gid": 4001}], "run-as": "svc"}),
        base_has_accounts=True)
    assert plan.user == "4000:4001"
    assert plan_accounts(config(accounts={"run-as": "nobody"}),
                         base_has_accounts=True).user == "65534:65534"


@pytest.mark.parametrize(("run_as", "user"), [("1234", "1234:1234"), ("1234:99", "1234:99")])
def test_numeric_run_as(run_as: str, user: str) -> None:
    assert plan_accounts(config(accounts={"run-as": run_as}),
                         base_has_accounts=True).user == user


def test_unknown_run_as_lists_the_users() -> None:
    with pytest.raises(ConfigError) as caught:
        plan_accounts(config(accounts={"run-as": "ghost"}), base_has_accounts=True)
    assert str(caught.value) == (
        "accounts.run-as: no user 'ghost' in the image (users: root, nobody, nonroot)")


def test_scratch_nonroot_generates_root_and_nonroot() -> None:
    plan = plan_accounts(config(base="scratch", variant="nonroot"), base_has_accounts=False)
    assert plan.user == "65532:65532"
    tree = written(plan)
    assert text(tree, "/etc/passwd") == (
        "root:x:0:0:root:/root:/sbin/nologin\n"
        "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
    assert text(tree, "/etc/group") == "root:x:0:\nnonroot:x:65532:\n"
    home = tree.get("/home/nonroot")
    assert home is not None and (home.mode, home.uid) == (0o700, 65532)


def test_scratch_latest_has_no_passwd() -> None:
    plan = plan_accounts(config(base="scratch", variant="latest"), base_has_accounts=False)
    assert plan.user == "0:0"
    assert not plan.rewrite
    assert len(written(plan)) == 0


def test_scratch_with_own_user() -> None:
    plan = plan_accounts(config(base="scratch", accounts={
        "users": [{"name": "app", "uid": 10001}], "run-as": "app"}), base_has_accounts=False)
    assert plan.user == "10001:10001"
    assert text(written(plan), "/etc/passwd") == (
        "app:x:10001:10001:app:/home/app:/sbin/nologin\n")


def test_clash_with_a_default_uid() -> None:
    with pytest.raises(ConfigError, match="user other: uid 65532 is already used by nonroot"):
        plan_accounts(config(accounts={"users": [{"name": "other", "uid": 65532}]}),
                      base_has_accounts=True)


def test_redefining_a_default_user_differently() -> None:
    with pytest.raises(ConfigError, match="user nonroot is already defined differently"):
        plan_accounts(config(accounts={"users": [{"name": "nonroot", "uid": 1000}]}),
                      base_has_accounts=True)


def test_clash_with_a_default_gid() -> None:
    with pytest.raises(ConfigError, match="gid 50 is already used by staff"):
        plan_accounts(config(accounts={"groups": [{"name": "devs", "gid": 50}]}),
                      base_has_accounts=True)
