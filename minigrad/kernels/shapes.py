"""Shape rules and argument checks shared by both kernel backends (and the one
post-pass both run alike, relu_of_pooled).

Nothing here depends on numpy-vs-numba: each backend imports these, so the
reference and the fast kernels accept, reject and size their arguments alike.
"""
import math

import numpy as np


# ---------------------------------------------------------------- batch norm

def as_ncs(x):
    """(N, C) or (N, C, d1, d2, ...) -> C-contiguous (N, C, S) with S = d1*d2*...

    No copy when x is already C-contiguous (the result is a view);
    otherwise one contiguous copy.
    """
    x = np.asarray(x)
    if x.ndim < 2:
        raise ValueError(f"batch norm expects (N, C, ...) input, got shape {x.shape}")
    n, c = x.shape[:2]
    # math.prod: a Python int, without numpy's reduction machinery (this runs per BN call)
    return np.ascontiguousarray(x).reshape(n, c, math.prod(x.shape[2:]))


def check3(name, a):
    """Return a as a C-contiguous 3-D array, raising a clear error otherwise."""
    if np.ndim(a) != 3:
        raise ValueError(f"{name} must be 3-D (N, C, S); got shape {np.shape(a)} "
                         "(use as_ncs to reshape)")
    return np.ascontiguousarray(a)


def per_channel(v, c, default):
    """A length-C float64 vector; None means the constant `default`."""
    if v is None:
        return np.full(c, default, dtype=np.float64)
    v = np.ascontiguousarray(v, dtype=np.float64).reshape(-1)
    if v.shape[0] != c:
        raise ValueError(f"expected {c} per-channel values, got {v.shape[0]}")
    return v


def output(out, like):
    """`out` checked to be a C-contiguous array like `like`, or a new empty one."""
    if out is None:
        return np.empty_like(like)
    if out.shape != like.shape or out.dtype != like.dtype or not out.flags.c_contiguous:
        raise ValueError(f"out must be a C-contiguous array of shape {like.shape} and dtype "
                         f"{like.dtype}; got {out.shape} {out.dtype}")
    return out


# ---------------------------------------------------------------- convolution

def conv_output_size(size, kernel, stride, padding, dilation):
    """Output length along one axis: floor((size + 2p - d*(k-1) - 1) / s) + 1.

    The fast backend jit-compiles this same function for its im2col/col2im.
    """
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def conv2d_check(x, weight, bias, stride, padding, dilation):
    """Check a convolution's arrays -> (OH, OW). x (N, C, H, W), weight (O, C, kh, kw)."""
    if weight.dtype != x.dtype or (bias is not None and bias.dtype != x.dtype):
        raise ValueError(f"conv2d: dtypes differ: x {x.dtype}, weight {weight.dtype}, "
                         f"bias {None if bias is None else bias.dtype}")
    C = x.shape[1]
    Cw, kh, kw = weight.shape[1:]
    if Cw != C:
        raise ValueError(f"conv2d: x {x.shape} has {C} channels, weight {weight.shape} "
                         f"expects {Cw}")
    OH = conv_output_size(x.shape[2], kh, stride[0], padding[0], dilation[0])
    OW = conv_output_size(x.shape[3], kw, stride[1], padding[1], dilation[1])
    if OH < 1 or OW < 1:
        raise ValueError(f"conv2d: kernel {weight.shape[2:]} (dilation {dilation}) is larger "
                         f"than the padded input {x.shape} (padding {padding})")
    return OH, OW


# ---------------------------------------------------------------- pooling

def pool_output_size(size, kernel, stride, padding):
    """Output length along one axis: floor((size + 2p - k) / s) + 1."""
    return (size + 2 * padding - kernel) // stride + 1


def pool_check(x_shape, kernel, stride, padding):
    """Check a pooling's window against x (N, C, H, W) -> (OH, OW)."""
    (kh, kw), (ph, pw) = kernel, padding
    if 2 * ph > kh or 2 * pw > kw:
        raise ValueError(f"pool2d: padding {padding} must be at most half the kernel {kernel}")
    OH = pool_output_size(x_shape[2], kh, stride[0], ph)
    OW = pool_output_size(x_shape[3], kw, stride[1], pw)
    if OH < 1 or OW < 1:
        raise ValueError(f"pool2d: kernel {kernel} is larger than the padded input {x_shape} "
                         f"(padding {padding})")
    return OH, OW


# ---------------------------------------------------------------- activation

def check_same_shape(name, a, b):
    """Raise unless the two arrays have one shape."""
    if a.shape != b.shape:
        raise ValueError(f"{name}: shapes differ, {a.shape} and {b.shape}")


def relu_of_pooled(out, argmax):
    """relu(max_pool2d(x)) from max_pool2d(x)'s (out, argmax) -> (out', argmax'): 0 where
    the maximum is negative (NaN stays, as in relu), and argmax -1 wherever the maximum is
    not positive, so the backward sends no gradient there (relu's mask is y > 0)."""
    dead = ~(out > 0)
    return np.where(out < 0, out.dtype.type(0), out), np.where(dead, -1, argmax).astype(np.int32)
