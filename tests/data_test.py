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
  assert every.shape == (1797, 8, 8, 1)
  assert train.dtype == test.dtype == every.dtype == np.float32
  np.testing.assert_array_equal(every, np.round(every))
  assert every.min() == 0 and every.max() == tff.data.DIGITS_NUM_BINS - 1
  assert len(rows(every)) == 1797  # No duplicate images, so rows stand for indices.
  assert not rows(train) & rows(test)
  assert rows(train) | rows(test) == rows(every)
  order = np.random.default_rng(0).permutation(1797)
  np.testing.assert_array_equal(test, every[order[:359]])
  np.testing.assert_array_equal(train, every[order[359:]])


def test_digits_split_is_reproducible_and_validated():
  np.testing.assert_array_equal(tff.data.digits("test"), tff.data.digits("test"))
  assert rows(tff.data.digits("test", seed=1)) != rows(tff.data.digits("test"))
  assert tff.data.digits("test", test_fraction=0.1).shape == (180, 8, 8, 1)
  assert tff.data.digits("train", test_fraction=0.).shape == (1797, 8, 8, 1)
  with pytest.raises(ValueError, match="Expected split in"):
    tff.data.digits("validation")
  with pytest.raises(ValueError, match="Expected 0 <= test_fraction <= 1"):
    tff.data.digits("test", test_fraction=1.5)


def test_load_images_mnist_style_npy(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, [5, 28, 28]).astype(np.uint8)
  np.save(tmp_path / "mnist.npy", images)
  loaded = tff.data.load_images(tmp_path / "mnist.npy")
  assert loaded.shape == (5, 28, 28, 1) and loaded.dtype == np.uint8
  np.testing.assert_array_equal(loaded[..., 0], images)
  assert tff.data.num_bins_of(loaded) == 256
  np.save(tmp_path / "levels.npy", np.array([[[0, 3]]], np.int32))
  assert tff.data.num_bins_of(tff.data.load_images(str(tmp_path / "levels.npy"))) == 4


def test_load_images_cifar_style_npz_channels_first(tmp_path):
  images = np.random.default_rng(0).integers(0, 256, [4, 3, 32, 32]).astype(np.uint8)
  np.savez(tmp_path / "cifar.npz", x_train=images, y_train=np.arange(4))
  loaded = tff.data.load_images(tmp_path / "cifar.npz", key="x_train", channels_first=True)
  assert loaded.shape == (4, 32, 32, 3) and loaded.dtype == np.uint8
  np.testing.assert_array_equal(loaded, images.transpose(0, 2, 3, 1))
  np.savez(tmp_path / "one.npz", images)
  np.testing.assert_array_equal(tff.data.load_images(tmp_path / "one.npz"), images)
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
  np.save(tmp_path / "whole.npy", np.full([2, 4, 4], 3.))
  assert tff.data.load_images(tmp_path / "whole.npy").dtype == np.float64
  np.save(tmp_path / "flat.npy", np.zeros([2, 16], np.uint8))
  with pytest.raises(ValueError, match=r"Expected images of shape \[N, H, W\] or"):
    tff.data.load_images(tmp_path / "flat.npy")
  np.save(tmp_path / "negative.npy", -np.ones([2, 4, 4], np.int32))
  with pytest.raises(ValueError, match="Expected pixel levels >= 0"):
    tff.data.load_images(tmp_path / "negative.npy")
  np.save(tmp_path / "text.npy", np.full([2, 4, 4], "a"))
  with pytest.raises(ValueError, match="Expected a numeric dtype"):
    tff.data.load_images(tmp_path / "text.npy")


def test_image_dataset_batches_every_image_once_per_epoch():
  images = np.arange(10 * 2 * 2 * 1).reshape([10, 2, 2, 1]).astype(np.uint8)
  batches = [b.numpy() for b in tff.data.image_dataset(images, 4, seed=3)]
  assert [b.shape for b in batches] == [(4, 2, 2, 1)] * 2 + [(2, 2, 2, 1)]
  assert batches[0].dtype == np.float32
  seen = np.concatenate(batches)
  assert not np.array_equal(seen, images)  # Shuffled...
  np.testing.assert_array_equal(seen[np.argsort(seen[:, 0, 0, 0])], images)  # ...losslessly.
  again = np.concatenate(list(tff.data.image_dataset(images, 4, seed=3)))
  np.testing.assert_array_equal(again, seen)
  other = np.concatenate(list(tff.data.image_dataset(images, 4, seed=4)))
  assert not np.array_equal(other, seen)


