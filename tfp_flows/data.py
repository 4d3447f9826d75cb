"""Image data as integer levels, channels last: the embedded 8x8 digits, and loaders for
MNIST/CIFAR-style arrays a user has on disk, as numpy arrays or `tf.data` pipelines.

The image flows dequantize integer levels `0..K-1` themselves, so nothing here scales the
pixels: `image_dataset` yields floats holding the levels.
"""

import numbers
import os

import numpy as np
import tensorflow as tf

DIGITS_NUM_BINS = 17  # sklearn's digits take values 0..16.
SPLITS = ("train", "test", "all")


def digits(split="train", test_fraction=0.2, seed=0, with_labels=False):
  """The 1,797 8x8 handwritten digits that ship with scikit-learn (no download).

  The split is a fixed permutation drawn with `np.random.default_rng(seed)`: "test" holds
  `round(1797 * test_fraction)` images, "train" the others (disjoint from "test"), and
  "all" every image in sklearn's order.

  Args:
    split: one of "train", "test", "all".
    test_fraction: fraction of the images in "test", in [0, 1].
    seed: seed of the permutation; the same seed gives the same split.
    with_labels: also return each image's digit, for class-conditional flows.

  Returns:
    float32 array `[N, 8, 8, 1]` of integer levels in [0, 16] (`DIGITS_NUM_BINS` = 17);
    with `with_labels`, `(images, labels)` with int32 labels `[N]` in [0, 9] (the same
    images in the same order).

  Raises:
    ValueError: for an unknown `split` or a `test_fraction` outside [0, 1].
    ImportError: when scikit-learn is not installed.

  Example:
    >>> train, test = tff.data.digits("train"), tff.data.digits("test")
    >>> train.shape, test.shape, float(train.max()), tff.data.DIGITS_NUM_BINS
    ((1438, 8, 8, 1), (359, 8, 8, 1), 16.0, 17)
    >>> images, labels = tff.data.digits("test", with_labels=True)
    >>> bool(np.array_equal(images, test)), labels.shape
    (True, (359,))
  """
  if split not in SPLITS:
    raise ValueError(f"Expected split in {SPLITS}. Received: split={split!r}")
  if not 0. <= test_fraction <= 1.:
    raise ValueError(f"Expected 0 <= test_fraction <= 1. Received: test_fraction={test_fraction!r}")
  try:
    from sklearn import datasets  # pylint: disable=import-outside-toplevel
  except ImportError as error:
    raise ImportError("tff.data.digits needs scikit-learn: pip install scikit-learn "
                      "(or the 'test' / 'examples' extra of tfp_flows)") from error
  loaded = datasets.load_digits()
  images = loaded.images.astype(np.float32)[..., np.newaxis]
  labels = loaded.target.astype(np.int32)
  if split != "all":
    order = _split_order(len(images), test_fraction, seed)
    order = order[1] if split == "test" else order[0]
    images, labels = images[order], labels[order]
  return (images, labels) if with_labels else images


def train_test_split(images, test_fraction, seed=0):
  """`(train, test)`: a fixed permutation (`np.random.default_rng(seed)`) of `images` cut
  so that "test" holds `round(len(images) * test_fraction)` of them.

  Example:
    >>> train, test = tff.data.train_test_split(np.arange(10), test_fraction=0.3, seed=0)
    >>> len(train), len(test), sorted(np.concatenate([train, test])) == list(range(10))
    (7, 3, True)
  """
  train, test = _split_order(len(images), test_fraction, seed)
  return images[train], images[test]


def _split_order(count, test_fraction, seed):
  """`(train indices, test indices)` of `train_test_split`."""
  order = np.random.default_rng(seed).permutation(count)
  num_test = round(count * test_fraction)
  return order[num_test:], order[:num_test]


