"""The models the examples, benchmarks and tests share.

`mnist_cnn` is the main example's network: two blocks of
Conv2d -> BatchNorm2d -> ReLU -> MaxPool2d, then a linear classifier.
Its options are the knobs the BatchNorm studies turn.
"""
from minigrad import nn

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
# norm= -> its layer of (channels, groups, map size), placed where BN would be
NORM_LAYERS = {"batch": lambda channels, groups, size: nn.BatchNorm2d(channels),
               "group": lambda channels, groups, size: nn.GroupNorm(groups, channels),
               "layer": lambda channels, groups, size: nn.LayerNorm((channels, size, size)),
               "none": None}
NORMS = tuple(NORM_LAYERS)


def conv_block(in_channels, out_channels, batch_norm=True, activation="relu",
               bn_position="before", dropout=0.0, norm=None, groups=4, size=None):
    """Conv2d(3x3) -> [BN] -> activation -> MaxPool2d(2): (N, in, H, W) -> (N, out, H/2, W/2).

    bn_position="before" puts BN between the convolution and its activation
    (the usual place, and the paper's); "after" puts it after the activation.
    With BN the convolution has no bias: BN's beta takes its place.

    norm (overrides batch_norm): "batch", "group" (GroupNorm with `groups`
    groups), "layer" (LayerNorm over (C, H, W) of the size x size map), or
    "none"; placed where BN would be, and the convolution again has no bias.
    """
    norm = norm or ("batch" if batch_norm else "none")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if bn_position not in ("before", "after"):
        raise ValueError(f"bn_position must be 'before' or 'after', got {bn_position!r}")
    conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=norm == "none")
    normalize = [NORM_LAYERS[norm](out_channels, groups, size)] if norm != "none" else []
    act = [ACTIVATIONS[activation]()]
    middle = normalize + act if bn_position == "before" else act + normalize
    return [conv, *middle, nn.MaxPool2d(2)] + ([nn.Dropout(dropout)] if dropout else [])


def mnist_cnn(batch_norm=True, widths=(16, 32), activation="relu", bn_position="before",
              dropout=0.0, num_classes=10, in_channels=1, image_size=28, norm=None, groups=4):
    """(N, 1, 28, 28) images -> (N, 10) logits.

    Default: Conv(1->16)-BN-ReLU-Pool, Conv(16->32)-BN-ReLU-Pool, Flatten, Linear(1568->10).
    A flat Sequential, so that layers are named 0, 1, 2, ... as in PyTorch.
    norm / groups: the normalization layer of each block (see conv_block).
    """
    layers, channels, size = [], in_channels, image_size
    for width in widths:
        layers += conv_block(channels, width, batch_norm, activation, bn_position, dropout,
                             norm, groups, size)
        channels, size = width, size // 2
    layers += [nn.Flatten(), nn.Linear(channels * size * size, num_classes)]
    return nn.Sequential(*layers)
