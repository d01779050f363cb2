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

from minigrad.nn.parameter import Parameter
from minigrad.ops.batchnorm import eval_scale_shift


def _fold(layer, bn, kind):
    out_features = layer.weight.shape[0]
    if bn.num_features != out_features:
        raise ValueError(f"cannot fuse: the {kind} has {out_features} output channels "
                         f"but the BatchNorm has num_features={bn.num_features}")
    if not bn.track_running_stats:
        raise ValueError("cannot fuse a BatchNorm without running statistics "
                         "(track_running_stats=False): its output depends on the batch")
    gamma, beta = (bn.weight.data, bn.bias.data) if bn.affine else (None, None)
    scale, shift = eval_scale_shift(bn.running_mean.data, bn.running_var.data, bn.eps, gamma, beta)
    # scale and shift are float64: the products are, and are rounded once to the layer's dtype
    fused = copy.deepcopy(layer).eval()
    per_row = scale.reshape((-1,) + (1,) * (layer.weight.ndim - 1))
    fused.weight = Parameter((per_row * layer.weight.data).astype(layer.weight.dtype))
    bias = shift if layer.bias is None else scale * layer.bias.data + shift
    fused.bias = Parameter(bias.astype(layer.weight.dtype))
    return fused


def fuse_conv_bn(conv, bn):
    """A new Conv2d equal to `bn(conv(x))` with bn in eval mode (up to rounding)."""
    return _fold(conv, bn, "Conv2d")


def fuse_linear_bn(linear, bn):
    """A new Linear equal to `bn(linear(x))` with bn (BatchNorm1d) in eval mode."""
    return _fold(linear, bn, "Linear")


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
