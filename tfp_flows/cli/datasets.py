"""Data sets by name: train and test arrays, their event shape and number of levels.

Names:
  moons, circles: 2-D points from scikit-learn (3,000 drawn with seed 0: 2,000 train,
    1,000 test), continuous.
  digits: the 8x8 digits of `tff.data.digits` (1,438 train, 359 test), 17 levels, with
    their labels 0-9 (for `--conditional`).
  npz:PATH[?key=NAME&test_key=NAME&test_fraction=F&channels_first=1]: integer images
    from a `.npz` or `.npy` file read by `tff.data.load_images`; the test split is the
    array `test_key` when given, else a fixed `test_fraction` (default 0.1) of `key`.
"""

import dataclasses
import os
import urllib.parse

import numpy as np

import tfp_flows as tff

NAMES = ("moons", "circles", "digits", "npz:PATH")
_NPZ_OPTIONS = ("key", "test_key", "test_fraction", "channels_first")


@dataclasses.dataclass(frozen=True)
class Data:
  """A data set: `num_bins` levels for integer images, `None` for continuous points;
  integer class labels of the train and test examples when the data set has them."""
  name: str
  train: np.ndarray
  test: np.ndarray
  num_bins: int | None
  train_labels: np.ndarray | None = None
  test_labels: np.ndarray | None = None
  num_classes: int | None = None

  @property
  def is_image(self):
    return self.train.ndim == 4

  @property
  def event_shape(self):
    return [int(d) for d in self.train.shape[1:]]

  def describe(self):
    """E.g. "digits (8x8x1 images, 17 levels)" or "moons (2-D points)"."""
    if self.is_image:
      shape = "x".join(map(str, self.event_shape))
      return f"{self.name} ({shape} images, {self.num_bins} levels)"
    return f"{self.name} ({self.event_shape[0]}-D points)"


def load(name):
  """The data set `name` (see the module docstring); raises ValueError for unknown names."""
  if name in ("moons", "circles"):
    return _points(name)
  if name == "digits":
    (train, train_labels), (test, test_labels) = (
        tff.data.digits(split, with_labels=True) for split in ("train", "test"))
    return Data("digits", train, test, tff.data.DIGITS_NUM_BINS, train_labels, test_labels, 10)
  if name.startswith("npz:"):
    return _npz(name[len("npz:"):])
  raise ValueError(f"Expected --data in {NAMES}. Received: --data={name!r}")


def _points(name):
  from sklearn import datasets  # pylint: disable=import-outside-toplevel
  if name == "moons":
    x, _ = datasets.make_moons(n_samples=3000, noise=0.1, random_state=0)
  else:
    x, _ = datasets.make_circles(n_samples=3000, noise=0.05, factor=0.5, random_state=0)
  x = x.astype(np.float32)
  return Data(name, x[:2000], x[2000:], None)


def _npz(spec):
  path, _, query = spec.partition("?")
  try:
    options = dict(urllib.parse.parse_qsl(query, strict_parsing=bool(query)))
    test_fraction = float(options.get("test_fraction", 0.1))
  except ValueError:
    options = None
  if not path or options is None or set(options) - set(_NPZ_OPTIONS):
    raise ValueError(f"Expected --data=npz:PATH[?{'&'.join(o + '=..' for o in _NPZ_OPTIONS)}]. "
                     f"Received: --data=npz:{spec}")
  channels_first = options.get("channels_first", "0").lower() in ("1", "true")
  images = tff.data.load_images(path, options.get("key"), channels_first)
  if "test_key" in options:
    train, test = images, tff.data.load_images(path, options["test_key"], channels_first)
  else:
    train, test = _split(images, test_fraction)
  num_bins = tff.data.num_bins_of(np.concatenate([train.reshape(-1), test.reshape(-1)]))
  query = f"?{query}" if query else ""
  return Data(f"npz:{os.path.abspath(path)}{query}", train.astype(np.float32),
              test.astype(np.float32), num_bins)


def _split(images, test_fraction):
  """A fixed (seed 0) split of `images` into train and test."""
  if not 0. < test_fraction < 1.:
    raise ValueError(f"Expected 0 < test_fraction < 1. Received: test_fraction={test_fraction}")
  train, test = tff.data.train_test_split(images, test_fraction, seed=0)
  if not len(test) or not len(train):
    raise ValueError(f"Expected test_fraction to leave at least one image in each split of "
                     f"{len(images)}. Received: test_fraction={test_fraction}")
  return train, test
