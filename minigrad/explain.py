"""Teaching helpers: print what BatchNorm does, step by step, on small numbers.

Every number printed comes from minigrad's own BatchNorm1d, not from a
separate formula: the batch statistics are read back from the module's
running-average update, and the normalized values are its output.
"""
import numpy as np

from minigrad.nn.batchnorm import BatchNorm1d
from minigrad.tensor import Tensor


def explain_batchnorm(values, gamma=1.0, beta=0.0, eps=1e-5, file=None) -> dict:
    """Print BN's forward pass for one feature over a batch of `values`.

    Returns the intermediate results (mean, var, xhat, y) so that a notebook
    can use them. The lectures' example: explain_batchnorm([3, 5, 8, 9, 11, 24]).
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1, 1)
    if x.shape[0] < 2:
        raise ValueError(f"batch norm needs at least 2 values in training, got {x.shape[0]}")
    m = x.shape[0]

    # momentum=1 makes the running estimates equal this batch's statistics,
    # so the module itself tells us the mean and the (unbiased) variance.
    probe = BatchNorm1d(1, eps=eps, momentum=1.0, affine=False).double()
    xhat = probe(Tensor(x)).data.ravel()
    mean = float(probe.running_mean.data[0])
    # Back from the running (unbiased) variance to the biased variance BN normalizes with.
    var = float(probe.running_var.data[0]) * (m - 1) / m

    layer = BatchNorm1d(1, eps=eps).double()
    layer.weight.data[:] = gamma
    layer.bias.data[:] = beta
    y = layer(Tensor(x)).data.ravel()

    say = lambda text="": print(text, file=file)
    listed = ", ".join(f"{v:g}" for v in x.ravel())
    say(f"BatchNorm of one feature over a batch of m = {m} values: {listed}")
    say(f"1. mean      mu    = sum(x) / m                 = {mean:.4g}")
    say(f"2. variance  var   = sum((x - mu)^2) / m        = {var:.4g}   (biased: divide by m)")
    say(f"3. normalize xhat  = (x - mu) / sqrt(var + eps), eps = {eps:g}")
    for value, normalized in zip(x.ravel(), xhat):
        say(f"     ({value:g} - {mean:.4g}) / {np.sqrt(var + eps):.4g} = {normalized:+.2f}")
    say(f"   xhat has mean {xhat.mean():+.2g} and variance {xhat.var():.4g}")
    say(f"4. scale and shift  y = gamma * xhat + beta, gamma = {gamma:g}, beta = {beta:g}")
    say("     y = " + ", ".join(f"{v:+.2f}" for v in y))
    say(f"The running variance is updated with the unbiased variance sum((x - mu)^2) / (m - 1) "
        f"= {var * m / (m - 1):.4g}.")
    return {"mean": mean, "var": var, "xhat": xhat, "y": y}
