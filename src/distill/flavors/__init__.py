"""Base image recipes (scratch, static, ...) as data plus small functions."""

from distill.flavors.catalog import (
    BUSYBOX,
    FLAVORS,
    flavor_entrypoint,
    flavor_env,
    flavor_names,
    get_flavor,
    image_chain,
    is_debug,
    lineage,
)
from distill.flavors.flavor_tree import FlavorLayer, build_flavor_layer
from distill.flavors.model import RELEASES, Flavor, GenerateContext
from distill.flavors.variants import VARIANTS, parse_base, variant_settings

__all__ = [
    "BUSYBOX",
    "FLAVORS",
    "RELEASES",
    "VARIANTS",
    "Flavor",
    "FlavorLayer",
    "GenerateContext",
    "build_flavor_layer",
    "flavor_entrypoint",
    "flavor_env",
    "flavor_names",
    "get_flavor",
    "image_chain",
    "is_debug",
    "lineage",
    "parse_base",
    "variant_settings",
]
