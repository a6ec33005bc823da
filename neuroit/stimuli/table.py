"""The stimulus-set table: read from a CSV and an image folder, validate, write.

Columns of the table (a ``pandas.DataFrame``, one row per image):

``stimulus_id`` (str, unique), ``image_path`` (str, absolute), ``object_label`` (str),
``domain`` (str), ``source_id`` (str: the ``stimulus_id`` of the naturalistic image this one
was derived from, or ""), ``is_normalizer`` (bool). Extra CSV columns are kept.

Brain-Score stimulus CSVs (e.g. the Igustibagus2024 domain-transfer set) are accepted: the
domain is taken from ``stimulus_source`` + ``object_style`` (see :data:`BRAINSCORE_DOMAINS`) and
``background_id`` links the derived silhouette-domain images to their original image.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from neuroit._atomic import atomic_path
from neuroit.errors import FileFormatError, NeuroitError

__all__ = ["read_stimulus_set", "validate_stimulus_set", "write_stimulus_set", "brainscore_domain",
           "COLUMNS", "DOMAINS", "BRAINSCORE_DOMAINS"]

COLUMNS = ("stimulus_id", "image_path", "object_label", "domain", "source_id", "is_normalizer")

#: The seed study's 13 domains, naturalistic first.
DOMAINS = ("hvm", "silhouette", "convex_hull", "skeleton", "outline", "cartoon", "line_drawing", "mosaic",
           "painting", "sketch", "coco_color", "coco_gray", "tdw")

#: Domains derived from a naturalistic (hvm) image and its mask; their ``source_id`` points to it.
DERIVED_DOMAINS = ("silhouette", "convex_hull", "skeleton", "outline")

#: (stimulus_source, object_style) of Brain-Score's domain-transfer stimulus sets -> neuroit domain.
#: ``None`` as style means "any style of that source".
BRAINSCORE_DOMAINS = {
    ("silhouette", "original"): "hvm",
    ("silhouette", "silhouette"): "silhouette",
    ("silhouette", "convex_hull"): "convex_hull",
    ("silhouette", "skeleton"): "skeleton",
    ("silhouette", "outline"): "outline",
    ("art", "cartoon"): "cartoon",
    ("art", "line_drawing"): "line_drawing",
    ("art", "mosaic"): "mosaic",
    ("art", "painting"): "painting",
    ("art", "sketch"): "sketch",
    ("cococolor", None): "coco_color",
    ("cocogray", None): "coco_gray",
    ("tdw", None): "tdw",
    ("hvm", None): "hvm",
}

_PATH_ALIASES = ("image_path", "image_file", "filename", "image_file_name", "filepath",
                 "image_current_local_file_path")
_LABEL_ALIASES = ("object_label", "category_name", "label", "category")
_ID_ALIASES = ("stimulus_id", "image_id")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f", "", "nan", "none"}


def brainscore_domain(stimulus_source: str, object_style: str) -> str:
    """Map Brain-Score's ``stimulus_source`` and ``object_style`` to a neuroit domain name.

    Unknown pairs map to ``"<source>_<style>"`` in lower case (e.g. ``geirhosood_edges``), so no
    image is silently dropped.
    """
    source = str(stimulus_source).strip().lower().replace(" ", "")
    style = str(object_style).strip().lower().replace(" ", "_")
    if (source, style) in BRAINSCORE_DOMAINS:
        return BRAINSCORE_DOMAINS[(source, style)]
    if (source, None) in BRAINSCORE_DOMAINS:
        return BRAINSCORE_DOMAINS[(source, None)]
    if source in ("", "nan"):
        return style
    return f"{source}_{style}" if style not in ("", "nan") else source


def _first(columns, aliases):
    for name in aliases:
        if name in columns:
            return name
    return None


def _parse_bool(values: pd.Series, csv_path) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    out = []
    for value in values.astype(str).str.strip().str.lower():
        if value in _TRUE:
            out.append(True)
        elif value in _FALSE:
            out.append(False)
        else:
            raise FileFormatError(csv_path, f"column 'is_normalizer' must hold True/False values; got {value!r}.")
    return np.array(out, dtype=bool)


def _source_from_background(table: pd.DataFrame) -> pd.Series:
    """Brain-Score's ``background_id``: derived silhouette-domain images share it with their original."""
    source = pd.Series([""] * len(table), index=table.index, dtype=object)
    background = pd.to_numeric(table["background_id"], errors="coerce")
    originals = table[(table["domain"] == "hvm") & (background > 0)]
    lookup = dict(zip(background[originals.index], originals["stimulus_id"]))
    derived = table["domain"].isin(DERIVED_DOMAINS) & (background > 0)
    source[derived] = [lookup.get(b, "") for b in background[derived]]
    return source


