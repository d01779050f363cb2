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
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got {type(params).__name__}")
        self.defaults = dict(defaults)
        self.state = {}                  # parameter -> its state dict (e.g. momentum buffer)
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        taken = {id(p) for group in self.param_groups for p in group["params"]}
        if taken & {id(p) for p in params}:
            raise ValueError("some parameters appear in more than one parameter group")
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            group.setdefault(name, default)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (set_to_none=True, the default) or fill it with zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.fill(0)

    def step(self) -> None:
        raise NotImplementedError

    # ---- saving and loading ------------------------------------------------
    def state_dict(self) -> dict:
        """{"state": {index: {name: value}}, "param_groups": [{options..., "params": [index, ...]}]},
        parameters numbered in group order, as PyTorch numbers them. Arrays are copies."""
        index = {}
        groups = []
        for group in self.param_groups:
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            saved = {k: v for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {index[id(p)]: {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()}
                 for p, s in self.state.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state saved by state_dict(); the groups must have the same sizes.
        Everything is checked before anything changes."""
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(s["params"]) != len(g["params"]) for s, g in zip(saved_groups, self.param_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of "
                             "optimizer's group")
        param_of = {i: p for s, g in zip(saved_groups, self.param_groups) for i, p in zip(s["params"], g["params"])}
        new_state = {}
        for i, saved in state_dict["state"].items():
            p = param_of[i]
            state = {}
            for name, value in saved.items():
                if isinstance(value, np.ndarray) and value.shape == p.shape:
                    value = value.astype(p.dtype, copy=True)
                elif isinstance(value, np.ndarray):
                    raise ValueError(f"optimizer state {name!r} of parameter {i} has shape {value.shape}, "
                                     f"the parameter has {p.shape}")
                state[name] = value
            new_state[p] = state
        for saved, group in zip(saved_groups, self.param_groups):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params")
        return "\n".join(lines) + "\n)"
