"""``distill rebase``: an image's own layers put on a new base without rebuilding them.

As Cloud Native Buildpacks' rebase does: the app layers keep their digests,
the config's diff_ids and history follow the new base, the settings the app
inherited follow it too (:mod:`.settings`), and the old base is checked to be
what the image was built on (:mod:`.old_base`). The images are read and written
through :mod:`distill.transports`; between references of one registry no layer
bytes move at all (:func:`rebase_reference` with ``remote_hosts``).
"""

from __future__ import annotations

from distill.rebase.image import RebaseOptions, rebase_artifact, rebase_image
from distill.rebase.old_base import OldBase
from distill.rebase.reading import rebase_reference
from distill.rebase.settings import merge_env, merge_settings

__all__ = [
    "OldBase",
    "RebaseOptions",
    "merge_env",
    "merge_settings",
    "rebase_artifact",
    "rebase_image",
    "rebase_reference",
]
