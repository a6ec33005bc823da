"""The stimulus-set table: read from a CSV and an image folder, validate, write.

Columns of the table (a ``pandas.DataFrame``, one row per image):

``stimulus_id`` (str, unique), ``image_path`` (str, absolute), ``object_label`` (str),
``domain`` (str), ``source_id`` (str: the ``stimulus_id`` of the naturalistic image this one
was derived from, or ""), ``is_normalizer`` (bool), then ``image_file`` (str: the name a
presentation log shows: the CSV's ``image_file`` column as written, else the image's file name).
Extra CSV columns are kept.

Brain-Score stimulus CSVs (e.g. the Igustibagus2024 domain-transfer set) are accepted: the
domain is taken from ``stimulus_source`` + ``object_style`` (see :data:`BRAINSCORE_DOMAINS`) and
``background_id`` links the derived silhouette-domain images to their original image.
"""
from __future__ import annotations

import os
import re
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
_REQUIRABLE = ("stimulus_id", "image_path", "object_label", "domain")
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


def parse_bool(values: pd.Series, where) -> np.ndarray:
    """An ``is_normalizer`` column as booleans (True/False, 1/0, yes/no, t/f; empty = False).

    Any other value is an error naming ``where`` (the CSV path, or which table it came from).
    """
    if values.dtype == bool:
        return values.to_numpy()
    out = []
    for value in values.astype(str).str.strip().str.lower():
        if value in _TRUE:
            out.append(True)
        elif value in _FALSE:
            out.append(False)
        else:
            raise FileFormatError(where, f"column 'is_normalizer' must hold True/False values; got {value!r}.")
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


def read_stimulus_set(csv, image_root=None, *, check_files: bool = True,
                      required=("image_path", "object_label", "domain"),
                      normalizer_pattern: str | None = None) -> pd.DataFrame:
    """Read a stimulus-set CSV into the standard table (columns :data:`COLUMNS` first).

    The one reader of stimulus tables in neuroit (stimulus sets, ``neuroit process`` session
    folders, ``neuroit compare``). ``image_root`` is the folder that relative image paths are
    resolved against (default: the CSV's folder). With ``check_files`` every image must exist.

    ``required`` names the table columns the CSV must provide (aliases such as ``image_file`` for
    ``image_path`` count); an absent optional one is filled with "" (tables for decoding need only
    ``("object_label", "domain")``, session folders only ``()``). ``stimulus_id`` comes from the
    CSV or else from the image file names. ``image_file`` (the name a presentation log shows) is the
    CSV's ``image_file`` column as written, else the image's file name, else the ``stimulus_id``.
    Without an ``is_normalizer`` column the normalizers are the ``domain == "normalizer"`` rows and,
    with ``normalizer_pattern`` (a regex such as ``r"(^|/)normalizers/"``), the images whose path
    as the CSV writes it (``image_file``, else ``image_path``) matches it. Raises
    :class:`FileFormatError` naming the CSV for missing columns, duplicate ids or missing images.
    """
    unknown = sorted(set(required) - set(_REQUIRABLE))
    if unknown:
        raise NeuroitError(f"The 'required' parameter of read_stimulus_set takes names from "
                           f"{list(_REQUIRABLE)}; got {unknown} instead.")
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
    id_col = _first(columns, _ID_ALIASES)
    has_domain = "domain" in columns or "object_style" in columns or "stimulus_source" in columns
    need = set(required) | ({"image_path"} if check_files else set())
    missing = [text for name, text, found in (
        ("stimulus_id", "stimulus_id (or an image path)", id_col or path_col),
        ("image_path", "image_path (or image_file/filename)", path_col),
        ("object_label", "object_label", label_col),
        ("domain", "domain (or Brain-Score's stimulus_source/object_style)", has_domain),
    ) if not found and (name in need or name == "stimulus_id")]
    if missing:
        raise FileFormatError(csv, f"missing required column(s) {', '.join(missing)}; found {columns}.")

    table = pd.DataFrame(index=raw.index)
    paths = raw[path_col].astype(str) if path_col else pd.Series([""] * len(raw), index=raw.index)
    table["stimulus_id"] = raw[id_col].astype(str) if id_col else [Path(p).stem for p in paths]
    table["image_path"] = [str(p if (not p or os.path.isabs(p)) else (root / p)) for p in paths]
    table["object_label"] = raw[label_col].astype(str) if label_col else ""
    if "domain" in columns:
        table["domain"] = raw["domain"].astype(str)
    elif has_domain:
        sources = raw["stimulus_source"] if "stimulus_source" in columns else pd.Series([""] * len(raw))
        styles = raw["object_style"] if "object_style" in columns else pd.Series([""] * len(raw))
        table["domain"] = [brainscore_domain(a, b) for a, b in zip(sources, styles)]
    else:
        table["domain"] = ""
    if "source_id" in columns:
        table["source_id"] = raw["source_id"].astype(str)
    elif "background_id" in columns:
        table["source_id"] = _source_from_background(pd.concat([table, raw[["background_id"]]], axis=1))
    else:
        table["source_id"] = ""
    # the image as the CSV writes it (the normalizer rule looks for its folder) and as a log names it
    written = raw["image_file"] if "image_file" in columns else paths if path_col else table["stimulus_id"]
    image_file = written if "image_file" in columns or not path_col else [Path(p).name for p in paths]
    if "is_normalizer" in columns:
        table["is_normalizer"] = parse_bool(raw["is_normalizer"], csv)
    else:
        flag = (table["domain"] == "normalizer").to_numpy(copy=True)
        if normalizer_pattern is not None:
            pattern = re.compile(normalizer_pattern)
            flag |= np.array([bool(pattern.search(f.replace("\\", "/"))) for f in written], dtype=bool)
        table["is_normalizer"] = flag
    table["image_file"] = [str(f) for f in image_file]
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
