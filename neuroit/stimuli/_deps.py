"""Optional-dependency imports for neuroit.stimuli, with the install hint."""
from __future__ import annotations

import importlib


def import_optional(name: str):
    """Import ``name`` or raise ImportError telling the user which extra provides it."""
    try:
        return importlib.import_module(name)
    except ImportError as err:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            f"neuroit.stimuli needs {name.split('.')[0]} for this function; "
            'install it with: pip install "neuroit[stimuli]"'
        ) from err
