"""Adam and AdamW, PyTorch's update rules (Kingma & Ba; Loshchilov & Hutter).

At step t, with g = grad (+ weight_decay * p for Adam's L2 penalty):

    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g * g
    p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

AdamW instead decays the weights directly before that update:
p *= 1 - lr * weight_decay. Updates are in place (add_, mul_: each bumps the
parameter's version); each parameter uses one scratch array per step.
"""
import math

import numpy as np

from minigrad.autograd import no_grad
from minigrad.optim.optimizer import Optimizer, check_non_negative


class Adam(Optimizer):
    decoupled_weight_decay = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0):
        check_non_negative(("learning rate", lr), ("epsilon value", eps))
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
        check_non_negative(("weight_decay value", weight_decay))
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay))

    @no_grad()
    def step(self) -> None:
        for group, p in self._params_with_grad():
            lr, eps, weight_decay = (float(group[k]) for k in ("lr", "eps", "weight_decay"))
            beta1, beta2 = (float(b) for b in group["betas"])
            state = self.state.setdefault(p, {})
            if not state:
                state.update(step=0, exp_avg=np.zeros_like(p.data),
                             exp_avg_sq=np.zeros_like(p.data))
            state["step"] += 1
            m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]

            g = p.grad
            if weight_decay != 0 and self.decoupled_weight_decay:
                p.mul_(1 - lr * weight_decay)
            elif weight_decay != 0:
                g = g + weight_decay * p.data

            work = np.subtract(g, m)                  # m += (1 - beta1) * (g - m)
            work *= 1 - beta1
            m += work
            np.multiply(g, g, out=work)               # v = beta2 * v + (1 - beta2) * g^2
            work *= 1 - beta2
            v *= beta2
            v += work

            denom = np.sqrt(v, out=work)
            denom /= math.sqrt(1 - beta2 ** t)
            denom += eps
            update = np.divide(m, denom, out=work)
            update *= -lr / (1 - beta1 ** t)          # the bias-corrected step size
            p.add_(update)                            # in place: bumps p._version


class AdamW(Adam):
    """Adam with decoupled weight decay (default 1e-2)."""

    decoupled_weight_decay = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(params, lr, betas, eps, weight_decay)
