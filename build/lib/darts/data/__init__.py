"""Datasets as in-memory tensors, and device-side batching (images); text corpora live in darts.data.text."""
from darts.data.batches import BatchStream
from darts.data.images import INPUT_SHAPES, Augmentation, ImageDataset, load_image_dataset

__all__ = ["BatchStream", "Augmentation", "ImageDataset", "load_image_dataset", "INPUT_SHAPES"]