def test_image_dataset_drop_remainder_repeat_and_dtype():
  images = np.arange(10 * 2 * 2 * 1).reshape([10, 2, 2, 1]).astype(np.uint8)
  dropped = list(tff.data.image_dataset(images, 4, drop_remainder=True, shuffle=False))
  assert len(dropped) == 2
  np.testing.assert_array_equal(dropped[1], images[4:8])
  repeated = tff.data.image_dataset(images, 5, seed=1, repeat=True)
  assert repeated.element_spec.shape.as_list() == [None, 2, 2, 1]
  epochs = np.concatenate(list(repeated.take(6))).reshape([3, 10, 2, 2, 1])
  for epoch in epochs:  # Each epoch holds every image once.
    np.testing.assert_array_equal(np.sort(epoch[:, 0, 0, 0]), images[:, 0, 0, 0])
  doubles = next(iter(tff.data.image_dataset(images, 3, shuffle=False, dtype=tf.float64)))
  assert doubles.dtype == tf.float64
  np.testing.assert_array_equal(doubles, images[:3])


def test_image_dataset_rejects_bad_arguments():
  with pytest.raises(ValueError, match=r"Expected images of shape \[N, H, W, C\]"):
    tff.data.image_dataset(np.zeros([3, 4, 4]), 2)
  for batch_size in (0, 2.5):
    with pytest.raises(ValueError, match="Expected batch_size to be an int >= 1"):
      tff.data.image_dataset(np.zeros([3, 4, 4, 1]), batch_size)
  with pytest.raises(ValueError, match="Expected a floating dtype"):
    tff.data.image_dataset(np.zeros([3, 4, 4, 1]), 2, dtype=tf.int32)


def test_train_test_split_is_a_fixed_disjoint_cut():
  images = np.arange(10, dtype=np.float32).reshape(10, 1, 1, 1)
  train, test = tff.data.train_test_split(images, 0.3, seed=4)
  assert (len(train), len(test)) == (7, 3)
  np.testing.assert_array_equal(np.sort(np.concatenate([train, test]).ravel()), np.arange(10))
  again = tff.data.train_test_split(images, 0.3, seed=4)
  np.testing.assert_array_equal(again[1], test)


def test_digits_with_labels_are_the_same_images_with_their_digits():
  for split in ("train", "test", "all"):
    images, labels = tff.data.digits(split, with_labels=True)
    np.testing.assert_array_equal(images, tff.data.digits(split))
    assert labels.dtype == np.int32 and labels.shape == images.shape[:1]
    assert set(np.unique(labels)) == set(range(10))
  from sklearn import datasets  # pylint: disable=import-outside-toplevel
  loaded = datasets.load_digits()
  images, labels = tff.data.digits("test", with_labels=True)
  index = np.flatnonzero((loaded.images == images[0, ..., 0]).all(axis=(1, 2)))[0]
  assert labels[0] == loaded.target[index]


def test_image_dataset_with_labels_yields_image_label_pairs_in_step():
  images = np.arange(6, dtype=np.float32).reshape(6, 1, 1, 1)
  labels = np.arange(6) % 3
  batches = list(tff.data.image_dataset(images, 4, seed=1, labels=labels))
  seen = np.concatenate([b[0].numpy().reshape(-1) for b in batches])
  seen_labels = np.concatenate([b[1].numpy() for b in batches])
  np.testing.assert_array_equal(seen_labels, seen.astype(int) % 3)
  assert batches[0][1].dtype == tf.int32
  with pytest.raises(ValueError, match=r"Expected integer labels of shape \[N\] = \[6\]"):
    tff.data.image_dataset(images, 4, labels=labels[:5])
  with pytest.raises(ValueError, match="Expected integer labels"):
    tff.data.image_dataset(images, 4, labels=labels.astype(np.float32))
