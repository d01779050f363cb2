"""`Parameter`: a Tensor that a Module trains."""
import numpy as np

from minigrad.ops.common import raw
from minigrad.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad; assigning one to a Module registers it."""

    def __init__(self, data, requires_grad=True):
        super().__init__(np.asarray(raw(data)), requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
