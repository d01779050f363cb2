"""Optimizers and learning-rate schedulers with PyTorch's names and update rules.

    opt = minigrad.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for x, y in loader:
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
"""
from minigrad.optim import lr_scheduler  # noqa: F401
from minigrad.optim.optimizer import Optimizer  # noqa: F401
from minigrad.optim.sgd import SGD  # noqa: F401
from minigrad.optim.adam import Adam, AdamW  # noqa: F401
