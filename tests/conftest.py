"""Test-session settings.

Numba's CUDA simulator runs the GPU path's kernels (``device="cuda"``) on the CPU, so that they are tested
on machines without a GPU. It must be chosen before numba is first imported, hence here. On a machine with
an NVIDIA GPU, ``NEUROIT_TEST_REAL_CUDA=1`` runs the same tests on the GPU instead.
"""
import os

if not os.environ.get("NEUROIT_TEST_REAL_CUDA"):
    os.environ.setdefault("NUMBA_ENABLE_CUDASIM", "1")
