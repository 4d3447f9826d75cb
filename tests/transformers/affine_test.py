"""Affine transformers: round trips, log-dets, soft clip; the names `transformers.get` knows."""

import numpy as np
import pytest
import tensorflow as tf

from tfp_flows import transformers


def test_round_trip_and_log_det():
  transform = transformers.Affine()
  params = tf.random.normal([7, 3, 2], dtype=tf.float64) * 3.
  z = tf.random.normal([7, 3], dtype=tf.float64)
  x = transform.forward(z, params)
  np.testing.assert_allclose(transform.inverse(x, params), z, rtol=1e-12)
  with tf.GradientTape() as tape:
    tape.watch(z)
    x, forward_log_det = transform.forward_and_log_det(z, params)
  np.testing.assert_allclose(np.log(tape.gradient(x, z)), forward_log_det, rtol=1e-12)
  np.testing.assert_allclose(transform.inverse_and_log_det(x, params)[1], -forward_log_det)


def test_log_scale_is_soft_clipped():
  transform = transformers.Affine(log_scale_bound=2.)
  raw = tf.constant([[[0., 0.01], [0., 1e4], [0., -1e4]]])
  log_scale = transform.forward_and_log_det(tf.zeros([1, 3]), raw)[1].numpy()
  np.testing.assert_allclose(log_scale[0, 0], 0.01, rtol=1e-4)  # Identity near zero.
  assert np.all(np.abs(log_scale) <= 2.)


def test_unbounded_and_errors():
  assert transformers.Affine(None).forward_and_log_det(tf.zeros([1]),
                                                      tf.constant([[0., 50.]]))[1] == 50.
  with pytest.raises(ValueError, match="Expected log_scale_bound > 0"):
    transformers.Affine(-1.)
  with pytest.raises(ValueError, match="Expected transform in"):
    transformers.get("cubic")
  with pytest.raises(ValueError, match=r"3 \* n - 1 params per element"):
    transformers.get("spline", num_params=7)
