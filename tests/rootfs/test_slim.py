"""The slimming predicate: what goes and what stays."""

from __future__ import annotations

import pytest

from distill.rootfs.slim import dropper, is_dropped


@pytest.mark.parametrize(
    "path",
    [
        "/usr/share/doc/tzdata/changelog.gz",
        "/usr/share/doc/ca-certificates/examples/ca-certificates-local/debian/copyright/x",
        "/usr/share/doc/ca-certificates/examples",
        "/usr/share/doc/ca-certificates/examples/ca-certificates-local/debian/copyright",
        "/usr/share/man",
        "/usr/share/man/man1/busybox.1.gz",
        "/usr/share/info/dir",
        "/usr/share/lintian/overrides/tzdata",
        "/usr/share/locale/de/LC_MESSAGES/x.mo",
        "/usr/share/bug/media-types/presubj",
        "/usr/share/doc-base/x",
        "/usr/share/gtk-doc/html",
        "/usr/share/menu/x",
        "/usr/share/bash-completion/completions/x",
        "/usr/share/zsh/vendor-completions/_x",
        "/etc/cron.daily/x",
        "/etc/cron.d",
        "/etc/logrotate.d/x",
        "/etc/init.d/x",
        "/etc/rc2.d/S01x",
        "/etc/rcS.d",
        "/etc/systemd/system/x.service",
        "/lib/systemd/system/x.service",
        "/usr/lib/systemd/system/x.service",
        "/usr/lib/tmpfiles.d/x.conf",
        "/etc/update-motd.d/10-uname",
        "/usr/share/initramfs-tools/hooks/zz-busybox",
    ],
)
def test_dropped(path: str) -> None:
    assert is_dropped(path)


@pytest.mark.parametrize(
    "path",
    [
        "/usr/share/doc",
        "/usr/share/doc/tzdata",
        "/usr/share/doc/tzdata/copyright",
        "/usr/share/doc/libfoo1",  # often a link to the source package's folder
        "/usr/share/documentation/x",
        "/usr/share/common-licenses/GPL-3",
        "/usr/share/zoneinfo/Europe/Paris",
        "/etc/rc.local",
        "/etc/crontab",
        "/usr/lib/os-release",
        "/usr/share/mandoc",
        "/usr/bin/man",
    ],
)
def test_kept(path: str) -> None:
    assert not is_dropped(path)


def test_dropper_keeps_and_extends() -> None:
    drop = dropper(also=["/usr/share/base-files"], keep=["/usr/share/locale/de"])
    assert drop("/usr/share/base-files/motd")
    assert not drop("/usr/share/locale/de/LC_MESSAGES/x.mo")
    assert not drop("/usr/share/locale")  # the kept folder's parent
    assert drop("/usr/share/locale/fr/LC_MESSAGES/x.mo")
    assert drop("/usr/share/man/man1/x.1.gz")
