"""Test configuration: quiet TensorFlow, deterministic seeds per test."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # pylint: disable=g-import-not-at-top
import pytest  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top


@pytest.fixture(autouse=True)
def _seed():
  tf.random.set_seed(1)
  np.random.seed(1)
  yield
