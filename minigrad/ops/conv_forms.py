"""The other forms of convolution, composed from the one conv2d op (ops/conv.py):
groups, padding='same' / 'valid', conv1d and conv_transpose2d. Autograd derives
their backward from conv2d's, getitem's, pad's and cat's.

    conv2d           x (N, C, H, W), weight (O, C / groups, kh, kw) -> (N, O, OH, OW)
    conv1d           x (N, C, L), weight (O, C / groups, k) -> (N, O, OL)
    conv_transpose2d x (N, C, H, W), weight (C, O / groups, kh, kw) -> (N, O, OH, OW),
                     OH = (H - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1
"""
from minigrad.ops import conv as core
from minigrad.ops.common import check_bias, int_tuple, is_int
from minigrad.ops.shape import cat, flip, pad, permute, reshape, squeeze, unsqueeze

PADDING_STRINGS = ("same", "valid")


def _check_ranks(op, x, weight, rank):
    """The input and the weight both `rank`-D (their layouts: the docstrings above)."""
    if x.ndim != rank or weight.ndim != rank:
        raise ValueError(f"{op} expects a {rank}-D input and a {rank}-D weight, got shapes "
                         f"{x.shape} and {weight.shape}")


def _checked_groups(op, x, weight, groups, in_axis):
    """groups, a positive int that divides the input channels and the weight's dimension 0,
    with input channels that match the weight (x, weight: 4-D; in_axis: the weight's axis
    of input channels, 1 for a convolution, 0 for a transposed one)."""
    if not is_int(groups) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    in_per_group = weight.shape[in_axis] * (groups if in_axis == 1 else 1)
    if x.shape[1] != in_per_group:
        raise ValueError(f"{op}: input has {x.shape[1]} channels but the weight {weight.shape} "
                         f"with groups={groups} expects {in_per_group} input channels")
    if weight.shape[0] % groups or x.shape[1] % groups:
        raise ValueError(f"{op}: groups={groups} must divide both the input channels "
                         f"({x.shape[1]}) and the weight's dimension 0 ({weight.shape[0]})")
    return int(groups)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution with PyTorch's full argument list; padding an int, a pair,
    'valid' (none) or 'same' (stride 1 only; an even kernel pads one more at the end).
    The ranks, channels and bias are checked here; ops/conv.py::conv2d checks the rest."""
    _check_ranks("conv2d", x, weight, 4)
    groups = _checked_groups("conv2d", x, weight, groups, in_axis=1)
    check_bias("conv2d", bias, weight.shape[0], "output channels")
    if isinstance(padding, str):
        if padding not in PADDING_STRINGS:
            raise ValueError("conv2d: padding must be an int, a pair or one of "
                             f"{PADDING_STRINGS}, got {padding!r}")
        totals = [0, 0]
        if padding == "same":        # PyTorch's: dilation * (k - 1) in all, the odd one at the end
            if int_tuple(stride, "conv2d: stride") != (1, 1):
                raise ValueError(f"conv2d: padding='same' needs stride 1, got stride={stride}")
            dilations = int_tuple(dilation, "conv2d: dilation")
            totals = [d * (k - 1) for k, d in zip(weight.shape[2:], dilations)]
        before, after = [t // 2 for t in totals], [t - t // 2 for t in totals]
        padding = tuple(before)
        if before != after:          # asymmetric: pad explicitly, then convolve unpadded
            x, padding = pad(x, (before[1], after[1], before[0], after[0])), 0
    if groups == 1:
        return core.conv2d(x, weight, bias, stride, padding, dilation)
    c_in, c_out = x.shape[1] // groups, weight.shape[0] // groups
    outputs = [core.conv2d(x[:, g * c_in:(g + 1) * c_in], weight[g * c_out:(g + 1) * c_out],
                           None if bias is None else bias[g * c_out:(g + 1) * c_out],
                           stride, padding, dilation) for g in range(groups)]
    return cat(outputs, dim=1)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution as a 2-D one over a height-1 image: x (N, C, L) -> (N, O, OL)."""
    _check_ranks("conv1d", x, weight, 3)
    stride = (1,) + int_tuple(stride, "conv1d: stride", length=1)
    dilation = (1,) + int_tuple(dilation, "conv1d: dilation", length=1)
    if not isinstance(padding, str):
        padding = (0,) + int_tuple(padding, "conv1d: padding", length=1)
    return squeeze(conv2d(unsqueeze(x, 2), unsqueeze(weight, 2), bias, stride, padding,
                          dilation, groups), 2)


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """The gradient of conv2d with respect to its input, as a layer (PyTorch's argument order).

    Composed: put stride - 1 zeros after each of the input's pixels, pad by
    dilation * (k - 1) - padding (cropping where that is negative; output_padding
    more, and the trailing stride - 1 zeros fewer, at the bottom/right), then
    conv2d with the weight flipped in space and its in/out axes swapped per group.
    """
    stride = int_tuple(stride, "conv_transpose2d: stride", at_least=1)
    padding = int_tuple(padding, "conv_transpose2d: padding", at_least=0)
    output_padding = int_tuple(output_padding, "conv_transpose2d: output_padding", at_least=0)
    dilation = int_tuple(dilation, "conv_transpose2d: dilation", at_least=1)
    _check_ranks("conv_transpose2d", x, weight, 4)
    groups = _checked_groups("conv_transpose2d", x, weight, groups, in_axis=0)
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(f"conv_transpose2d: output_padding {output_padding} must be smaller "
                         f"than stride {stride} or dilation {dilation}")
    n, c, h, w = x.shape
    kernel = weight.shape[2:]
    sizes = [(i - 1) * s - 2 * p + d * (k - 1) + o + 1 for i, s, p, d, k, o in
             zip((h, w), stride, padding, dilation, kernel, output_padding)]
    if min(sizes) < 1:
        raise ValueError(f"conv_transpose2d: the output would be {tuple(sizes)} for input "
                         f"{x.shape}, kernel {tuple(kernel)}, stride {stride}, padding {padding}")
    check_bias("conv_transpose2d", bias, weight.shape[1] * groups, "output channels")
    z = x
    if stride != (1, 1):
        z = pad(reshape(x, (n, c, h, 1, w, 1)), (0, stride[1] - 1, 0, 0, 0, stride[0] - 1))
        z = reshape(z, (n, c, h * stride[0], w * stride[1]))
    widths, crops = [], []
    for axis, (s, p, d, k, o) in enumerate(zip(stride, padding, dilation, kernel, output_padding)):
        before, after = d * (k - 1) - p, d * (k - 1) - p + o - (s - 1)
        widths[:0] = [max(before, 0), max(after, 0)]     # pad lists the last axis first
        crops.append(slice(max(-before, 0), z.shape[2 + axis] - max(-after, 0)))
    z = pad(z[:, :, crops[0], crops[1]], widths)
    c_in, c_out = weight.shape[0] // groups, weight.shape[1]
    swapped = permute(reshape(weight, (groups, c_in, c_out) + tuple(kernel)), 0, 2, 1, 3, 4)
    flipped = flip(reshape(swapped, (groups * c_out, c_in) + tuple(kernel)), (2, 3))
    return conv2d(z, flipped, bias, 1, 0, dilation, groups)
