"""Array-level kernels: plain numpy references and fast numba versions (no Tensor, no autograd)."""
