"""Image variants of a flavor: who the image runs as and where."""

from __future__ import annotations

from distill.errors import ConfigError

VARIANTS: tuple[str, ...] = ("latest", "nonroot", "debug", "debug-nonroot")

_SETTINGS: dict[str, tuple[str, str]] = {
    "latest": ("0", "/"),
    "nonroot": ("65532", "/home/nonroot"),
    "debug": ("0", "/"),
    "debug-nonroot": ("65532", "/home/nonroot"),
}


def variant_settings(variant: str) -> tuple[str, str]:
    """The image's ``(user, workdir)`` for ``variant``, as distroless sets them."""
    if variant in _SETTINGS:
        return _SETTINGS[variant]
    raise ConfigError(f"unknown variant {variant!r} (known: {', '.join(VARIANTS)})")


def parse_base(ref: str) -> tuple[str, str]:
    """Split ``FLAVOR[:VARIANT]`` (the argument of ``distill base``); variant defaults to latest."""
    flavor, _, variant = ref.partition(":")
    if not flavor:
        raise ConfigError(f"base image {ref!r} has no flavor name")
    variant = variant or "latest"
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r} in {ref!r} (known: {', '.join(VARIANTS)})")
    return flavor, variant
