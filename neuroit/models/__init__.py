"""ANN features: a registry of the seed study's networks and feature extraction with an on-disk cache.

Needs the ``models`` extra (torch, torchvision, timm): ``pip install "neuroit[models]"``; they are
imported only when a function is called.
"""
from __future__ import annotations

from neuroit._lazy import lazy_exports

_EXPORTS = {
    "extract_features": "features",
    "get_model": "registry", "list_models": "registry", "ModelSpec": "registry", "weights_checksum": "registry",
    "FeatureCache": "cache", "cache_key": "cache",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
