"""Lazy imports of torch / torchvision / timm with the install hint."""
from __future__ import annotations

import importlib

HINT = 'pip install "neuroit[models]"'


def import_optional(name: str):
    """Import ``name`` (torch, torchvision, timm, PIL, …) or raise ImportError with the install hint."""
    try:
        return importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(f"neuroit.models needs {name.split('.')[0]}; install it with: {HINT}") from err
