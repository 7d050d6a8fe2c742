"""Keeping images current: which packages have updates (``distill outdated``, in
:mod:`~distill.maintenance.checks`) and moving a lock to them (``distill lock --upgrade``,
in :mod:`~distill.maintenance.upgrade`).

Nothing is imported here, so ``distill outdated`` on an image does not pay for
loading the configuration schema.
"""
