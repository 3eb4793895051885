"""Datasets, all time-first after encoding: ``load_dataset(name, root=None, **options)``.

Embedded (no download): ``digits`` (static), ``digits_events`` (saccade ON/OFF frames),
``digits_seq`` and ``digits_pseq`` (pixel sequences), ``shapes`` (point clouds of geometric
primitives). From a local folder: ``cifar10``,
``cifar100`` (python pickle batches), ``cifar10_seq`` (sCIFAR10: CIFAR-10 as pixel
sequences), ``mnist_seq``, ``mnist_pseq`` (IDX files), ``nmnist``,
``cifar10dvs``, ``dvsgesture`` (through tonic, optional), ``modelnet40`` (HDF5 files or
``.off`` meshes). A missing folder is one line saying
what to download and where to put it. Dense tasks (docs/dense.md): ``digits_seg`` and
``digits_det`` (embedded), ``ade20k``, ``voc_seg`` and ``coco`` (from a folder).
"""

from step.data._base import (
    ArraySet,
    DataSplits,
    FileSet,
    SampleSet,
    batches,
    epoch_order,
    stratified_split,
)
from step.data.registry import DATASETS, dataset_entry, list_datasets, load_dataset

__all__ = [
    "DATASETS", "ArraySet", "DataSplits", "FileSet", "SampleSet", "batches", "dataset_entry",
    "epoch_order", "list_datasets", "load_dataset", "stratified_split",
]
