"""Linear as an op: y = x @ weight.T + bias, one Function, so a Linear layer is
one node of the graph; its forward is one matrix product and its backward one
per gradient. The bias gradient is summed here, beside those products, rather
than by the engine's unbroadcast (docs/architecture.md, un-broadcasting)."""
from minigrad.autograd import Function
from minigrad.ops.common import check_bias, check_same_float_dtype


class Linear(Function):
    """y = x @ weight.T + bias.

    x: (..., in_features), weight: (out_features, in_features), bias: (out_features,)
    -> (..., out_features). Leading axes are flattened into one batch axis, so
    forward and each gradient is a single 2-D matrix product.
    """

    owned_grads = (0, 1, 2)              # matrix products and a sum: new arrays

    def forward(self, x, weight, bias=None):
        self.x_shape = x.shape
        x2 = x.reshape(-1, x.shape[-1])                 # (B, in)
        self.save_for_backward(x2, weight)
        out = x2 @ weight.T                             # (B, out)
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad):
        grad2 = grad.reshape(-1, grad.shape[-1])       # (B, out)
        x2, weight = self.saved_arrays
        need_x, need_weight, *need_bias = self.needs_input_grad   # need_bias: [] without a bias
        dx = (grad2 @ weight).reshape(self.x_shape) if need_x else None
        dweight = grad2.T @ x2 if need_weight else None                 # (out, in)
        dbias = grad2.sum(axis=0) if need_bias == [True] else None
        return (dx, dweight, dbias)[:len(self.needs_input_grad)]


def linear(x, weight, bias=None):
    """x (..., in) @ weight (out, in).T + bias (out,) -> (..., out)."""
    if weight.ndim != 2:
        raise ValueError("linear: weight must be 2-D (out_features, in_features), got shape "
                         f"{weight.shape}")
    if x.ndim < 1 or x.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} "
                         f"features, weight {weight.shape} expects {weight.shape[1]}")
    check_bias("linear", bias, weight.shape[0], "output features")
    check_same_float_dtype("linear", input=x, weight=weight, bias=bias)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Linear.apply(*inputs)
