"""Seeded train / held-out / cross-domain test splits of a stimulus set (the seed study's protocol)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neuroit.errors import NeuroitError

__all__ = ["Splits", "draw_splits"]


@dataclass(frozen=True)
class Splits:
    """Row indices (into the stimulus table) of every split.

    ``train`` (split, n_train); ``test`` (split, n_test_max) padded with -1; ``test_domain``
    (split, n_test_max) index into ``domains`` (-1 for padding); ``domains[0]`` is the training
    domain (its test images are the held-out in-domain images); ``classes`` the class labels in
    the order of the decoder's outputs; ``labels`` the class index of every table row (-1 for a
    class never seen in training); ``params`` every count and the seed.
    """

    train: np.ndarray
    test: np.ndarray
    test_domain: np.ndarray
    domains: tuple
    classes: tuple
    labels: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def n_splits(self) -> int:
        return self.train.shape[0]

    def n_test(self) -> np.ndarray:
        """(split, domain) number of test images."""
        out = np.zeros((self.n_splits, len(self.domains)), dtype=np.int64)
        for d in range(len(self.domains)):
            out[:, d] = (self.test_domain == d).sum(axis=1)
        return out


def _stratified(rng: np.random.Generator, rows: np.ndarray, codes: np.ndarray, n: int) -> np.ndarray:
    """Draw ``n`` of ``rows`` without replacement, class counts proportional to availability
    (largest remainders, ties broken at random), like a stratified train_test_split."""
    n = min(n, len(rows))
    if n == 0:
        return rows[:0]
    classes, inverse, counts = np.unique(codes, return_inverse=True, return_counts=True)
    exact = n * counts / counts.sum()
    quota = np.floor(exact).astype(np.int64)
    left = n - quota.sum()
    if left:
        order = rng.permutation(len(classes))
        frac = (exact - quota)[order]
        quota[order[np.argsort(-frac, kind="stable")[:left]]] += 1
    picked = []
    for k in range(len(classes)):
        if quota[k]:
            members = rows[inverse == k]
            picked.append(rng.choice(members, size=quota[k], replace=False))
    return np.sort(np.concatenate(picked))


def draw_splits(stimuli: pd.DataFrame, *, train_domain: str = "hvm", n_splits: int = 100, n_train: int = 100,
                n_heldout: int = 20, n_test_per_domain: int = 50, seed: int = 0) -> Splits:
    """Draw the seed study's splits from a stimulus table.

    Per split: ``n_train`` training and ``n_heldout`` held-out images of ``train_domain``
    (stratified by ``object_label``), and up to ``n_test_per_domain`` test images of every other
    domain (stratified where the domain allows). Images whose root (``source_id``, or the image
    itself when it has none) is a training image's root are never test images, so a silhouette of a
    training photograph is never tested. ``stimuli`` needs stimulus_id, object_label, domain and
    optionally source_id and is_normalizer (normalizer rows are ignored).
    """
    from neuroit.decoding._inputs import _clean_table

    table = stimuli if "root" in stimuli.columns else _clean_table(stimuli, "stimuli")
    for pname, value, low in (("n_splits", n_splits, 1), ("n_train", n_train, 2), ("n_heldout", n_heldout, 0),
                              ("n_test_per_domain", n_test_per_domain, 0)):
        if not isinstance(value, (int, np.integer)) or value < low:
            raise NeuroitError(f"The '{pname}' parameter of draw_splits must be an integer >= {low}; got {value!r}.")
    domain = table["domain"].to_numpy()
    in_rows = np.flatnonzero(domain == train_domain)
    if len(in_rows) == 0:
        raise NeuroitError(f"The 'train_domain' {train_domain!r} has no images; the stimulus table's domains are "
                           f"{sorted(set(domain))}.")
    if n_train + n_heldout > len(in_rows):
        raise NeuroitError(f"n_train + n_heldout = {n_train + n_heldout} exceeds the {len(in_rows)} images of the "
                           f"training domain {train_domain!r}.")
    classes = tuple(sorted(set(table["object_label"].to_numpy()[in_rows])))
    if len(classes) < 2:
        raise NeuroitError(f"The training domain {train_domain!r} must hold at least two object classes; "
                           f"it has {list(classes)}.")
    labels = pd.Index(classes).get_indexer(table["object_label"])
    others = [d for d in pd.unique(domain) if d != train_domain]
    domains = (train_domain, *others)
    dom_rows = [np.flatnonzero((domain == d) & (labels >= 0)) for d in others]
    root_codes = pd.factorize(table["root"])[0]

    rng = np.random.default_rng(seed)
    train = np.empty((n_splits, n_train), dtype=np.int64)
    tests, test_doms = [], []
    for s in range(n_splits):
        tr = _stratified(rng, in_rows, labels[in_rows], n_train)
        train[s] = tr
        used = np.zeros(root_codes.max() + 1, dtype=bool)
        used[root_codes[tr]] = True
        rest = in_rows[~used[root_codes[in_rows]]]
        parts = [_stratified(rng, rest, labels[rest], n_heldout)]
        for rows in dom_rows:
            ok = rows[~used[root_codes[rows]]]
            parts.append(_stratified(rng, ok, labels[ok], n_test_per_domain))
        tests.append(np.concatenate(parts))
        test_doms.append(np.repeat(np.arange(len(domains)), [len(p) for p in parts]))
    width = max(len(t) for t in tests)
    test = np.full((n_splits, width), -1, dtype=np.int64)
    test_domain = np.full((n_splits, width), -1, dtype=np.int64)
    for s, (t, d) in enumerate(zip(tests, test_doms)):
        test[s, :len(t)] = t
        test_domain[s, :len(d)] = d
    params = dict(train_domain=train_domain, n_splits=int(n_splits), n_train=int(n_train),
                  n_heldout=int(n_heldout), n_test_per_domain=int(n_test_per_domain), seed=int(seed))
    return Splits(train=train, test=test, test_domain=test_domain, domains=domains, classes=classes,
                  labels=labels, params=params)
