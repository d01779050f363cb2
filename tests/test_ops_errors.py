"""Bad input to the ops added for breadth (issue 14): each raises a clear error,
of the right type, naming what was expected and what was given."""
import numpy as np
import pytest

import minigrad
import minigrad.nn as nn
import minigrad.nn.functional as F

x34 = minigrad.randn(3, 4)
img = minigrad.randn(1, 4, 5, 5)

CASES = [
    # (call, exception type, message pattern)
    (lambda: minigrad.where(np.ones((3, 4)), x34, 0.0), TypeError, "boolean mask"),
    (lambda: minigrad.where(x34.data > 0, 1.0, 2.0), TypeError, "Tensor as input or other"),
    (lambda: minigrad.where(np.ones(5, bool), x34, 0.0), ValueError, r"condition \(5,\).*cannot be broadcast"),
    (lambda: x34.masked_fill(np.ones((3, 4)), 0.0), TypeError, "boolean mask"),
    (lambda: x34.masked_fill(np.ones((2, 3, 4), bool), 0.0), ValueError, "does not broadcast to the input"),
    (lambda: x34.masked_fill(np.ones((3, 4), bool), np.ones(2)), ValueError, "number or a 0-d tensor"),
    (lambda: x34.gather(1, np.zeros((3, 2))), TypeError, "integer index"),
    (lambda: x34.gather(1, np.zeros(3, int)), ValueError, "1 dimensions but the input"),
    (lambda: x34.gather(1, np.full((3, 2), 4)), IndexError, "index 4 is out of range for dimension 1 of size 4"),
    (lambda: x34.gather(1, np.full((3, 2), -1)), IndexError, "index -1 is out of range"),
    (lambda: x34.gather(0, np.zeros((3, 5), int)), ValueError, "larger than the input"),
    (lambda: x34.gather(2, np.zeros((3, 4), int)), IndexError, "axis 2 is out of range"),
    (lambda: minigrad.randn(4).tril(), ValueError, "at least 2 dimensions"),
    (lambda: minigrad.randn(4).triu(), ValueError, "at least 2 dimensions"),
    (lambda: x34.expand(4), ValueError, "1 sizes"),
    (lambda: x34.expand(3, 5), ValueError, "size 5 at dimension 1 does not match 4"),
    (lambda: x34.expand(-1, 3, 4), ValueError, "sizes must be >= 0"),
    (lambda: x34.repeat(2), ValueError, "1 repeats"),
    (lambda: x34.repeat(2, -1), ValueError, "repeats must be >= 0"),
    (lambda: x34.flip((0, 0)), ValueError, "repeated axis"),
    (lambda: x34.flip(3), IndexError, "out of range"),
    (lambda: x34.cumsum(2), IndexError, "out of range"),
    (lambda: minigrad.zeros(0).min(), ValueError, "min of an empty tensor"),
    (lambda: x34.argmin((0, 1)), ValueError, "single axis"),
    (lambda: x34.std(dim=0, keepdim=True).std(dim=0), ValueError, "at least 2 values"),
    (lambda: minigrad.arange(3).erf(), TypeError, "float tensor"),
    (lambda: minigrad.eye(-1), ValueError, "n must be an int >= 0"),
    (lambda: minigrad.eye(2, 2.5), ValueError, "m must be an int"),
    (lambda: x34 ** "2", TypeError, "real number or a tensor"),
    (lambda: x34 ** minigrad.randn(5), ValueError, r"pow: shapes \(3, 4\) and \(5,\)"),
    # activations
    (lambda: F.leaky_relu(minigrad.arange(3)), TypeError, "leaky_relu needs a float tensor"),
    (lambda: F.leaky_relu(x34, "0.1"), TypeError, "negative_slope must be a real number"),
    (lambda: F.gelu(x34, approximate="erf"), ValueError, "approximate must be one of"),
    (lambda: F.elu(x34, alpha=None), TypeError, "alpha must be a real number"),
    (lambda: F.softplus(x34, beta=0), ValueError, "beta must be non-zero"),
    (lambda: F.hardtanh(x34, 1.0, -1.0), ValueError, "min_val .* is greater than max_val"),
    (lambda: F.silu(minigrad.arange(3)), TypeError, "float tensor"),
    # losses
    (lambda: F.binary_cross_entropy(x34.sigmoid(), np.ones(4)), ValueError, "must have the input's shape"),
    (lambda: F.binary_cross_entropy(x34, np.ones((3, 4))), ValueError, r"probability in \[0, 1\]"),
    (lambda: F.binary_cross_entropy(x34.sigmoid(), np.ones((3, 4)), reduction="avg"), ValueError,
     "reduction must be one of"),
    (lambda: F.binary_cross_entropy(x34.sigmoid(), np.ones((3, 4)), np.ones(5)), ValueError,
     "weight of shape"),
    (lambda: F.binary_cross_entropy_with_logits(x34, np.ones((3, 4)), pos_weight=np.ones(3)), ValueError,
     "pos_weight of shape"),
    (lambda: F.binary_cross_entropy_with_logits(minigrad.arange(3), np.ones(3)), TypeError, "float input"),
    (lambda: F.cross_entropy(x34, np.array([0, 4, -100])), IndexError, "target 4 .* or ignore_index=-100"),
    (lambda: F.cross_entropy(x34, np.array([0, -1, 1])), IndexError, "target -1"),
    (lambda: F.cross_entropy(x34, np.array([0, 1, 1]), label_smoothing=1.5), ValueError,
     r"label_smoothing must be a number in \[0, 1\]"),
    (lambda: F.nll_loss(x34, np.array([0, 1, 1]), ignore_index=0.5), TypeError, "ignore_index must be an int"),
    (lambda: nn.CrossEntropyLoss(weight=np.ones(4)), NotImplementedError, "per-class weight"),
    # convolutions and pooling
    (lambda: F.conv2d(img, minigrad.randn(6, 2, 3, 3), groups=3), ValueError, "groups=3 expects 6 input"),
    (lambda: F.conv2d(img, minigrad.randn(5, 2, 3, 3), groups=2), ValueError, "groups=2 must divide"),
    (lambda: F.conv2d(img, minigrad.randn(4, 4, 3, 3), groups=0), ValueError, "groups must be a positive int"),
    (lambda: F.conv2d(img, minigrad.randn(4, 4, 3, 3), padding="full"), ValueError, "padding must be"),
    (lambda: F.conv2d(img, minigrad.randn(4, 4, 3, 3), stride=2, padding="same"), ValueError,
     "padding='same' needs stride 1"),
    (lambda: F.conv1d(img, minigrad.randn(4, 4, 3)), ValueError, "3-D input"),
    (lambda: F.conv1d(minigrad.randn(1, 4, 5), minigrad.randn(4, 4, 3), stride=(1, 2)), TypeError,
     "stride must be an int"),
    (lambda: F.conv_transpose2d(img, minigrad.randn(3, 2, 3, 3)), ValueError, "input has 4 channels"),
    (lambda: F.conv_transpose2d(img, minigrad.randn(4, 2, 3, 3), output_padding=1), ValueError,
     "output_padding .* must be smaller than stride"),
    (lambda: F.conv_transpose2d(img, minigrad.randn(4, 2, 1, 1), padding=3), ValueError, "the output would be"),
    (lambda: F.conv_transpose2d(img, minigrad.randn(4, 2, 3, 3), minigrad.randn(3)), ValueError,
     "bias of shape"),
    (lambda: F.adaptive_avg_pool2d(minigrad.randn(5, 5), 2), ValueError, "3-D or 4-D input"),
    (lambda: F.adaptive_avg_pool2d(img, 0), ValueError, "output_size must be >= 1"),
    (lambda: F.adaptive_avg_pool2d(img, (2, 2, 2)), TypeError, "output_size must be an int or a pair"),
    (lambda: nn.Conv2d(4, 6, 3, groups=4), ValueError, "must be >= 1 and divide"),
    (lambda: nn.Conv2d(4, 6, 3, stride=2, padding="same"), ValueError, "needs stride 1"),
    (lambda: nn.ConvTranspose2d(4, 6, 3, padding="same"), ValueError, "padding must be an int or a pair"),
    (lambda: nn.Conv1d(4, 6, (3, 3)), TypeError, "kernel_size must be an int"),
]


@pytest.mark.parametrize("call, error, pattern", CASES, ids=[f"{i}-{c[2][:30]}" for i, c in enumerate(CASES)])
def test_bad_input_raises_a_clear_error(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
