"""Supply chain: SBOM and provenance referrers, cosign signatures and attestations, verify.

:func:`open_store` opens where an image lives (a registry repository or an OCI
layout); :func:`publish` attaches a build's SBOMs and provenance (and, with a
key, signs and attests); :func:`sign_store` signs any image; :func:`verify_store`
checks signatures, attestations and referrers.
"""

from __future__ import annotations

from distill.supply.keys import load_private_key, load_public_key
from distill.supply.signing import ImageFacts, Signed, publish, sign_store
from distill.supply.stores import Store, open_store, referrers
from distill.supply.verify import Verified, verify_store

__all__ = [
    "ImageFacts",
    "Signed",
    "Store",
    "Verified",
    "load_private_key",
    "load_public_key",
    "open_store",
    "publish",
    "referrers",
    "sign_store",
    "verify_store",
]
