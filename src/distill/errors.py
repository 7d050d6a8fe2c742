"""The exceptions distill raises.

Every error a user can cause or meet is a :class:`DistillError`; the CLI prints
its message as one line and exits 1. The hierarchy::

    DistillError
    ├── ConfigError          distill.yaml or a command-line value is wrong
    ├── ResolveError         a package set cannot be satisfied
    ├── LockError            distill.lock is missing, corrupt or out of date
    ├── FetchError           a download failed (network, HTTP status, disk)
    ├── IntegrityError       a signature or checksum did not match
    ├── FormatError          a file (deb, tar, image, index) is not what it claims
    ├── TransportError       an image source or sink failed (path, engine, registry)
    └── RebaseError          an image cannot be rebased as asked (wrong old base, platforms, user)
"""

from __future__ import annotations


class DistillError(Exception):
    """Root of every error distill reports to a user."""


class ConfigError(DistillError):
    """The configuration (distill.yaml or the command line) is invalid."""


class ResolveError(DistillError):
    """A set of Debian packages cannot be satisfied."""


class LockError(DistillError):
    """The lock file is missing, unreadable, or does not match the configuration."""


class FetchError(DistillError):
    """A download failed."""


class IntegrityError(DistillError):
    """A signature, checksum or size did not match what a trusted source says."""


class FormatError(DistillError):
    """A file does not have the format it should have."""


class TransportError(DistillError):
    """Reading or writing an image at a reference failed."""


class RebaseError(DistillError):
    """An image cannot be put on another base as asked."""
