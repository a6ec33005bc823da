"""Private Numba kernels (no validation; the public functions in neuroit.<stage> prepare their inputs)."""
