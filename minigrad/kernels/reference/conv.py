"""2-D convolution on plain arrays, in plain numpy: im2col + one matrix product.

Layouts follow PyTorch: x (N, C, H, W), weight (O, C, kh, kw), bias (O,),
out (N, O, OH, OW). kernel, stride, padding and dilation are pairs (the caller
normalises ints to pairs). Every function keeps the input's dtype.

The column matrix has one row per (channel, kernel offset) and one column per
output position, taken over the whole batch:

    cols[(c, i, j), (n, oh, ow)] = x_padded[n, c, oh*sh + i*dh, ow*sw + j*dw]
    cols: (C*kh*kw, N*OH*OW)

so that the three products of a convolution are single matrix products:

    forward      y2  = W2 @ cols          (O, C*kh*kw) @ (C*kh*kw, N*L) -> (O, N*L)
    weight grad  dW2 = dy2 @ cols.T       (O, N*L) @ (N*L, C*kh*kw)
    input grad   dcols = W2.T @ dy2       (C*kh*kw, O) @ (O, N*L), then col2im

where L = OH*OW. The product comes out in (O, N, L) order, the output is
(N, O, L): one transpose each way.
"""
import numpy as np

from minigrad.kernels.shapes import conv2d_check, conv_output_size


def im2col(x, kernel, stride, padding, dilation):
    """x (N, C, H, W) -> cols (C*kh*kw, N*OH*OW).

    Loops over the kh*kw kernel offsets; each offset copies one strided slice
    of the zero-padded input into its rows of cols.
    """
    N, C, H, W = x.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    OH = conv_output_size(H, kh, sh, ph, dh)
    OW = conv_output_size(W, kw, sw, pw, dw)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    cols = np.empty((C, kh, kw, N, OH, OW), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            h0, w0 = i * dh, j * dw
            patch = xp[:, :, h0:h0 + sh * (OH - 1) + 1:sh, w0:w0 + sw * (OW - 1) + 1:sw]
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)          # (C, N, OH, OW)
    return cols.reshape(C * kh * kw, N * OH * OW)


def col2im(cols, x_shape, kernel, stride, padding, dilation):
    """The adjoint of im2col: cols (C*kh*kw, N*OH*OW) -> dx (N, C, H, W).

    Each kernel offset adds its rows back onto a strided slice of a padded
    buffer; values that fall on the padding are dropped at the end.
    """
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    OH = conv_output_size(H, kh, sh, ph, dh)
    OW = conv_output_size(W, kw, sw, pw, dw)
    cols = cols.reshape(C, kh, kw, N, OH, OW)
    dxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        for j in range(kw):
            h0, w0 = i * dh, j * dw
            dxp[:, :, h0:h0 + sh * (OH - 1) + 1:sh, w0:w0 + sw * (OW - 1) + 1:sw] += \
                cols[:, i, j].transpose(1, 0, 2, 3)
    return np.ascontiguousarray(dxp[:, :, ph:ph + H, pw:pw + W])


def conv2d_forward(x, weight, bias, stride, padding, dilation):
    """x (N, C, H, W), weight (O, C, kh, kw), bias (O,) or None -> (out (N, O, OH, OW), cache).

    x, weight and bias must share one float dtype. cache is
    (cols, x_shape, weight, has_bias, stride, padding, dilation). The fast backend's
    cache has the same layout but may hold x instead of cols in its first place
    (it rebuilds the columns in blocks), so a cache goes back to the backend that
    made it: switch backends between a forward and its backward and the conv backward
    fails (a shape error), it is not silently wrong.
    """
    OH, OW = conv2d_check(x, weight, bias, stride, padding, dilation)
    N = x.shape[0]
    O = weight.shape[0]
    stride, padding, dilation = tuple(stride), tuple(padding), tuple(dilation)
    cols = im2col(x, weight.shape[2:], stride, padding, dilation)
    y2 = weight.reshape(O, -1) @ cols                            # (O, N*OH*OW)
    out = np.ascontiguousarray(y2.reshape(O, N, OH, OW).transpose(1, 0, 2, 3))
    if bias is not None:
        out += bias[None, :, None, None]
    cache = (cols, x.shape, weight, bias is not None, stride, padding, dilation)
    return out, cache


def conv2d_backward(dy, cache, need_dx=True):
    """dy (N, O, OH, OW) -> (dx (N, C, H, W) or None, dweight (O, C, kh, kw), dbias (O,) or None).

    dx is None when need_dx is False (e.g. the first layer); dbias is None
    when the forward had no bias.
    """
    cols, x_shape, weight, has_bias, stride, padding, dilation = cache
    O = weight.shape[0]
    dy = np.asarray(dy, dtype=cols.dtype)
    dy2 = dy.transpose(1, 0, 2, 3).reshape(O, -1)                # (O, N*OH*OW)
    dweight = (dy2 @ cols.T).reshape(weight.shape)
    dbias = dy.sum(axis=(0, 2, 3), dtype=np.float64).astype(dy.dtype) if has_bias else None
    dx = None
    if need_dx:
        dcols = weight.reshape(O, -1).T @ dy2                    # (C*kh*kw, N*OH*OW)
        dx = col2im(dcols, tuple(x_shape), weight.shape[2:], stride, padding, dilation)
    return dx, dweight, dbias
