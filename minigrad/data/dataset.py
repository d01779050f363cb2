"""Datasets: things with a length that return samples by index.

A `Dataset` returns one sample per integer index. `get_batch(indices)`
returns a whole batch; the base class builds it by stacking samples in
a Python loop, and array-backed datasets (`TensorDataset` and everything
built on it: MNIST, FashionMNIST, IDXDataset) override it with a single
numpy fancy-indexing operation per array, which is what DataLoader uses.
"""
import numpy as np

from minigrad.ops.common import raw


def stack_samples(samples, indices=None):
    """Stack a list of samples into a tuple of batch arrays.

    samples: list of B samples, each a tuple of k fields (or one bare
    field) -> tuple of k arrays, each (B, *field_shape). `indices`, the
    samples' dataset indices, name the culprit of ragged shapes.
    """
    names = list(range(len(samples))) if indices is None else [int(i) for i in indices]
    if len(samples) == 0:
        raise ValueError("stack_samples: cannot stack an empty list of samples")
    rows = [s if isinstance(s, (tuple, list)) else (s,) for s in samples]
    width = len(rows[0])
    if any(len(r) != width for r in rows):
        widths = sorted({len(r) for r in rows})
        raise ValueError(f"stack_samples: samples have different numbers of fields: {widths}")
    fields = []
    for k in range(width):
        column = [np.asarray(raw(r[k])) for r in rows]
        for i, a in enumerate(column):
            if a.shape != column[0].shape:
                raise ValueError(f"stack_samples: field {k} of sample {names[i]} has shape "
                                 f"{a.shape}, but sample {names[0]} has {column[0].shape}; "
                                 "a batch needs equal shapes")
        fields.append(np.stack(column))
    return tuple(fields)


class Dataset:
    """Abstract dataset: subclasses define __len__ and __getitem__(int)."""

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def get_batch(self, indices):
        """indices: (B,) ints -> tuple of arrays, each (B, ...), by stacking samples."""
        return stack_samples([self[int(i)] for i in indices], indices)


class TensorDataset(Dataset):
    """Samples are rows of equally long arrays (or Tensors).

    TensorDataset(images, labels)[i] -> (images[i], labels[i])
    TensorDataset(images, labels)[idx] with idx an int array of shape (B,)
        -> (images[idx], labels[idx]), one numpy operation per array.
    """

    def __init__(self, *arrays):
        if len(arrays) == 0:
            raise ValueError("TensorDataset needs at least one array")
        arrays = tuple(np.asarray(raw(a)) for a in arrays)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: array {k} is a scalar; every array needs "
                                 "a first dimension indexing the samples")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) > 1:
            raise ValueError("TensorDataset: all arrays must have the same first dimension "
                             f"(number of samples), got sizes {', '.join(map(str, sizes))}")
        self.arrays = arrays

    def __len__(self):
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        return self[np.asarray(indices, dtype=np.intp)]

    def __repr__(self):
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"
