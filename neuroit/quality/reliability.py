"""Split-half reliability of each site across repetitions, Spearman-Brown corrected.

Definition (per site, per session): for each of ``n_splits`` random splits, the presentations of
every image are shuffled and split into two halves of ``n // 2`` presentations each (with an odd
count the last shuffled one is left out); the half means of each image are correlated (Pearson)
across images; the correlation is corrected to the full number of repetitions with Spearman-Brown,
``r_SB = 2 r / (1 + r)``; the reliability is the mean of ``r_SB`` over splits (for r < 0 the
correction gives values below r, below -1 when r < -1/3: such sites are unreliable anyway).
NaN rates (a site missing in some presentations) are skipped in the half means, and an image
whose half mean is undefined is left out of that site's correlation; images with fewer than
``min_repetitions`` presentations are not used. Everything is vectorised over sites (and time
bins): the only Python loop is over splits, each one sparse matrix product per half.
"""
from __future__ import annotations

import logging

import numpy as np
import xarray as xr

from neuroit.errors import NeuroitError
from neuroit.quality._rules import DEFAULT_EXCLUDE, describe_rule, excluded_mask, normalizer_mask, session_labels

log = logging.getLogger(__name__)


def _prepare_codes(stimulus_ids: np.ndarray, min_repetitions: int):
    """Image code per presentation (-1: unused) and the number of presentations per used image."""
    uniq, codes = np.unique(stimulus_ids.astype(str), return_inverse=True)
    counts = np.bincount(codes, minlength=uniq.size)
    used = counts >= max(min_repetitions, 2)
    remap = np.full(uniq.size, -1)
    remap[used] = np.arange(used.sum())
    return remap[codes], counts[used], uniq[used]


def _draw_splits(codes: np.ndarray, n_splits: int, rng: np.random.Generator):
    """Yield ``(idx_a, idx_b, starts)`` for each split.

    ``codes`` gives the image (0..k-1, or -1 to skip) of each presentation. ``idx_a``/``idx_b``
    are presentation indices sorted by image, ``n_k // 2`` per image each; ``starts`` the offset of
    each image's segment in both (the same for A and B).
    """
    valid = np.flatnonzero(codes >= 0)
    c = codes[valid]
    n_img = int(c.max()) + 1 if c.size else 0
    counts = np.bincount(c, minlength=n_img)
    half = counts // 2
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # segment starts in the code-sorted order
    starts = np.concatenate([[0], np.cumsum(half)[:-1]])
    for _ in range(n_splits):
        order = np.lexsort((rng.random(c.size), c))
        sc = c[order]
        pos = np.arange(c.size) - first[sc]
        yield valid[order[pos < half[sc]]], valid[order[(pos >= half[sc]) & (pos < 2 * half[sc])]], starts


