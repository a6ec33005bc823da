"""The ``default=`` hook of ``json.dumps`` shared by every JSON neuroit writes (attrs, parameters)."""
from __future__ import annotations

import os

import numpy as np


def json_default(o):
    """numpy scalars and arrays -> Python numbers and lists, paths -> str, sets -> sorted lists; else str."""
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    return str(o)
