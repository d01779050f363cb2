"""`Optimizer`: parameter groups, per-parameter state, zero_grad and state_dict.

A subclass gives its defaults (lr, momentum, ...) and writes `step()`, which
updates every parameter from `p.grad` in place, under no_grad, with `p.add_`
and friends: each bumps `p._version`, so a backward through a graph that
saved the old value raises. Parameters are grouped as in PyTorch: pass a
list of tensors (one group) or a list of dicts, each with "params" and any
options that differ from the defaults.

    opt = SGD([{"params": model[0].parameters(), "lr": 1e-2},
               {"params": model[2].parameters()}], lr=1e-3, momentum=0.9)
"""
import copy

import numpy as np

from minigrad.tensor import Tensor


def check_non_negative(*checks) -> None:
    """PyTorch's ValueError for the first (description, value) pair whose value is below 0
    (or NaN)."""
    for description, value in checks:
        if not 0.0 <= value:
            raise ValueError(f"Invalid {description}: {value}")


class Optimizer:
    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state = {}                  # parameter -> its state dict (e.g. momentum buffer)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        for group in groups if isinstance(groups[0], dict) else [{"params": groups}]:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group: its "params" and the options that differ from the defaults."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        if {id(p) for p in self._params()} & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append({**self.defaults, **param_group, "params": params})

    def _params(self):
        return (p for group in self.param_groups for p in group["params"])

    def _params_with_grad(self):
        """(group, p) for every parameter that has a gradient: what step() updates."""
        return ((group, p) for group in self.param_groups for p in group["params"]
                if p.grad is not None)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (set_to_none=True, the default) or fill it with zeros."""
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError

    # ---- saving and loading ------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {name: value}},
            "param_groups": [{options..., "params": [index, ...]}, ...]}:
        parameters numbered in group order, as PyTorch numbers them. Arrays are copies."""
        index = {}
        for p in self._params():
            index.setdefault(id(p), len(index))
        groups = [dict(group, params=[index[id(p)] for p in group["params"]])
                  for group in self.param_groups]
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state saved by state_dict(); the groups must have the same sizes.
        Everything is checked before anything changes."""
        if len(state_dict["param_groups"]) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        pairs = list(zip(state_dict["param_groups"], self.param_groups))
        if any(len(saved["params"]) != len(group["params"]) for saved, group in pairs):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")
        param_of = {i: p for saved, group in pairs
                    for i, p in zip(saved["params"], group["params"])}
        new_state = {}
        for i, saved in state_dict["state"].items():
            p = param_of[i]
            for name, value in saved.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(f"optimizer state {name!r} of parameter {i} has shape "
                                     f"{value.shape}, the parameter has {p.shape}")
            # arrays copied, in the parameter's dtype: the caller's dict stays its own
            new_state[p] = {name: value.astype(p.dtype) if isinstance(value, np.ndarray) else value
                            for name, value in saved.items()}
        for saved, group in pairs:
            group.update(saved, params=group["params"])      # the options; our own params
        self.state = new_state

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"