def _half_means(x0: np.ndarray, valid: np.ndarray | None, idx: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Mean of each image's segment of ``idx`` rows, skipping NaN.

    ``x0``: the rates with NaN replaced by 0; ``valid``: 1.0 where the rate is not NaN (None: no NaN).
    One sparse (images × presentations) selection matrix product, cost O(len(idx) × sites).
    """
    from scipy.sparse import csr_matrix

    bounds = np.append(starts, idx.size)
    select = csr_matrix((np.ones(idx.size), idx, bounds), shape=(starts.size, x0.shape[0]))
    sums = select @ x0
    if valid is None:
        return sums / np.diff(bounds)[:, None]
    n = select @ valid
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, sums / np.maximum(n, 1), np.nan)


def _masked_pearson(a: np.ndarray, b: np.ndarray, min_images: int = 3) -> np.ndarray:
    """Pearson r between columns of ``a`` and ``b`` over rows where both are finite."""
    m = np.isfinite(a) & np.isfinite(b)
    n = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = np.where(m, a, 0.0).sum(axis=0) / n
        mb = np.where(m, b, 0.0).sum(axis=0) / n
        da = np.where(m, a - ma, 0.0)
        db = np.where(m, b - mb, 0.0)
        r = (da * db).sum(axis=0) / np.sqrt((da * da).sum(axis=0) * (db * db).sum(axis=0))
    r[n < min_images] = np.nan
    return r


def spearman_brown(r, factor: float = 2.0):
    """Spearman-Brown prophecy: reliability of a test ``factor`` times longer, ``k r / (1 + (k - 1) r)``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return factor * np.asarray(r) / (1.0 + (factor - 1.0) * np.asarray(r))


def _image_mask(rates, images, normalizer, exclude) -> np.ndarray:
    n = rates.sizes["presentation"]
    if isinstance(images, str):
        if images == "all":
            return np.ones(n, dtype=bool)
        if images == "normalizer":
            return normalizer_mask(rates, normalizer) & ~excluded_mask(rates, exclude)
        if images == "experiment":
            return ~normalizer_mask(rates, normalizer) & ~excluded_mask(rates, exclude)
        raise NeuroitError(f"The 'images' parameter of split_half_reliability must be 'all', 'normalizer', "
                           f"'experiment' or a list of stimulus ids; got {images!r}.")
    return np.isin(rates["stimulus_id"].values.astype(str), [str(s) for s in images])


def split_half_reliability(
    rates: xr.DataArray,
    *,
    images="all",
    n_splits: int = 100,
    seed: int = 0,
    by_session: bool = True,
    min_repetitions: int = 2,
    correction: bool = True,
    normalizer="is_normalizer",
    exclude=DEFAULT_EXCLUDE,
) -> xr.DataArray:
    """Spearman-Brown corrected split-half reliability of each site across repetitions.

    Parameters
    ----------
    rates
        ``presentation × site [× time_bin]`` rates with a ``stimulus_id`` coordinate.
    images
        Which images to correlate over: ``"all"`` (default), ``"normalizer"`` or ``"experiment"``
        (by the ``normalizer`` rule; the ``exclude`` blanks are left out of both), or a list of ids.
    n_splits, seed
        Number of random splits and the seed of ``numpy.random.default_rng`` (each session gets a
        generator seeded with ``seed``, so a session's result does not depend on the others).
    by_session
        One reliability per session (``session`` coordinate) and site (default), or pool all
        presentations (session label ``"all"``).
    min_repetitions
        Images with fewer presentations (at least 2) are left out.
    correction
        Apply Spearman-Brown (default); ``False`` gives the mean raw half-to-half correlation.

    Returns
    -------
    xarray.DataArray
        Dims ``session × site`` (× ``time_bin``), the site coordinates, ``n_images`` per session, and
        the parameters in ``attrs["split_half_reliability"]``. NaN where fewer than 3 images have
        both half means.
    """
    if not isinstance(rates, xr.DataArray) or not {"presentation", "site"} <= set(rates.dims):
        raise NeuroitError("split_half_reliability expects a presentation × site tensor (xarray.DataArray).")
    if n_splits < 1:
        raise NeuroitError(f"The 'n_splits' parameter of split_half_reliability must be >= 1; got {n_splits}.")
    rates = rates.transpose("presentation", "site", ...)
    sel = _image_mask(rates, images, normalizer, exclude)
    sessions = session_labels(rates) if by_session else np.full(rates.sizes["presentation"], "all")
    names = list(dict.fromkeys(sessions))
    x_all = rates.values.reshape(rates.sizes["presentation"], -1).astype(np.float64)
    result = np.full((len(names), x_all.shape[1]), np.nan)
    n_images = np.zeros(len(names), dtype=np.int64)
    for g, name in enumerate(names):
        rows = np.flatnonzero((sessions == name) & sel)
        codes, counts, _ = _prepare_codes(rates["stimulus_id"].values[rows], min_repetitions)
        n_images[g] = counts.size
        if counts.size < 3:
            log.warning("split_half_reliability: session %s has %d images with >= %d repetitions; reliability "
                        "is NaN", name, counts.size, max(min_repetitions, 2))
            continue
        x = x_all[rows]
        nan = np.isnan(x)
        x0 = np.where(nan, 0.0, x)
        valid = (~nan).astype(np.float64) if nan.any() else None
        rng = np.random.default_rng(seed)
        total = np.zeros(x.shape[1])
        count = np.zeros(x.shape[1], dtype=np.int64)
        for idx_a, idx_b, starts in _draw_splits(codes, n_splits, rng):
            r = _masked_pearson(_half_means(x0, valid, idx_a, starts), _half_means(x0, valid, idx_b, starts))
            if correction:
                r = spearman_brown(r)
            ok = np.isfinite(r)
            total[ok] += r[ok]
            count += ok
        with np.errstate(invalid="ignore", divide="ignore"):
            result[g] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    dims = ("session", "site") + rates.dims[2:]
    coords = {"session": np.asarray(names, dtype=object), "n_images": ("session", n_images)}
    for n, c in rates.coords.items():
        if c.dims and set(c.dims) <= set(rates.dims[1:]):
            coords[n] = c
    attrs = {k: v for k, v in rates.attrs.items() if k != "units"}
    attrs["split_half_reliability"] = {
        "images": images if isinstance(images, str) else f"{len(list(images))} listed stimulus ids",
        "n_splits": n_splits, "seed": seed, "by_session": by_session, "min_repetitions": min_repetitions,
        "correction": "spearman-brown" if correction else "none",
        "normalizer": describe_rule(normalizer),
        "exclude": describe_rule(exclude) if callable(exclude) or exclude is None else [
            getattr(p, "pattern", p) for p in ([exclude] if isinstance(exclude, str) else exclude)],
    }
    return xr.DataArray(result.reshape((len(names),) + rates.shape[1:]), dims=dims, coords=coords,
                        name="reliability", attrs=attrs)
