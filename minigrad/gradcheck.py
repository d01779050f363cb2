"""Check analytic gradients against central finite differences, in float64.

    minigrad.gradcheck(lambda x, w: (x @ w).relu(), x, w)

For every input that requires grad, the output is reduced to a scalar with a
fixed random projection, L = sum(r * fn(inputs)), so that one backward pass
gives dL/dx for all elements at once; each checked element x_i is then nudged
by +-eps and the slope (L(x_i + eps) - L(x_i - eps)) / (2 eps) is compared.
"""
import numpy as np

from minigrad.autograd import no_grad
from minigrad.tensor import Tensor


class GradcheckError(AssertionError):
    """Analytic and numerical gradients disagree."""


def _as_float64_copy(t: Tensor) -> Tensor:
    return Tensor(np.array(t.data, dtype=np.float64), requires_grad=t.requires_grad)


def _elements_to_check(size: int, max_elements: int, rng) -> np.ndarray:
    if size <= max_elements:
        return np.arange(size)
    return np.sort(rng.choice(size, max_elements, replace=False))


def gradcheck(fn, *inputs, eps=1e-6, atol=1e-5, rtol=1e-3, max_elements=200, seed=0):
    """Raise GradcheckError unless every input's gradient matches finite differences.

    `inputs` are Tensors (float inputs that require grad are checked; they are
    copied to float64 first) or other arguments passed through unchanged.
    Inputs larger than `max_elements` are checked on a random sample of elements.
    Returns True when every checked element satisfies |a - n| <= atol + rtol * |n|.
    """
    rng = np.random.default_rng(seed)
    args = [_as_float64_copy(x) if isinstance(x, Tensor) and x.dtype.kind == "f" else x
            for x in inputs]
    checked = [i for i, x in enumerate(args) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad")

    output = fn(*args)
    if not isinstance(output, Tensor) or not output.requires_grad:
        raise ValueError("gradcheck: fn must return a Tensor that depends on an input "
                         "requiring grad")
    projection = rng.standard_normal(output.shape)
    (output * projection).sum().backward()

    def loss_with(x, index, value) -> float:
        """The projected loss L with x[index] set to `value`."""
        x.data[index] = value
        with no_grad():
            return float(np.sum(fn(*args).data * projection))

    for position in checked:
        x = args[position]
        analytic = np.zeros(x.shape) if x.grad is None else x.grad
        for i in _elements_to_check(x.size, max_elements, rng):
            # A multi-index, not a flat view: reshape(-1) of a non-contiguous
            # (e.g. transposed) input is a copy, and nudging it would do nothing.
            index = np.unravel_index(i, x.shape)
            original = x.data[index]
            plus, minus = loss_with(x, index, original + eps), loss_with(x, index, original - eps)
            x.data[index] = original
            numeric = (plus - minus) / (2 * eps)
            a = analytic[index]
            if not abs(a - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck failed for input {position} (shape {x.shape}) at index "
                    f"{tuple(map(int, index))}: analytic {a:.8g}, numerical {numeric:.8g}, "
                    f"difference {abs(a - numeric):.3g}")
    return True
