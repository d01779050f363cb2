import numpy as np

import minigrad


def test_chain_rule_through_a_small_expression():
    x = minigrad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 6.0 * np.array([1.0, -2.0]))
