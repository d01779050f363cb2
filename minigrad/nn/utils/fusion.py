"""Fold an evaluation-mode BatchNorm into the Conv2d or Linear before it.

In eval mode BN is a fixed affine map per channel c:

    bn(z)_c = gamma_c * (z_c - running_mean_c) / sqrt(running_var_c + eps) + beta_c
            = scale_c * z_c + (beta_c - scale_c * running_mean_c),
              scale_c = gamma_c / sqrt(var_c + eps)

and z_c = W_c * x + b_c is itself affine, so their composition is one layer:

    W'_c = scale_c * W_c        b'_c = scale_c * (b_c - running_mean_c) + beta_c

One layer instead of two at inference: a pass over the activations saved.
"""
import copy
import functools

from minigrad import autograd, kernels
from minigrad.nn import functional as F
from minigrad.nn.parameter import Parameter
from minigrad.ops.batchnorm import eval_scale_shift
from minigrad.tensor import Tensor


def folded_weights(layer, bn):
    """(weight', bias') arrays of the one Conv2d/Linear equal to bn(layer(x)), bn in eval
    mode: W'_c = scale_c * W_c and b'_c = scale_c * b_c + shift_c, in the layer's dtype."""
    out_features = layer.weight.shape[0]
    if bn.num_features != out_features:
        raise ValueError(f"cannot fuse: the {type(layer).__name__} has {out_features} output "
                         f"channels but the BatchNorm has num_features={bn.num_features}")
    if not bn.track_running_stats:
        raise ValueError("cannot fuse a BatchNorm without running statistics "
                         "(track_running_stats=False): its output depends on the batch")
    gamma, beta = (bn.weight.data, bn.bias.data) if bn.affine else (None, None)
    scale, shift = eval_scale_shift(bn.running_mean.data, bn.running_var.data, bn.eps, gamma, beta)
    # scale and shift are float64: the products are, and are rounded once to the layer's dtype
    per_row = scale.reshape((-1,) + (1,) * (layer.weight.ndim - 1))
    bias = shift if layer.bias is None else scale * layer.bias.data + shift
    dtype = layer.weight.dtype
    return (per_row * layer.weight.data).astype(dtype), bias.astype(dtype)


def _fold(layer, bn):
    weight, bias = folded_weights(layer, bn)
    fused = copy.deepcopy(layer).eval()
    fused.weight, fused.bias = Parameter(weight), Parameter(bias)
    return fused


def fuse_conv_bn(conv, bn):
    """A new Conv2d equal to `bn(conv(x))` with bn in eval mode (up to rounding)."""
    return _fold(conv, bn)


def fuse_linear_bn(linear, bn):
    """A new Linear equal to `bn(linear(x))` with bn (BatchNorm1d) in eval mode."""
    return _fold(linear, bn)


def fuse_sequential(model):
    """A copy of a Sequential where every Conv2d/Linear directly followed by a
    BatchNorm is replaced by one fused layer (for evaluation only); a second BatchNorm
    after it folds into the fused layer too."""
    from minigrad.nn.batchnorm import BatchNorm1d, BatchNorm2d
    from minigrad.nn.conv import Conv2d
    from minigrad.nn.linear import Linear
    from minigrad.nn.module import Sequential

    layers = []
    for module in model:
        last = layers[-1] if layers else None
        if isinstance(last, Conv2d) and isinstance(module, BatchNorm2d):
            layers[-1] = fuse_conv_bn(last, module)
        elif isinstance(last, Linear) and isinstance(module, BatchNorm1d):
            layers[-1] = fuse_linear_bn(last, module)
        elif isinstance(module, Sequential):
            layers.append(fuse_sequential(module))
        else:
            layers.append(copy.deepcopy(module))
    return Sequential(*layers).eval()


# ---------------------------------------------------------------- the fast backend's plan
# On the fast backend Sequential runs its layers through `run_fused`, which
# rewrites three patterns into cheaper ones with the same values and gradients:
#
# * ReLU then MaxPool2d -> one max-pool that applies the ReLU to its output
#   (F.max_pool2d's relu=True). relu is monotone, so the max of a window's relus
#   is the relu of its max, and both send the gradient to the same element (the
#   first maximum, when it is positive); the ReLU costs no pass and no kernel of
#   its own (the ReLU module is not called; the MaxPool2d module is).
# * BatchNorm1d/2d using batch statistics (training) then ReLU -> one BN with relu=True:
#   the ReLU is written with y, and its mask applied inside BN's backward (the
#   ReLU module is not called; the BN module is). Before a MaxPool2d the ReLU goes
#   into the pool instead: it then touches a quarter of the values.
# * Conv2d then an eval-mode BatchNorm2d, under no_grad -> one convolution
#   with the folded weights of `folded_weights` (computed per call, so it
#   always sees the current parameters): a pass over the activations saved.
#
# Modules with forward hooks are left alone (a hook must see its own module's
# output). `enabled` is None by default: the rewrites run on the fast backend
# only, so the numpy backend, the reference a learner reads, runs the layers as
# written; True or False forces them on or off (the tests compare the two).

enabled = None


@functools.cache
def _layer_types():
    """The five layer classes the rewrites match (imported once, at the first forward: nn
    imports this module before it defines them)."""
    from minigrad.nn import BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d, ReLU
    return BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d, ReLU


def _rewrite(layer, follower, after=None):
    """The rewrite that applies to two neighbouring layers (`after` follows them): "relu
    into pool" (the ReLU into the max-pool), "relu into bn", "fold" or None."""
    BatchNorm1d, BatchNorm2d, Conv2d, MaxPool2d, ReLU = _layer_types()
    if follower is None or layer._forward_hooks or follower._forward_hooks:
        return None
    if type(layer) is ReLU and type(follower) is MaxPool2d:
        return "relu into pool"
    if (type(layer) in (BatchNorm1d, BatchNorm2d) and type(follower) is ReLU
            and (layer.training or not layer.track_running_stats)
            and _rewrite(follower, after) != "relu into pool"):
        return "relu into bn"
    if (type(layer) is Conv2d and type(follower) is BatchNorm2d and not follower.training
            and follower.track_running_stats and not autograd.is_grad_enabled()):
        return "fold"
    return None


def run_fused(modules, x):
    """Sequential's forward: `modules` in order, on the fast backend with the rewrites above."""
    modules, i, plan = list(modules) + [None, None], 0, uses_plan()
    while modules[i] is not None:
        layer, follower = modules[i], modules[i + 1]
        rewrite = _rewrite(layer, follower, modules[i + 2]) if plan else None
        if rewrite == "relu into pool":
            x = follower(x, relu=True)   # the pool's module call, for hooks and drawings
        elif rewrite == "relu into bn":
            x = layer(x, relu=True)
        elif rewrite == "fold":
            weight, bias = folded_weights(layer, follower)
            x = F.conv2d(x, Tensor(weight), Tensor(bias), layer.stride, layer.padding,
                         layer.dilation, layer.groups)
        else:
            x = layer(x)
        i += 1 if rewrite is None else 2
    return x


def uses_plan() -> bool:
    """Whether Sequential applies the rewrites: `enabled`, or when None, the fast backend's on."""
    return kernels.get_backend() == "numba" if enabled is None else enabled
