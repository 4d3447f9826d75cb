"""tff.data: the embedded digits, file loaders on generated files, tf.data batches."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff


def rows(images):
  return {image.tobytes() for image in images}


def test_digits_are_integer_levels_split_without_overlap():
  train, test, every = (tff.data.digits(s) for s in ("train", "test", "all"))
  assert train.shape == (1438, 8, 8, 1) and test.shape == (359, 8, 8, 1)
  assert every.shape == (1797, 8, 8, 1) and train.dtype == np.float32
  np.testing.assert_array_equal(every, np.round(every))
  assert every.min() == 0 and every.max() == tff.data.DIGITS_NUM_BINS - 1
  order = np.random.default_rng(0).permutation(1797)
  np.testing.assert_array_equal(test, every[order[:359]])
  np.testing.assert_array_equal(train, every[order[359:]])
  assert rows(train) | rows(test) == rows(every)
  np.testing.assert_array_equal(tff.data.digits("test"), test)
  assert not np.array_equal(tff.data.digits("test", seed=1), test)
  with pytest.raises(ValueError, match="Expected split in"):
    tff.data.digits("validation")


def test_load_images_mnist_style_npy(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, [5, 28, 28]).astype(np.uint8)
  np.save(tmp_path / "mnist.npy", images)
  loaded = tff.data.load_images(tmp_path / "mnist.npy")
  assert loaded.shape == (5, 28, 28, 1) and loaded.dtype == np.uint8
  np.testing.assert_array_equal(loaded[..., 0], images)
  assert tff.data.num_bins_of(loaded) == 256


def test_load_images_cifar_style_npz_channels_first(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, [4, 3, 32, 32]).astype(np.uint8)
  np.savez(tmp_path / "cifar.npz", x_train=images, y_train=np.arange(4))
  loaded = tff.data.load_images(tmp_path / "cifar.npz", key="x_train", channels_first=True)
  np.testing.assert_array_equal(loaded, images.transpose(0, 2, 3, 1))
  with pytest.raises(ValueError, match=r"Expected key= naming one of \['x_train', 'y_train'\]"):
    tff.data.load_images(tmp_path / "cifar.npz")
  with pytest.raises(ValueError, match="Expected key in"):
    tff.data.load_images(tmp_path / "cifar.npz", key="x_test")


def test_load_images_rejects_bad_files(tmp_path):
  with pytest.raises(FileNotFoundError, match="missing.npy"):
    tff.data.load_images(tmp_path / "missing.npy")
  np.save(tmp_path / "halves.npy", np.full([2, 4, 4], 0.5))
  with pytest.raises(ValueError, match="Expected integer pixel levels"):
    tff.data.load_images(tmp_path / "halves.npy")
  np.save(tmp_path / "flat.npy", np.zeros([2, 16], np.uint8))
  with pytest.raises(ValueError, match=r"Expected images \[N, H, W\] or \[N, H, W, C\]"):
    tff.data.load_images(tmp_path / "flat.npy")
  np.save(tmp_path / "negative.npy", -np.ones([2, 4, 4], np.int32))
  with pytest.raises(ValueError, match="Expected pixel levels >= 0"):
    tff.data.load_images(tmp_path / "negative.npy")


def test_image_dataset_batches_every_image_once_per_epoch():
  images = np.arange(10 * 2 * 2 * 1).reshape([10, 2, 2, 1]).astype(np.uint8)
  batches = list(tff.data.image_dataset(images, 4, seed=3))
  assert [b.shape[0] for b in batches] == [4, 4, 2] and batches[0].dtype == tf.float32
  seen = np.concatenate(batches)
  np.testing.assert_array_equal(np.sort(seen[:, 0, 0, 0]), images[:, 0, 0, 0])
  again = np.concatenate(list(tff.data.image_dataset(images, 4, seed=3)))
  np.testing.assert_array_equal(again, seen)
  dropped = list(tff.data.image_dataset(images, 4, drop_remainder=True, shuffle=False))
  assert len(dropped) == 2
  np.testing.assert_array_equal(dropped[0], images[:4])
  repeated = tff.data.image_dataset(images, 4, repeat=True, drop_remainder=True)
  assert len(list(repeated.take(7))) == 7


def test_image_dataset_rejects_bad_arguments():
  with pytest.raises(ValueError, match=r"Expected images \[N, H, W, C\]"):
    tff.data.image_dataset(np.zeros([3, 4, 4]), 2)
  with pytest.raises(ValueError, match="Expected batch_size >= 1"):
    tff.data.image_dataset(np.zeros([3, 4, 4, 1]), 0)
