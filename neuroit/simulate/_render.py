"""Numba kernel: render one chunk of amplifier samples (noise + line noise + spikes) as int16 codes."""
from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=False)
def render_chunk(out, s0, bank, bank_idx, bank_off, noise_scale, common, common_gain, line_sin, line_cos,
                 line_a, line_b, flat, spike_ch, spike_rel, spike_unit, templates, pre, inv_gain):
    """Fill ``out`` (samples, channels) int16 with the amplifier codes of samples ``s0 + [0, n)``.

    Per channel c and sample t (µV): ``bank[bank_idx[c], (bank_off[c] + s0 + t) % L] * noise_scale[c]
    + common[t] * common_gain[c] + line_a[c] * line_sin[t] + line_b[c] * line_cos[t]`` plus every
    spike waveform ``templates[c, unit]`` whose trough sample (relative to ``s0``, sorted) is
    ``spike_rel``; then divided by the code size (``inv_gain`` = 1 / 0.195 µV), rounded and clipped.
    Spikes may lie outside the chunk: only the part of their waveform inside it is added.
    """
    n, n_ch = out.shape
    length = bank.shape[1]
    width = templates.shape[2]
    block = 512
    acc = np.empty((block, n_ch), np.float32)
    pos = np.empty(n_ch, np.int64)
    for c in range(n_ch):
        pos[c] = (bank_off[c] + s0) % length
    first = 0
    n_spk = spike_rel.shape[0]
    for b0 in range(0, n, block):
        b1 = min(b0 + block, n)
        m = b1 - b0
        for t in range(m):
            st = line_sin[b0 + t]
            ct = line_cos[b0 + t]
            cm = common[b0 + t]
            for c in range(n_ch):
                p = pos[c]
                acc[t, c] = bank[bank_idx[c], p] * noise_scale[c] + cm * common_gain[c] + line_a[c] * st + line_b[c] * ct
                p += 1
                if p == length:
                    p = 0
                pos[c] = p
        while first < n_spk and spike_rel[first] - pre + width <= b0:
            first += 1
        i = first
        while i < n_spk and spike_rel[i] - pre < b1:
            c = spike_ch[i]
            u = spike_unit[i]
            start = spike_rel[i] - pre
            k0 = max(0, b0 - start)
            k1 = min(width, b1 - start)
            for k in range(k0, k1):
                acc[start + k - b0, c] += templates[c, u, k]
            i += 1
        for t in range(m):
            for c in range(n_ch):
                if flat[c]:
                    out[b0 + t, c] = 0
                else:
                    v = np.floor(acc[t, c] * inv_gain + 0.5)
                    if v > 32767.0:
                        v = 32767.0
                    elif v < -32768.0:
                        v = -32768.0
                    out[b0 + t, c] = np.int16(v)
