"""Data sets and batching: Dataset, TensorDataset, DataLoader, IDX files,
and MNIST / Fashion-MNIST loaded offline."""
from minigrad.data.dataloader import DataLoader
from minigrad.data.dataset import Dataset, TensorDataset, stack_samples
from minigrad.data.idx import IDXError, read_idx, write_idx
from minigrad.data.mnist import (MNIST, ChecksumError, DataNotFoundError, FashionMNIST,
                                 IDXDataset, ImageDataset, RestrictedUnpickler)

__all__ = ["Dataset", "TensorDataset", "DataLoader", "stack_samples",
           "read_idx", "write_idx", "IDXError", "IDXDataset", "ImageDataset",
           "MNIST", "FashionMNIST", "DataNotFoundError", "ChecksumError", "RestrictedUnpickler"]
