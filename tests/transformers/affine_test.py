"""Affine transformer: round trip, log-det, soft clip."""

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
    x = transform.forward(z, params)
  np.testing.assert_allclose(np.log(tape.gradient(x, z)),
                             transform.forward_log_det_jacobian(z, params), rtol=1e-12)
  np.testing.assert_allclose(transform.inverse_log_det_jacobian(x, params),
                             -transform.forward_log_det_jacobian(z, params))


def test_log_scale_is_soft_clipped():
  transform = transformers.Affine(log_scale_bound=2.)
  raw = tf.constant([[[0., 0.01], [0., 1e4], [0., -1e4]]])
  log_scale = transform.forward_log_det_jacobian(None, raw).numpy()
  np.testing.assert_allclose(log_scale[0, 0], 0.01, rtol=1e-4)  # Identity near zero.
  assert np.all(np.abs(log_scale) <= 2.)


def test_unbounded_and_errors():
  assert transformers.Affine(None).forward_log_det_jacobian(None, tf.constant([[0., 50.]])) == 50.
  with pytest.raises(ValueError, match="Expected log_scale_bound > 0"):
    transformers.Affine(-1.)
  with pytest.raises(ValueError, match="Expected transform in"):
    transformers.get("spline")
