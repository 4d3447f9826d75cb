"""Image data as integer levels, channels last: the embedded 8x8 digits, and loaders for
MNIST/CIFAR-style arrays a user has on disk, as numpy arrays or `tf.data` pipelines.

The image flows dequantize integer levels `0..K-1` themselves, so nothing here scales the
pixels: `image_dataset` yields floats holding the levels.
"""

import os

import numpy as np
import tensorflow as tf

DIGITS_NUM_BINS = 17  # sklearn's digits take values 0..16.
SPLITS = ("train", "test", "all")


def digits(split="train", test_fraction=0.2, seed=0):
  """The 1,797 8x8 handwritten digits that ship with scikit-learn (no download).

  Returns float32 `[N, 8, 8, 1]` with integer levels in [0, 16] (`DIGITS_NUM_BINS` = 17).
  The split is a fixed permutation drawn with `seed`: "test" holds
  `round(1797 * test_fraction)` images, "train" the others, "all" every image in order.
  """
  if split not in SPLITS:
    raise ValueError(f"Expected split in {SPLITS}. Received: split={split!r}")
  try:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise ImportError("tff.data.digits needs scikit-learn: pip install scikit-learn "
                      "(or the 'test' / 'examples' extra of tfp_flows)") from error
  images = datasets.load_digits().images.astype(np.float32)[..., np.newaxis]
  if split == "all":
    return images
  order = np.random.default_rng(seed).permutation(len(images))
  num_test = int(round(len(images) * test_fraction))
  return images[order[:num_test] if split == "test" else order[num_test:]]


def load_images(path, key=None, channels_first=False):
  """Integer images `[N, H, W, C]` from a `.npy` or `.npz` file (read without pickle).

  Accepts `[N, H, W]` (MNIST-style; a channel axis is added) or `[N, H, W, C]`;
  `channels_first=True` reads `[N, C, H, W]` (CIFAR-style). In an `.npz`, `key` names the
  array (optional when the file holds one). The values must be non-negative integers; the
  dtype of the file is kept.
  """
  path = os.fspath(path)
  if not os.path.exists(path):
    raise FileNotFoundError(f"Expected an image file at {path!r}. Received: no such file")
  loaded = np.load(path, allow_pickle=False)
  if isinstance(loaded, np.ndarray):
    images = loaded
  else:  # An .npz archive.
    with loaded:
      images = _pick(loaded, key, path)
  if images.ndim == 3 and not channels_first:
    images = images[..., np.newaxis]
  if images.ndim != 4:
    raise ValueError(f"Expected images [N, H, W] or [N, H, W, C]. Received: shape "
                     f"{images.shape} in {path!r}")
  if channels_first:
    images = np.transpose(images, [0, 2, 3, 1])
  if not np.issubdtype(images.dtype, np.integer) and np.any(images != np.round(images)):
    raise ValueError(f"Expected integer pixel levels. Received: non-integer values in {path!r}")
  if images.size and images.min() < 0:
    raise ValueError(f"Expected pixel levels >= 0. Received: min {images.min()} in {path!r}")
  return images


def num_bins_of(images):
  """The number of levels K of integer images: 256 for uint8 arrays, else `max + 1`."""
  if np.asarray(images).dtype == np.uint8:
    return 256
  return int(np.max(images)) + 1


def image_dataset(images, batch_size, shuffle=True, seed=0, repeat=False, drop_remainder=False,
                  dtype=tf.float32):
  """A `tf.data.Dataset` of `[batch, H, W, C]` float batches holding the integer levels."""
  images = np.asarray(images)
  if images.ndim != 4:
    raise ValueError(f"Expected images [N, H, W, C]. Received: shape {images.shape}")
  if int(batch_size) < 1:
    raise ValueError(f"Expected batch_size >= 1. Received: batch_size={batch_size!r}")
  dataset = tf.data.Dataset.from_tensor_slices(images.astype(tf.as_dtype(dtype).as_numpy_dtype))
  if shuffle:
    dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  return dataset.batch(int(batch_size), drop_remainder=drop_remainder).prefetch(
      tf.data.AUTOTUNE)


def _pick(loaded, key, path):
  keys = list(loaded.keys())
  if key is None:
    if len(keys) != 1:
      raise ValueError(f"Expected key= naming one of {keys} in {path!r}. Received: key=None")
    key = keys[0]
  if key not in keys:
    raise ValueError(f"Expected key in {keys}. Received: key={key!r}")
  return loaded[key]