def read_stimulus_set(csv, image_root=None, *, check_files: bool = True) -> pd.DataFrame:
    """Read a stimulus-set CSV into the standard table (columns :data:`COLUMNS` first).

    ``image_root`` is the folder that relative image paths are resolved against (default: the
    CSV's folder). With ``check_files`` every image must exist. Raises :class:`FileFormatError`
    naming the CSV for missing columns, duplicate ids or missing images.
    """
    csv = Path(csv)
    if not csv.is_file():
        raise FileNotFoundError(f"Stimulus-set CSV {csv} does not exist.")
    try:
        raw = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise FileFormatError(csv, f"cannot be parsed as CSV ({err}).") from err
    root = Path(image_root) if image_root is not None else csv.parent
    columns = list(raw.columns)
    path_col = _first(columns, _PATH_ALIASES)
    label_col = _first(columns, _LABEL_ALIASES)
    missing = [name for name, col in (("image_path (or image_file/filename)", path_col),
                                      ("object_label", label_col)) if col is None]
    has_domain = "domain" in columns or "object_style" in columns or "stimulus_source" in columns
    if not has_domain:
        missing.append("domain (or Brain-Score's stimulus_source/object_style)")
    if missing:
        raise FileFormatError(csv, f"missing required column(s) {', '.join(missing)}; found {columns}.")

    table = pd.DataFrame(index=raw.index)
    id_col = _first(columns, _ID_ALIASES)
    paths = raw[path_col].astype(str)
    table["stimulus_id"] = raw[id_col].astype(str) if id_col else [Path(p).stem for p in paths]
    table["image_path"] = [str(p if os.path.isabs(p) else (root / p)) for p in paths]
    table["object_label"] = raw[label_col].astype(str)
    if "domain" in columns:
        table["domain"] = raw["domain"].astype(str)
    else:
        sources = raw["stimulus_source"] if "stimulus_source" in columns else pd.Series([""] * len(raw))
        styles = raw["object_style"] if "object_style" in columns else pd.Series([""] * len(raw))
        table["domain"] = [brainscore_domain(a, b) for a, b in zip(sources, styles)]
    if "source_id" in columns:
        table["source_id"] = raw["source_id"].astype(str)
    elif "background_id" in columns:
        table["source_id"] = _source_from_background(pd.concat([table, raw[["background_id"]]], axis=1))
    else:
        table["source_id"] = ""
    table["is_normalizer"] = _parse_bool(raw["is_normalizer"], csv) if "is_normalizer" in columns else \
        (table["domain"] == "normalizer").to_numpy()
    extra = [c for c in columns if c not in table.columns and c not in (id_col, path_col, label_col)]
    for name in extra:
        table[name] = raw[name]
    table.attrs.update(csv=str(csv), image_root=str(root))
    validate_stimulus_set(table, check_files=check_files, where=csv)
    return table


def validate_stimulus_set(table: pd.DataFrame, *, check_files: bool = True, where=None) -> pd.DataFrame:
    """Check a stimulus table: required columns, unique ids, existing images. Returns the table."""
    where = where if where is not None else "stimulus table"
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise NeuroitError(f"The stimulus table must have columns {list(COLUMNS)}; {where} lacks {missing}.")
    duplicated = table["stimulus_id"][table["stimulus_id"].duplicated()]
    if len(duplicated):
        raise FileFormatError(where, f"stimulus_id must be unique; {len(duplicated)} duplicate(s), "
                                     f"first {duplicated.iloc[0]!r}.")
    if check_files:
        absent = [p for p in table["image_path"] if not os.path.isfile(p)]
        if absent:
            raise FileFormatError(where, f"{len(absent)} image file(s) do not exist, first {absent[0]}.")
    return table


def write_stimulus_set(table: pd.DataFrame, path) -> Path:
    """Write ``table`` as a CSV with image paths relative to the CSV's folder where possible (atomic)."""
    validate_stimulus_set(table, check_files=False)
    path = Path(path)
    out = table.copy()
    base = path.parent.resolve()
    rel = []
    for p in out["image_path"]:
        try:
            rel.append(Path(p).resolve().relative_to(base).as_posix())
        except ValueError:
            rel.append(str(p))
    out["image_path"] = rel
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)
    return path
