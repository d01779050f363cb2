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
# At the end: a ReLU's mask fused into BN's backward, checked against the unfused result.
# Timings are shown, never asserted: the machine may be busy.

# %%
import time

import numpy as np

# The two backends' modules themselves, not the proxy minigrad.kernels.batchnorm that the
# ops call (it resolves to whichever backend is active): this notebook compares them.
from minigrad.kernels.fast import activation
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

# %% [markdown]
# ## Fusion: ReLU's mask inside BN's backward
#
# When a ReLU follows BN, the gradient reaching BN is `dy` where `y > 0` and 0 elsewhere.
# `backward_train(..., relu=True)` recomputes `y > 0` from x with the forward's per-channel
# coefficients, so the ReLU needs no array of its own. Both backends must agree with the
# unfused computation: the reference's backward of the masked gradient.

# %%
weight = rng.normal(1, 0.1, size=16)
bias = rng.normal(0, 0.5, size=16)
dy3 = rng.normal(size=x3.shape).astype(np.float32)
y, mean, invstd, _ = fast.normalize_train(x3, weight, bias, 1e-5, relu=True)
dx, sum_dy, sum_dy_xhat = fast.backward_train(dy3, x3, mean, invstd, weight, bias, relu=True)
masked = np.where(y > 0, dy3, 0).astype(np.float32)
sums = ref.backward_reduce(masked, x3, mean, invstd)
unfused_dx = ref.backward_dx(masked, x3, mean, invstd, weight, *sums)
np.testing.assert_allclose(sum_dy, sums[0], rtol=1e-4, atol=1e-2)
np.testing.assert_allclose(dx, unfused_dx, rtol=1e-3, atol=1e-5)


# %% [markdown]
# Unfused, the ReLU's backward is a pass of its own (reading dy and the saved y, writing
# the masked gradient) before BN's; fused, the mask is a select inside BN's two passes.

# %%
def unfused(x):
    fast.backward_train(activation.relu_backward(dy3, y), x, mean, invstd, weight, bias)


def fused(x):
    fast.backward_train(dy3, x, mean, invstd, weight, bias, relu=True)


for name, fn in [("ReLU backward, then BN's", unfused), ("BN's with the mask inside", fused)]:
    print(f"{name:26} {best_of(fn) * 1e3:7.2f} ms")
