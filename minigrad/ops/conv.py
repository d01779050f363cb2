"""The convolution as an op: one Function, so a layer is one node of the graph,
whose forward makes one BLAS call and whose backward makes one per gradient
(the weight's, and the input's unless it needs none). The arithmetic lives in
minigrad/kernels/*/conv.py (im2col + matrix product); this file checks the
arguments, normalises ints to (h, w) pairs and links the kernels to autograd.

Every check runs before any work, and errors name the numbers involved.
"""
from minigrad.autograd import Function
from minigrad.ops.common import check_same_float_dtype, check_window_fits, int_tuple
from minigrad.kernels import conv as conv_kernels


# ---------------------------------------------------------------- conv2d

class Conv2d(Function):
    """2-D cross-correlation, PyTorch's layout.

    x: (N, C, H, W), weight: (O, C, kh, kw), bias: (O,) -> (N, O, OH, OW) with
    OH = floor((H + 2*ph - dh*(kh-1) - 1) / sh) + 1 (and likewise OW).
    """

    def forward(self, x, weight, bias=None, *, stride, padding, dilation):
        out, cache = conv_kernels.conv2d_forward(x, weight, bias, stride, padding, dilation)
        # The kernel's cache is (columns or x, x shape, weight, flags...): the two
        # arrays are saved (and version-checked), the small rest kept as is.
        self.save_for_backward(cache[0], cache[2])
        self.cache_rest = cache[1:2] + cache[3:]
        return out

    def backward(self, grad):
        cols, weight = self.saved_arrays
        cache = (cols, self.cache_rest[0], weight) + self.cache_rest[1:]
        dx, dweight, dbias = conv_kernels.conv2d_backward(grad, cache,
                                                          need_dx=self.needs_input_grad[0])
        return (dx, dweight, dbias)[:len(self.needs_input_grad)]      # no bias: no dbias


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """x (N, C, H, W) conv weight (O, C, kh, kw) [+ bias (O,)] -> (N, O, OH, OW).

    Reached through conv_forms.conv2d, the public door, which has checked the
    ranks, the channels (for every group) and the bias; this checks the rest.
    """
    stride = int_tuple(stride, "conv2d: stride", at_least=1)
    padding = int_tuple(padding, "conv2d: padding", at_least=0)
    dilation = int_tuple(dilation, "conv2d: dilation", at_least=1)
    check_same_float_dtype("conv2d", input=x, weight=weight, bias=bias)
    check_window_fits("conv2d", x.shape, weight.shape[2:], padding, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2d.apply(*inputs, stride=stride, padding=padding, dilation=dilation)
