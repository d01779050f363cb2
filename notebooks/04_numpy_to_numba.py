# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # From numpy to numba: BN's per-channel reduction
#
# The numpy backend's `batch_stats` is three lines; the numba backend's walks the
# (N, C, S) array once with `prange` over blocks of samples, one inner loop per plane,
# and sums in float64 (fastmath "reassoc" lets the plane's sum be reordered, so it
# vectorises; float64 keeps float32 inputs far from zero exact).
# Timings are shown, never asserted: the machine may be busy.

# %%
import time

import numpy as np

# The two backends' modules themselves, not the proxy minigrad.kernels.batchnorm that the
# ops call (it resolves to whichever backend is active): this notebook compares them.
from minigrad.kernels.fast import batchnorm as fast
from minigrad.kernels.reference import batchnorm as ref

rng = np.random.default_rng(0)
x3 = rng.normal(1e4, 0.1, size=(64, 16, 28 * 28)).astype(np.float32)
mean_r, var_r = ref.batch_stats(x3)
mean, var = fast.batch_stats(x3)                # the first call compiles (or loads the cache)
np.testing.assert_allclose(mean, mean_r, rtol=1e-12)
np.testing.assert_allclose(var, var_r, rtol=1e-6)
# float64 accumulation: the naive float32 E[x^2] - E[x]^2 is far off at mean 1e4, std 0.1
naive = (x3 * x3).mean(axis=(0, 2), dtype=np.float32) - x3.mean(axis=(0, 2), dtype=np.float32) ** 2
assert np.all(np.abs(var - 0.01) < 1e-3) and np.any(np.abs(naive - 0.01) > 1e-2)


def best_of(fn, repeat=5):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(x3)
        times.append(time.perf_counter() - start)
    return min(times)


floor_gb = x3.nbytes / 1e9       # one read of x is the least any implementation must move
for name, fn in [("numpy reference", ref.batch_stats), ("numba kernel", fast.batch_stats)]:
    t = best_of(fn)
    print(f"{name:16} {t * 1e3:7.2f} ms  {floor_gb / t:6.2f} GB/s of the bytes-moved floor")
