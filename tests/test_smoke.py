import numpy as np

import minigrad


def test_chain_rule_through_a_small_expression():
    x = minigrad.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    (x * x * 3.0).sum().backward()
    np.testing.assert_allclose(x.grad, 6.0 * np.array([1.0, -2.0]))


def test_functional_exports_every_function_it_lists_and_the_norms():
    import minigrad.nn.functional as F
    missing = [name for name in F.__all__ if not callable(getattr(F, name, None))]
    assert missing == []
    assert {"batch_norm", "layer_norm", "group_norm", "instance_norm"} <= set(F.__all__)
