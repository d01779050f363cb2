"""The other forms of convolution, composed from the one conv2d op (ops/conv.py):
groups, padding='same' / 'valid', conv1d and conv_transpose2d. Autograd derives
their backward from conv2d's, getitem's, pad's and cat's.

    conv2d           x (N, C, H, W), weight (O, C / groups, kh, kw) -> (N, O, OH, OW)
    conv1d           x (N, C, L), weight (O, C / groups, k) -> (N, O, OL)
    conv_transpose2d x (N, C, H, W), weight (C, O / groups, kh, kw) -> (N, O, OH, OW),
                     OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1
"""
from minigrad.ops import conv as core
from minigrad.ops.common import is_int, pair
from minigrad.ops.shape import cat, flip, pad, permute, reshape, squeeze, unsqueeze

PADDING_STRINGS = ("same", "valid")


def _positive_int(value, name):
    if not is_int(value) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_groups(op, x, weight, groups, in_axis, out_axis):
    """in_channels and out_channels must both divide into `groups` (x, weight: 4-D)."""
    in_per_group = weight.shape[in_axis] * (groups if in_axis == 1 else 1)
    if x.shape[1] != in_per_group:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but the weight {weight.shape} with "
                         f"groups={groups} expects {in_per_group} input channels")
    if weight.shape[out_axis] % groups or x.shape[1] % groups:
        raise ValueError(f"{op}: groups={groups} must divide both the input channels ({x.shape[1]}) "
                         f"and the weight's dimension {out_axis} ({weight.shape[out_axis]})")


def _same_padding(kernel, dilation):
    """PyTorch's 'same': total dilation*(k-1), the odd one extra at the end (bottom/right)."""
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    return [(t // 2, t - t // 2) for t in total]


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution with PyTorch's full argument list; padding an int, a pair,
    'valid' (none) or 'same' (stride 1 only; an even kernel pads one more at the end)."""
    groups = _positive_int(groups, "conv2d: groups")
    if x.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D input (N, C, H, W), got shape {x.shape}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d expects a 4-D weight (out_channels, in_channels / groups, kh, kw), "
                         f"got shape {weight.shape}")
    _check_groups("conv2d", x, weight, groups, in_axis=1, out_axis=0)
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError(f"conv2d: padding must be an int, a pair or one of {PADDING_STRINGS}, "
                             f"got {padding!r}")
        if padding == "same" and pair(stride, "stride") != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride={stride}")
        widths = [(0, 0), (0, 0)] if padding == "valid" else \
            _same_padding(weight.shape[2:], pair(dilation, "dilation"))
        if all(before == after for before, after in widths):
            padding = (widths[0][0], widths[1][0])
        else:                       # asymmetric: pad explicitly, then convolve unpadded
            (top, bottom), (left, right) = widths
            x, padding = pad(x, (left, right, top, bottom)), 0
    if groups == 1:
        return core.conv2d(x, weight, bias, stride, padding, dilation)
    c_in, c_out = x.shape[1] // groups, weight.shape[0] // groups
    outputs = [core.conv2d(x[:, g * c_in:(g + 1) * c_in], weight[g * c_out:(g + 1) * c_out],
                           None if bias is None else bias[g * c_out:(g + 1) * c_out],
                           stride, padding, dilation) for g in range(groups)]
    return cat(outputs, dim=1)


def _single(value, name):
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not is_int(value):
        raise TypeError(f"conv1d: {name} must be an int, got {value!r}")
    return int(value)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution as a 2-D one over a height-1 image: x (N, C, L) -> (N, O, OL)."""
    if x.ndim != 3 or weight.ndim != 3:
        raise ValueError(f"conv1d expects a 3-D input (N, C, L) and weight (O, C / groups, k), "
                         f"got shapes {x.shape} and {weight.shape}")
    stride, dilation = _single(stride, "stride"), _single(dilation, "dilation")
    padding = padding if isinstance(padding, str) else (0, _single(padding, "padding"))
    out = conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, (1, stride), padding, (1, dilation), groups)
    return squeeze(out, 2)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1):
    """The gradient of conv2d with respect to its input, as a layer (PyTorch's argument order).

    Composed: put stride - 1 zeros between the input's pixels, pad by
    dilation * (k - 1) - padding (cropping where that is negative; output_padding
    more at the bottom/right), then conv2d with the weight flipped in space and
    its in/out axes swapped per group.
    """
    groups = _positive_int(groups, "conv_transpose2d: groups")
    stride, padding = pair(stride, "stride"), pair(padding, "padding")
    output_padding, dilation = pair(output_padding, "output_padding"), pair(dilation, "dilation")
    if x.ndim != 4 or weight.ndim != 4:
        raise ValueError(f"conv_transpose2d expects a 4-D input and weight, got shapes {x.shape} "
                         f"and {weight.shape}")
    _check_groups("conv_transpose2d", x, weight, groups, in_axis=0, out_axis=0)
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0 or min(output_padding) < 0:
        raise ValueError(f"conv_transpose2d: stride {stride} and dilation {dilation} must be >= 1, "
                         f"padding {padding} and output_padding {output_padding} >= 0")
    for op_, s, d in zip(output_padding, stride, dilation):
        if op_ >= s and op_ >= d:
            raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller than "
                             f"stride {stride} or dilation {dilation}")
    n, c, h, w = x.shape
    kernel = weight.shape[2:]
    sizes = [(i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
             zip((h, w), stride, padding, dilation, kernel, output_padding)]
    if min(sizes) < 1:
        raise ValueError(f"conv_transpose2d: the output would be {tuple(sizes)} for input {x.shape}, "
                         f"kernel {tuple(kernel)}, stride {stride}, padding {padding}")
    if bias is not None and bias.shape != (weight.shape[1] * groups,):
        raise ValueError(f"conv_transpose2d: bias of shape {bias.shape} does not match "
                         f"{weight.shape[1] * groups} output channels")
    z = x
    if stride != (1, 1):
        sh, sw = stride
        z = pad(reshape(z, (n, c, h, 1, w, 1)), (0, sw - 1, 0, 0, 0, sh - 1))
        z = reshape(z, (n, c, h * sh, w * sw))[:, :, :(h - 1) * sh + 1, :(w - 1) * sw + 1]
    widths, crops = [], []
    for p, d, k, o in zip(padding, dilation, kernel, output_padding):
        before, after = d * (k - 1) - p, d * (k - 1) - p + o
        widths.append((max(before, 0), max(after, 0)))
        crops.append(slice(max(-before, 0), z.shape[2 + len(crops)] - max(-after, 0)))
    (top, bottom), (left, right) = widths
    z = pad(z[:, :, crops[0], crops[1]], (left, right, top, bottom))
    c_in, c_out = weight.shape[0] // groups, weight.shape[1]
    swapped = permute(reshape(weight, (groups, c_in, c_out) + tuple(kernel)), 0, 2, 1, 3, 4)
    flipped = flip(reshape(swapped, (groups * c_out, c_in) + tuple(kernel)), (2, 3))
    return conv2d(z, flipped, bias, 1, 0, dilation, groups)
