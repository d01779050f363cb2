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
# # Autograd from a scalar to a tensor
#
# A small expression, its graph, its backward by hand next to `backward()`; then a
# broadcast whose gradient is summed back; then `gradcheck`. Every claim is asserted.

# %%
import numpy as np

import minigrad
from minigrad.viz import draw_graph

a = minigrad.Tensor(2.0, requires_grad=True)
b = minigrad.Tensor(-3.0, requires_grad=True)
c = a * b + a          # c = ab + a
c.backward()
# by hand: dc/da = b + 1 = -2, dc/db = a = 2
assert a.grad == -2.0 and b.grad == 2.0
graph = draw_graph(c, show_grad=True)
assert "Mul" in graph.source and "Add" in graph.source
graph

# %% [markdown]
# ## Broadcasting: the gradient is summed back
# `x (4, 3) + bias (3,)` copies the bias to every row, so the bias receives the sum of the
# rows' gradients (autograd.unbroadcast does it, in one place).

# %%
x = minigrad.Tensor(np.arange(12.0).reshape(4, 3), requires_grad=True)
bias = minigrad.Tensor(np.zeros(3), requires_grad=True)
((x + bias) * x).sum().backward()
np.testing.assert_allclose(bias.grad, x.data.sum(axis=0))     # d/dbias = sum over rows of x
np.testing.assert_allclose(x.grad, 2 * x.data)                 # bias is 0

# %% [markdown]
# ## gradcheck: analytic against central differences, in float64

# %%
rng = np.random.default_rng(0)
w = minigrad.Tensor(rng.normal(size=(3, 2)), requires_grad=True)
assert minigrad.gradcheck(lambda x, w: (x @ w).tanh().sum(axis=1), x, w)
