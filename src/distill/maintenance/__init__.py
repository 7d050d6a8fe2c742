"""Keeping images current: which packages have updates (``distill outdated``) and moving a
lock to them (``distill lock --upgrade``)."""

from distill.maintenance.checks import check_packages, outdated_image, outdated_lock
from distill.maintenance.outdated import OutdatedReport, Update
from distill.maintenance.upgrade import Change, Upgrade, upgrade_lock

__all__ = [
    "Change",
    "OutdatedReport",
    "Update",
    "Upgrade",
    "check_packages",
    "outdated_image",
    "outdated_lock",
    "upgrade_lock",
]
