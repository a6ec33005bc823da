"""ANN features: a registry of the seed study's networks and feature extraction with an on-disk cache.

Needs the ``models`` extra (torch, torchvision, timm): ``pip install "neuroit[models]"``; they are
imported only when a function is called.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "extract_features": "features",
    "get_model": "registry", "list_models": "registry", "ModelSpec": "registry", "weights_checksum": "registry",
    "FeatureCache": "cache", "cache_key": "cache",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
