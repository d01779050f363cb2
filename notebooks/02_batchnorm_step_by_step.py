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
# # BatchNorm step by step
#
# The lectures' six values, one channel: forward, running statistics, train vs eval,
# then the backward's two sums and its closed form, checked against autograd through
# the composed BN and against finite differences. Every claim is asserted, so this
# notebook fails CI if it drifts from the code.

# %%
import numpy as np

import minigrad
from minigrad import nn
from minigrad.ops.batchnorm import batch_norm_composed

values = np.array([3, 5, 8, 9, 11, 24], dtype=np.float64)
x = minigrad.Tensor(values.reshape(6, 1), requires_grad=True)   # (N=6, C=1)

# %% [markdown]
# ## Forward: mean 10, biased variance 46

# %%
mean = values.mean()
var = ((values - mean) ** 2).mean()
xhat = (values - mean) / np.sqrt(var + 1e-5)
print(mean, var, np.round(xhat, 2))
assert mean == 10 and var == 46
np.testing.assert_allclose(xhat, [-1.03, -0.74, -0.29, -0.15, 0.15, 2.06], atol=0.005)

bn = nn.BatchNorm1d(1).double()
y = bn(x)
np.testing.assert_allclose(y.data.ravel(), xhat, rtol=1e-12)

# %% [markdown]
# ## Running statistics
# With momentum 0.1, from the initial (0, 1): the running variance takes the UNBIASED
# variance 46 * 6 / 5 = 55.2 (PyTorch's convention). With `momentum=None` the running
# values are the plain average of every batch seen so far.

# %%
print(bn.running_mean.data, bn.running_var.data)
np.testing.assert_allclose(bn.running_mean.data, [0.9 * 0 + 0.1 * 10])
np.testing.assert_allclose(bn.running_var.data, [0.9 * 1 + 0.1 * 55.2])

avg = nn.BatchNorm1d(1, momentum=None).double()
avg(x)
avg(minigrad.Tensor((values * 2).reshape(6, 1)))
np.testing.assert_allclose(avg.running_mean.data, [(10 + 20) / 2])
np.testing.assert_allclose(avg.running_var.data, [(55.2 + 4 * 55.2) / 2])

# %% [markdown]
# ## Train vs eval
# In training a sample's output depends on the rest of the batch; in eval it uses the
# running estimates and does not.

# %%
bn.eval()
alone = bn(minigrad.Tensor(np.array([[11.0]]))).data
expected = (11 - bn.running_mean.data) / np.sqrt(bn.running_var.data + 1e-5)
np.testing.assert_allclose(alone.ravel(), expected)
bn.train()

# %% [markdown]
# ## Backward: two sums and the closed form
# With upstream gradient dy, per channel: `sum_dy = sum(dy)`, `sum_dy_xhat = sum(dy * xhat)`,
# and `dx = gamma * invstd / M * (M * dy - sum_dy - xhat * sum_dy_xhat)`.

# %%
dy = np.array([1.0, -2.0, 0.5, 0.0, 3.0, -1.0])
M = len(values)
invstd = 1 / np.sqrt(var + 1e-5)
sum_dy, sum_dy_xhat = dy.sum(), (dy * xhat).sum()
dx_closed = invstd / M * (M * dy - sum_dy - xhat * sum_dy_xhat)

y = bn(x)
y.backward(minigrad.Tensor(dy.reshape(6, 1)))
np.testing.assert_allclose(x.grad.ravel(), dx_closed, rtol=1e-10)        # the fused op
np.testing.assert_allclose(bn.bias.grad, [sum_dy])
np.testing.assert_allclose(bn.weight.grad, [sum_dy_xhat])

xc = minigrad.Tensor(values.reshape(6, 1), requires_grad=True)          # autograd, op by op
composed = batch_norm_composed(xc)
composed.backward(minigrad.Tensor(dy.reshape(6, 1)))
np.testing.assert_allclose(xc.grad.ravel(), dx_closed, rtol=1e-10)

h = 1e-6                                                                 # finite differences
f = lambda v: (((v - v.mean()) / np.sqrt(v.var() + 1e-5)) * dy).sum()
numeric = [(f(values + h * e) - f(values - h * e)) / (2 * h) for e in np.eye(M)]
np.testing.assert_allclose(dx_closed, numeric, rtol=1e-6, atol=1e-8)

# Treating mean and variance as constants would give dy * invstd: wrong.
assert not np.allclose(dy * invstd, dx_closed, atol=1e-3)
print(np.round(dx_closed, 4))

# %% [markdown]
# ## The fused op and the composed ops, drawn
# One `BatchNorm` node against the chain autograd differentiates op by op
# (needs Graphviz's `dot` to render).

# %%
from minigrad.viz import draw_graph

fused_graph = draw_graph(bn(x), model=None)
composed_graph = draw_graph(batch_norm_composed(xc))
assert "BatchNorm" in fused_graph.source and "Mean" in composed_graph.source
fused_graph
# %%
composed_graph
