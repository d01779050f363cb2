"""Stochastic gradient descent with momentum, PyTorch's update rule:

    g = grad + weight_decay * p
    buf = g                                       (first step)
    buf = momentum * buf + (1 - dampening) * g    (later steps)
    g = g + momentum * buf  if nesterov  else  buf
    p -= lr * g
"""
from minigrad.autograd import no_grad
from minigrad.optim.optimizer import Optimizer, check_non_negative


class SGD(Optimizer):
    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False):
        check_non_negative(("learning rate", lr), ("momentum value", momentum),
                           ("weight_decay value", weight_decay))
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov))

    @no_grad()
    def step(self) -> None:
        for group, p in self._params_with_grad():
            # Python floats: a numpy float64 scalar would turn float32 arrays into float64
            lr, momentum, dampening = (float(group[k]) for k in ("lr", "momentum", "dampening"))
            weight_decay, nesterov = float(group["weight_decay"]), group["nesterov"]
            g = p.grad
            if weight_decay != 0:
                g = g + weight_decay * p.data          # a new array: p.grad is left as it was
            if momentum != 0:
                state = self.state.setdefault(p, {})
                buf = state.get("momentum_buffer")
                if buf is None:
                    buf = state["momentum_buffer"] = g.copy()
                else:
                    buf *= momentum
                    buf += g if dampening == 0 else (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            p.sub_(g, alpha=lr)                        # in place: bumps p._version
