"""The one registry of exercises: which library function the learner rewrites,
which of the project's own tests judge it, and graded hints.

Each entry names
  target   "module:qualname" of the function whose signature, docstring and
           source (`solution`) the exercise uses, and that the learner's function
           replaces while the tests run;
  tests    pytest node ids (files or file::test), relative to the checkout;
  k        optional pytest -k expression to keep the run affordable;
  hints    from a nudge to nearly the answer.

Kernel exercises rewrite the numpy backend's function
(`minigrad.kernels.reference.<family>:<name>`). `check` runs every test on
that backend (MINIGRAD_BACKEND=numpy, and the numba half of the tests that run
on both backends is deselected), so the ops reach the learner's kernel through
the family proxies; the tests named here call the reference function directly
or through an op. Nothing outside this file names a library function.
"""

BN = "minigrad.kernels.reference.batchnorm"
CONV = "minigrad.kernels.reference.conv"
POOL = "minigrad.kernels.reference.pool"

EXERCISES = [
    dict(name="unbroadcast", level=1, target="minigrad.autograd:unbroadcast",
         tests=["tests/test_autograd.py"], k="broadcast or diamond",
         hints=["Broadcasting does two things: it prepends axes and it stretches size-1 axes.",
                "Sum over the leading axes that `shape` does not have; then sum, with "
                "keepdims=True, over each axis where shape has 1 and grad does not.",
                "Return grad itself when the shapes already match; raise ValueError when "
                "grad has fewer axes than shape or the result still does not match."]),
    dict(name="topological_order", level=1, target="minigrad.autograd:topological_order",
         tests=["tests/test_autograd.py"], k="accumulate or chain or diamond",
         hints=["Every node (a Function or a leaf tensor) must come after all of its "
                "parents (fn.parents); start from root.grad_fn, or root if it is a node.",
                "A recursive DFS hits the recursion limit on a 100,000-op chain: keep an "
                "explicit stack of (node, parents_done) pairs.",
                "Leave out the `Input` parents (no gradient flows to them); only a "
                "Function has parents; keep a set of ids, not a list."]),
    dict(name="mul_backward", level=1, target="minigrad.ops.arithmetic:Mul.backward",
         tests=["tests/test_ops_table.py"], k="(gradcheck or torch_parity) and mul and not matmul",
         hints=["d(a*b)/da = b and d(a*b)/db = a: the forward saved both, "
                "a, b = self.saved_arrays.",
                "Return (grad * b, grad * a), in the broadcast shape; the engine's "
                "unbroadcast sums each back to its input's shape."]),
    dict(name="matmul_backward", level=2, target="minigrad.ops.arithmetic:MatMul.backward",
         tests=["tests/test_ops_table.py"], k="matmul",
         hints=["For 2-D: dA = dY @ B.T and dB = A.T @ dY, with a, b = self.saved_arrays.",
                "Batched: swap only the last two axes (np.swapaxes(b, -1, -2)).",
                "1-D operands: numpy inserted and removed an axis; put it back on grad "
                "(np.expand_dims) before the products and take it out afterwards."]),
    dict(name="log_softmax", level=2, target="minigrad.ops.softmax:log_softmax_array",
         tests=["tests/test_losses.py", "tests/test_ops_table.py"],
         k="cross_entropy or log_softmax",
         hints=["log softmax(x)_i = x_i - log(sum_j exp(x_j)).",
                "exp(1000) overflows: subtract max(x) along the axis first; the result "
                "does not change."]),
    dict(name="cross_entropy_backward", level=2, target="minigrad.ops.loss:CrossEntropy.backward",
         tests=["tests/test_losses.py"], k="cross_entropy and not rejects",
         hints=["The gradient of -log softmax(z)[t] with respect to z is softmax(z) - onehot(t).",
                "self.saved_arrays[0] is log softmax as (B, C) rows; exp gives softmax.",
                "Scale by the incoming grad (and by 1/B for 'mean') with "
                "_scale_rows(...); cross_entropy's _as_rows undoes the layout."]),
    dict(name="bn_stats", level=2, target=f"{BN}:batch_stats",
         tests=["tests/test_kernels_batchnorm.py", "tests/test_batchnorm.py"],
         k="kernels_match_references or worked_example or large_mean_small_spread "
           "or training_forward_matches",
         hints=["x3 is (N, C, S): channel c's values are x3[:, c, :]; reduce over axes (0, 2).",
                "Accumulate in float64 (dtype=np.float64) so float32 far from zero stays exact.",
                "The variance is biased (divide by M = N*S). Subtract the mean before "
                "squaring: E[x^2] - E[x]^2 cancels catastrophically."]),
    dict(name="bn_backward", level=3, target=f"{BN}:backward_dx",
         tests=["tests/test_kernels_batchnorm.py", "tests/test_batchnorm.py"],
         k="match_references or gradcheck_training or hand_derived",
         hints=["mean and var depend on every x of the channel: dy/dx has three paths.",
                "Recompute xhat = (x - mean) * invstd; the closed form is "
                "dx = gamma * invstd / M * (M*dy - sum_dy - xhat * sum_dy_xhat).",
                "Per-channel vectors need [None, :, None] to broadcast over (N, C, S); "
                "weight None means gamma = 1; return x3's dtype."]),
    dict(name="running_stats", level=2, target="minigrad.ops.batchnorm:_update_running_stats",
         tests=["tests/test_batchnorm.py"], k="running or momentum",
         hints=["running = (1 - momentum) * running + momentum * batch_stat, in place.",
                "The running variance takes the UNBIASED batch variance, var * M / (M - 1), "
                "M = N * S = x3.shape[0] * x3.shape[2].",
                "momentum=None is handled by the module (momentum = 1 / batches seen): "
                "here it is always a number. Write in place: running_mean *= ...; += ..."]),
    dict(name="im2col", level=3, target=f"{CONV}:im2col",
         tests=["tests/test_kernels_conv.py"],
         k="im2col_matches or (conv2d_forward_matches and numpy)",
         hints=["Row (c, i, j) of cols holds, for every output position (n, oh, ow), the "
                "input value under kernel offset (i, j) of channel c.",
                "Pad x once; for each offset (i, j) one strided slice "
                "xp[:, :, i*dh : ... : sh, j*dw : ... : sw] is a (N, C, OH, OW) block.",
                "Fill an (C, kh, kw, N, OH, OW) array and reshape to "
                "(C*kh*kw, N*OH*OW); conv_output_size gives OH and OW."]),
    dict(name="max_pool_backward", level=2, target=f"{POOL}:max_pool2d_backward",
         tests=["tests/test_kernels_pool.py"], k="(ties and ref) or max_pool_matches",
         hints=["argmax[n, c, oh, ow] is the flat index h*W + w of the window's winner.",
                "Overlapping windows can pick the same element: `dx[idx] += dy` keeps only "
                "one; np.add.at accumulates every one.",
                "Work on (N*C, H*W) planes with a row index per plane, then reshape."]),
    dict(name="dropout", level=1, target="minigrad.ops.dropout:Dropout.forward",
         tests=["tests/test_nn_layers.py"], k="dropout",
         hints=["Inverted dropout scales the kept values by 1 / (1 - p) = scale at training "
                "time, so evaluation is the identity.",
                "Save the multiplier keep * scale (x's dtype) with "
                "self.save_for_backward(...): the backward reads self.saved_arrays[0]."]),
    dict(name="sgd", level=2, target="minigrad.optim.sgd:SGD.step",
         tests=["tests/test_optim.py"], k="sgd or in_place or groups or skipped",
         hints=["Read lr, momentum, dampening, weight_decay, nesterov from each group.",
                "The first step's momentum buffer is a copy of g; later: "
                "buf = momentum * buf + (1 - dampening) * g.",
                "Nesterov uses g + momentum * buf. Update p.data in place and keep float32: "
                "turn group values into Python floats."]),
    dict(name="adam", level=3, target="minigrad.optim.adam:Adam.step",
         tests=["tests/test_optim.py"], k="adam",
         hints=["Per parameter keep step, exp_avg (m) and exp_avg_sq (v) in self.state[p].",
                "m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g; bias-correct with 1 - b**t.",
                "p -= lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps). AdamW "
                "(self.decoupled_weight_decay) shrinks p by 1 - lr*wd instead of adding "
                "wd*p to g."]),
]

BY_NAME = {e["name"]: e for e in EXERCISES}
