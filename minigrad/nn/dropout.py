"""Dropout: inverted dropout while training, identity in eval mode."""
from minigrad.nn import functional as F
from minigrad.nn.module import _CallsFunction
from minigrad.ops.dropout import check_probability


class Dropout(_CallsFunction):
    """Zero each element with probability p and scale the rest by 1/(1-p) while
    training; pass x through unchanged after `eval()`."""

    def __init__(self, p=0.5):
        super().__init__(p=check_probability(p))

    def forward(self, x):
        return F.dropout(x, self.p, self.training)
