"""The stimulus table of a simulated session (default: the Igustibagus et al. 2024 design)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError

CLASSES = ("apple", "bear", "bird", "car", "chair", "dog", "elephant", "person", "plane", "zebra")
DOMAINS = ("hvm", "silhouette", "convex_hull", "skeleton", "outline", "cartoon", "line_drawing",
           "mosaic", "painting", "sketch", "coco_color", "coco_gray", "tdw")
# domains made from the naturalistic (hvm) image of the same index: source_id points at it
_DERIVED = ("silhouette", "convex_hull", "skeleton", "outline", "mosaic")
N_NORMALIZERS = 25
STIMULUS_COLUMNS = ("stimulus_id", "image_file", "object_label", "domain", "is_normalizer", "source_id")


def default_stimuli(*, images_per_domain: int = 2, n_normalizers: int = N_NORMALIZERS) -> pd.DataFrame:
    """The default stimulus table: normalizers + 10 classes × 13 domains × ``images_per_domain``.

    Columns: stimulus_id, image_file (a file name only), object_label ("" for normalizers),
    domain ("normalizer" for normalizers), is_normalizer, source_id (the hvm image a silhouette,
    convex hull, skeleton, outline or mosaic was made from; "" otherwise).
    """
    if int(images_per_domain) < 1:
        raise NeuroitError(f"'images_per_domain' must be at least 1; got {images_per_domain}.")
    if int(n_normalizers) < 0:
        raise NeuroitError(f"'n_normalizers' must be >= 0; got {n_normalizers}.")
    rows = []
    for k in range(int(n_normalizers)):
        sid = f"normalizer_{k:03d}"
        rows.append((sid, f"{sid}.png", "", "normalizer", True, ""))
    for cls in CLASSES:
        for dom in DOMAINS:
            for k in range(int(images_per_domain)):
                sid = f"{cls}_{dom}_{k:02d}"
                src = f"{cls}_hvm_{k:02d}" if dom in _DERIVED else ""
                rows.append((sid, f"{sid}.png", cls, dom, False, src))
    return pd.DataFrame(rows, columns=list(STIMULUS_COLUMNS))


def check_stimuli(stimuli: pd.DataFrame) -> pd.DataFrame:
    """Validate a caller's stimulus table and return it with the standard columns."""
    if not isinstance(stimuli, pd.DataFrame):
        raise NeuroitError(f"'stimuli' must be a pandas DataFrame; got {type(stimuli).__name__}.")
    df = stimuli.reset_index(drop=True).copy()
    if "image_file" not in df.columns:
        if "image_path" not in df.columns:
            raise NeuroitError("The 'stimuli' table needs an 'image_file' or an 'image_path' column.")
        df["image_file"] = [Path(str(p)).name for p in df["image_path"]]
    missing = [c for c in ("stimulus_id", "object_label", "domain", "is_normalizer") if c not in df.columns]
    if missing:
        raise NeuroitError(f"The 'stimuli' table is missing column(s) {missing}; it needs stimulus_id, "
                           "image_file (or image_path), object_label, domain, is_normalizer.")
    if len(df) == 0:
        raise NeuroitError("The 'stimuli' table is empty.")
    df["stimulus_id"] = df["stimulus_id"].astype(str)
    dup = df["stimulus_id"][df["stimulus_id"].duplicated()].unique().tolist()
    if dup:
        raise NeuroitError(f"The 'stimuli' table has duplicate stimulus_id values {dup[:5]}.")
    df["image_file"] = df["image_file"].astype(str)
    df["object_label"] = df["object_label"].fillna("").astype(str)
    df["domain"] = df["domain"].fillna("").astype(str)
    df["is_normalizer"] = df["is_normalizer"].astype(bool)
    if "source_id" not in df.columns:
        df["source_id"] = ""
    df["source_id"] = df["source_id"].fillna("").astype(str)
    rest = [c for c in df.columns if c not in STIMULUS_COLUMNS]
    return df[[*STIMULUS_COLUMNS, *rest]]


def stimulus_codes(stimuli: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list, list]:
    """Integer class and domain codes per stimulus (-1 for normalizers/unknown) and their names."""
    labels = sorted({x for x in stimuli["object_label"] if x})
    domains = sorted({x for x in stimuli["domain"] if x and x != "normalizer"})
    lab_idx = {x: i for i, x in enumerate(labels)}
    dom_idx = {x: i for i, x in enumerate(domains)}
    norm = stimuli["is_normalizer"].to_numpy(bool)
    cls = np.array([-1 if n else lab_idx.get(x, -1) for x, n in zip(stimuli["object_label"], norm)])
    dom = np.array([-1 if n else dom_idx.get(x, -1) for x, n in zip(stimuli["domain"], norm)])
    return cls, dom, labels, domains
