"""Imports of torch / torchvision / timm for neuroit.models, with the ``models`` extra's install hint."""
from __future__ import annotations

from neuroit._lazy import import_optional as _imp


def import_optional(name: str):
    """Import ``name`` (torch, torchvision, timm, PIL, ...) or raise ImportError naming ``neuroit[models]``."""
    return _imp(name, "models")
