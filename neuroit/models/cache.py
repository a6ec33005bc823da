"""On-disk feature cache, keyed so that stale features are never reused.

The key hashes everything that changes a feature: the model's name, a checksum of all its weights
and buffers, the layer, the full preprocessing (resolution, crop, interpolation, mean/std), the
compute dtype and the decode path (PIL on the CPU, or torchvision on the device: slightly different
pixels); within a key, features are stored per image *content* hash (SHA-1 of the file's bytes),
so renamed files hit and edited files miss. Brain-Score keys its activations cache by model
identifier and stimulus-set name only, so a changed resolution or checkpoint silently reused old
activations; here either change makes a new key.

Layout: ``cache_dir/<model>/<key[:20]>/meta.json`` (the key's fields) and ``chunk-*.npz`` files
(``hashes``: str array, ``features``: float32 (n, units)), each written atomically.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np

from neuroit._atomic import atomic_path

__all__ = ["FeatureCache", "cache_key"]

CACHE_VERSION = 2


def cache_key(*, model: str, weights_checksum: str, layer, preprocess: dict, dtype: str,
              decode: str = "pil") -> tuple[str, dict]:
    """The key (hex SHA-256) and the dict of fields it hashes.

    ``decode`` names the decoding/resizing implementation ("pil", or "torchvision-cuda" etc. for the
    device path): its pixels differ slightly, so its features are kept apart.
    """
    fields = dict(version=CACHE_VERSION, model=str(model), weights_checksum=str(weights_checksum),
                  layer=layer if layer is None else str(layer), dtype=str(dtype), decode=str(decode),
                  preprocess={k: list(v) if isinstance(v, tuple) else v for k, v in sorted(preprocess.items())})
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest(), fields


class FeatureCache:
    """Features of one (model, weights, layer, preprocessing, dtype) key, by image content hash."""

    def __init__(self, cache_dir, key: str, fields: dict):
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", fields["model"])[:80] or "model"
        self.folder = Path(cache_dir) / safe / key[:20]
        self.key, self.fields = key, fields

    def _valid(self) -> bool:
        if not self.folder.is_dir():
            return False
        meta = self.folder / "meta.json"
        return not (meta.is_file() and json.loads(meta.read_text()).get("key") != self.key)  # prefix collision

    def known(self) -> set[str]:
        """Content hashes stored under this key (reads only the chunks' hash lists)."""
        if not self._valid():
            return set()
        stored: set[str] = set()
        for chunk in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(chunk, allow_pickle=False) as data:
                stored.update(str(h) for h in data["hashes"])
        return stored

    def load(self, hashes) -> dict[str, np.ndarray]:
        """Cached feature vectors of the wanted ``hashes`` (a dict hash → 1-D float32 array)."""
        wanted = set(hashes)
        found: dict[str, np.ndarray] = {}
        if not wanted or not self._valid():
            return found
        for chunk in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(chunk, allow_pickle=False) as data:
                chunk_hashes = data["hashes"]
                rows = [i for i, h in enumerate(chunk_hashes) if h in wanted and h not in found]
                if rows:
                    features = data["features"]
                    for i in rows:
                        found[str(chunk_hashes[i])] = features[i]
            if len(found) == len(wanted):
                break
        return found

    def save(self, hashes, features: np.ndarray) -> Path | None:
        """Store new features (rows aligned with ``hashes``) as one chunk file."""
        if len(hashes) == 0:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        meta = self.folder / "meta.json"
        if not meta.is_file():
            with atomic_path(meta) as tmp:
                tmp.write_text(json.dumps(dict(key=self.key, **self.fields), indent=2))
        name = hashlib.sha1("".join(hashes).encode()).hexdigest()[:16]
        path = self.folder / f"chunk-{name}.npz"
        with atomic_path(path, suffix=".npz") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, hashes=np.asarray(hashes, dtype="U40"), features=np.asarray(features, np.float32))
        return path
