"""The layer tar walker that refuses entries writing outside the root."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import pytest

from distill.errors import FormatError
from distill.layers.tar_safety import UnsafeEntry, check_layer_tar
from support.layer_tars import Entry, tar_of


def check(entries: Sequence[Entry], links: Iterable[str] = ()) -> frozenset[str]:
    return check_layer_tar(io.BytesIO(tar_of(entries)), symlinks=links)


HOSTILE = {
    "absolute path": ([Entry("/etc/passwd", data=b"x")], "/etc/passwd", "absolute path"),
    "dot-dot": ([Entry("usr/../../etc/passwd", data=b"x")], "usr/../../etc/passwd", "'..'"),
    "dot-dot hard link": ([Entry("shadow", kind="hardlink", target="../../etc/shadow")],
                          "shadow", "'..' in its hard link target"),
    "absolute hard link": ([Entry("shadow", kind="hardlink", target="/etc/shadow")],
                           "shadow", "absolute hard link target"),
    "through a symlink": ([Entry("x", kind="symlink", target="../.."),
                           Entry("x/passwd", data=b"x")], "x/passwd", "symbolic link 'x'"),
    "through an absolute symlink": ([Entry("./etc", kind="symlink", target="/tmp"),
                                     Entry("./etc/cron.d/job", data=b"x")],
                                    "./etc/cron.d/job", "symbolic link 'etc'"),
    "hard link through a symlink": ([Entry("x", kind="symlink", target="/etc"),
                                     Entry("y", kind="hardlink", target="x/shadow")],
                                    "y", "hard link target through the symbolic link 'x'"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_entries_are_named(case: str) -> None:
    entries, name, reason = HOSTILE[case]
    with pytest.raises(UnsafeEntry) as caught:
        check(entries)
    assert caught.value.entry == name
    assert reason in str(caught.value)
    assert isinstance(caught.value, FormatError)


def test_a_symlink_from_a_lower_layer_counts() -> None:
    lower = check([Entry("etc", kind="symlink", target="/tmp")])
    assert lower == {"etc"}
    with pytest.raises(UnsafeEntry, match="symbolic link 'etc'"):
        check([Entry("etc/passwd", data=b"x")], lower)


def test_honest_layers_pass_and_hand_on_their_links() -> None:
    links = check([
        Entry("./", kind="dir"),
        Entry("usr/", kind="dir"),
        Entry("usr/bin/", kind="dir"),
        Entry("usr/bin/env", data=b"#!"),
        Entry("bin", kind="symlink", target="usr/bin"),
        Entry("usr/lib/os-release", data=b"ID=x\n"),
        Entry("etc/os-release", kind="symlink", target="../usr/lib/os-release"),
        Entry("usr/bin/[", kind="hardlink", target="usr/bin/env"),
        Entry("lib..x/a", data=b"dots in a name are fine"),
    ])
    assert links == {"bin", "etc/os-release"}


def test_a_link_replaced_or_whited_out_no_longer_counts() -> None:
    lower = frozenset({"a", "b", "c/d", "c/e/f"})
    after = check([
        Entry("a/", kind="dir"),                  # a real folder now
        Entry("a/file", data=b"x"),
        Entry(".wh.b", data=b""),                 # b deleted
        Entry("c/.wh..wh..opq", data=b""),        # c emptied
        Entry("c/d/file", data=b"x"),
    ], lower)
    assert after == frozenset()


def test_a_file_that_is_not_a_tar_is_a_format_error() -> None:
    with pytest.raises(FormatError, match="not a readable tar"):
        check_layer_tar(io.BytesIO(b"\x01" * 1024))