def load_images(path, key=None, channels_first=False):
  """Integer images from a `.npy` or `.npz` file, read with `allow_pickle=False`.

  Args:
    path: path to a `.npy` file, or to an `.npz` archive.
    key: name of the array in an `.npz` archive; optional when it holds exactly one.
    channels_first: read 4-D arrays as `[N, C, H, W]` (e.g. CIFAR's python pickles
      reshaped) instead of `[N, H, W, C]`. A 3-D `[N, H, W]` array (e.g. MNIST) gets a
      channel axis either way.

  Returns:
    Array `[N, H, W, C]` of non-negative integer levels, in the dtype of the file.

  Raises:
    FileNotFoundError: when `path` does not exist.
    ValueError: for an `.npz` key that is missing or ambiguous, a rank other than 3 or 4,
      a non-numeric dtype, non-integer values or negative values.

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "mnist_like.npz")
    >>> np.savez(path, x_train=np.zeros([5, 28, 28], np.uint8))
    >>> images = tff.data.load_images(path)  # [N, H, W] gets a channel axis
    >>> images.shape, images.dtype, tff.data.num_bins_of(images)
    ((5, 28, 28, 1), dtype('uint8'), 256)
    >>> folder.cleanup()
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"Expected an existing .npy or .npz file. Received: path={path!r}")
  loaded = np.load(path, allow_pickle=False)
  if isinstance(loaded, np.ndarray):
    images = loaded
  else:  # An .npz archive.
    with loaded:
      images = _pick(loaded, key, path)
  if images.ndim == 3:
    images = images[..., np.newaxis]
  elif images.ndim == 4 and channels_first:
    images = np.transpose(images, [0, 2, 3, 1])
  elif images.ndim != 4:
    layout = "[N, C, H, W]" if channels_first else "[N, H, W, C]"
    raise ValueError(f"Expected images of shape [N, H, W] or {layout}. "
                     f"Received: shape={images.shape} in path={path!r}")
  if images.dtype.kind not in "biuf":
    raise ValueError(f"Expected a numeric dtype. Received: dtype={images.dtype} in path={path!r}")
  if images.dtype.kind == "f" and not np.all(images == np.round(images)):
    raise ValueError(f"Expected integer pixel levels. Received: non-integer values of dtype "
                     f"{images.dtype} in path={path!r}")
  if images.size and images.min() < 0:
    raise ValueError(f"Expected pixel levels >= 0. Received: min={images.min()} in path={path!r}")
  return images


def num_bins_of(images):
  """The number of levels K of integer images, for the flows' dequantization.

  Args:
    images: array of integer levels, any shape.

  Returns:
    256 for a uint8 array (its full range, whatever values it holds), else
    `int(max(images)) + 1`.

  Example:
    >>> tff.data.num_bins_of(np.array([0, 3, 2]))  # max + 1
    4
    >>> tff.data.num_bins_of(np.zeros(3, np.uint8))  # uint8: the full range
    256
  """
  images = np.asarray(images)
  if images.dtype == np.uint8:
    return 256
  return int(np.max(images)) + 1


def image_dataset(images, batch_size, shuffle=True, seed=0, repeat=False, drop_remainder=False,
                  dtype=tf.float32, labels=None):
  """A `tf.data.Dataset` of image batches holding the integer levels (not scaled).

  Args:
    images: array `[N, H, W, C]` of integer levels, e.g. from `digits` or `load_images`.
    batch_size: int >= 1.
    shuffle: shuffle over all N images with `seed`, reshuffled each epoch.
    seed: shuffle seed; the same seed gives the same order.
    repeat: repeat forever (for `fit(..., steps_per_epoch=...)`).
    drop_remainder: drop a last batch smaller than `batch_size`.
    dtype: floating dtype of the batches; images are cast per batch.
    labels: optional `[N]` integer class labels: the batches are then `(images, labels)`
      pairs, what `FlowModel.fit` takes for a class-conditional flow.

  Returns:
    `tf.data.Dataset` of `[batch_size, H, W, C]` tensors of `dtype` (with labels:
    `(images, int32 labels [batch_size])` pairs).

  Raises:
    ValueError: for images not of rank 4, `batch_size < 1` or a non-floating `dtype`.

  Example:
    >>> images = np.zeros([10, 2, 2, 1], np.uint8)
    >>> dataset = tff.data.image_dataset(images, batch_size=4, shuffle=False)
    >>> [tuple(batch.shape) for batch in dataset]
    [(4, 2, 2, 1), (4, 2, 2, 1), (2, 2, 2, 1)]
    >>> next(iter(dataset)).dtype
    tf.float32
  """
  images = np.asarray(images)
  if images.ndim != 4:
    raise ValueError(f"Expected images of shape [N, H, W, C]. Received: images.shape="
                     f"{images.shape}")
  if (isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral)
      or batch_size < 1):
    raise ValueError(f"Expected batch_size to be an int >= 1. Received: batch_size={batch_size!r}")
  dtype = tf.as_dtype(dtype)
  if not dtype.is_floating:
    raise ValueError(f"Expected a floating dtype. Received: dtype={dtype.name}")
  if labels is not None:
    labels = np.asarray(labels)
    if labels.shape != images.shape[:1] or not np.issubdtype(labels.dtype, np.integer):
      raise ValueError(f"Expected integer labels of shape [N] = [{len(images)}]. Received: "
                       f"labels of shape {list(labels.shape)} and dtype {labels.dtype}")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
  else:
    dataset = tf.data.Dataset.from_tensor_slices(images)
  if shuffle:
    dataset = dataset.shuffle(max(len(images), 1), seed=seed, reshuffle_each_iteration=True)
  if repeat:
    dataset = dataset.repeat()
  dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
  if labels is not None:
    cast = lambda batch, label: (tf.cast(batch, dtype), label)
  else:
    cast = lambda batch: tf.cast(batch, dtype)
  dataset = dataset.map(cast, num_parallel_calls=tf.data.AUTOTUNE)
  return dataset.prefetch(tf.data.AUTOTUNE)


def _pick(archive, key, path):
  """The array `key` of an open `.npz` archive, or its only array when `key` is None."""
  keys = list(archive.keys())
  if key is None:
    if len(keys) != 1:
      raise ValueError(f"Expected key= naming one of {keys} in path={path!r}. Received: "
                       f"key=None")
    key = keys[0]
  if key not in keys:
    raise ValueError(f"Expected key in {keys}. Received: key={key!r}")
  return archive[key]


__all__ = ["DIGITS_NUM_BINS", "SPLITS", "digits", "image_dataset", "load_images",
           "num_bins_of", "train_test_split"]


def __dir__():  # `dir(module)` lists the public names, not the imports (np, tf, ...).
  return __all__
