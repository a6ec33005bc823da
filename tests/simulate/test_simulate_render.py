"""The rendering kernel: chunked output equals one-shot output, spikes straddling chunk edges included."""
from __future__ import annotations

import numpy as np

from neuroit.simulate._render import render_chunk


def _render(s0, n, spikes, templates, pre, bank, rng_state=0):
    n_ch = templates.shape[0]
    out = np.empty((n, n_ch), np.int16)
    idx = np.arange(s0, s0 + n)
    sin = np.sin(idx * 0.01).astype(np.float32)
    cos = np.cos(idx * 0.01).astype(np.float32)
    common = bank[0, idx % bank.shape[1]].copy()
    ch, smp, unit = spikes
    render_chunk(out, s0, bank, np.array([1, 2]), np.array([5, 70]), np.float32([2.0, 3.0]), common,
                 np.float32([0.5, 1.0]), sin, cos, np.float32([1.0, 2.0]), np.float32([0.5, 0.0]),
                 np.array([False, False]), ch, smp - s0, unit, templates, pre, np.float32(1 / 0.195))
    return out


def test_chunks_equal_one_shot():
    rng = np.random.default_rng(0)
    bank = rng.standard_normal((3, 256)).astype(np.float32)
    pre, width = 4, 15
    templates = rng.normal(0, 30, (2, 2, width)).astype(np.float32)
    smp = np.array([0, 2, 3, 97, 99, 100, 101, 103, 250, 299, 300, 599])
    ch = np.array([0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1])
    unit = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1])
    whole = _render(0, 600, (ch, smp, unit), templates, pre, bank)
    parts = []
    for s0, n in [(0, 100), (100, 1), (101, 199), (300, 300)]:
        near = (smp - pre + width > s0) & (smp - pre < s0 + n)
        parts.append(_render(s0, n, (ch[near], smp[near], unit[near]), templates, pre, bank))
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    # the waveform is where the spike is: reference with plain numpy
    ref = np.zeros((600, 2))
    for c, s, u in zip(ch, smp, unit):
        lo, hi = s - pre, s - pre + width
        k0, k1 = max(0, -lo), width - max(0, hi - 600)
        ref[lo + k0:lo + k1, c] += templates[c, u, k0:k1]
    idx = np.arange(600)
    noise = (bank[[[1], [2]], (np.array([5, 70])[:, None] + idx) % 256].T * [2.0, 3.0]
             + bank[0, idx % 256][:, None] * [0.5, 1.0]
             + np.sin(idx * 0.01)[:, None] * [1.0, 2.0] + np.cos(idx * 0.01)[:, None] * [0.5, 0.0])
    expected = np.floor((ref + noise) / 0.195 + 0.5)
    assert np.abs(whole - expected).max() <= 1  # float32 vs float64 rounding only
