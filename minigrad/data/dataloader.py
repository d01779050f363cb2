"""DataLoader: batches from a dataset, optionally shuffled each epoch."""
import numpy as np

from minigrad import random as _random
from minigrad.data.dataset import stack_samples
from minigrad.ops.common import positive_int
from minigrad.tensor import Tensor


class DataLoader:
    """Iterate over a dataset in batches of Tensors.

    Each iteration (epoch) yields tuples with one Tensor per dataset
    field, e.g. (images (B, 1, 28, 28), labels (B,)) for MNIST. A batch is
    built with one `dataset.get_batch(indices)` call, which is a numpy
    fancy-indexing operation per array for array-backed datasets; any
    other object with __len__ and __getitem__ is batched by stacking
    its samples.

    shuffle: a fresh permutation every epoch, drawn from `generator` if
        given, else from np.random.default_rng(seed) made once here if
        `seed` is given, else from minigrad's seeded generator (so
        minigrad.manual_seed(n) makes the order reproducible).
    drop_last: drop the final batch if it is smaller than batch_size.
    len(loader) is the number of batches per epoch.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False,
                 generator=None, seed=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError("DataLoader needs a dataset with __len__ and __getitem__, "
                            f"got {type(dataset).__name__}")
        batch_size = positive_int(batch_size, "DataLoader: batch_size")
        if generator is not None and seed is not None:
            raise ValueError("DataLoader: pass either generator= or seed=, not both")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError("DataLoader: generator must be a numpy.random.Generator, "
                            f"got {type(generator).__name__}")
        if seed is not None:
            generator = np.random.default_rng(positive_int(seed, "DataLoader: seed", at_least=0))
        self.dataset, self.batch_size = dataset, batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator

    def __len__(self):
        n, size = len(self.dataset), self.batch_size
        return n // size if self.drop_last else -(-n // size)     # ceil: a last, short batch

    def __iter__(self):
        n = len(self.dataset)
        # Look the global generator up at each epoch: manual_seed replaces it.
        rng = self.generator if self.generator is not None else _random.generator()
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        get_batch = getattr(self.dataset, "get_batch", None)
        for b in range(len(self)):
            indices = order[b * self.batch_size:(b + 1) * self.batch_size]
            if get_batch is not None:
                fields = get_batch(indices)
            else:
                fields = stack_samples([self.dataset[int(i)] for i in indices], indices)
            yield tuple(Tensor(f) for f in fields)

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
