"""Invertible1x1Conv: shared checks for both forms, rotation start, log-det, errors."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff
from tests import bijector_checks


def images(dtype, shape=(2, 3, 4, 4, 3), seed=0):
  return tf.constant(np.random.default_rng(seed).normal(size=shape), dtype)


def perturbed(lu_decomposed, dtype):
  bijector = tff.bijectors.Invertible1x1Conv(3, lu_decomposed=lu_decomposed, seed=1, dtype=dtype)
  rng = np.random.default_rng(2)
  for v in bijector.trainable_variables:  # Away from a rotation, so the log-det is not 0.
    v.assign_add(rng.normal(size=v.shape) * 0.3)
  return bijector


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("lu_decomposed", [True, False], ids=["lu", "plain"])
def test_shared_bijector_checks(lu_decomposed, dtype):
  bijector_checks.check_bijector(perturbed(lu_decomposed, dtype), images(dtype), event_ndims=3)


@pytest.mark.parametrize("lu_decomposed", [True, False], ids=["lu", "plain"])
def test_starts_as_a_rotation(lu_decomposed):
  bijector = tff.bijectors.Invertible1x1Conv(4, lu_decomposed=lu_decomposed, seed=3,
                                             dtype=tf.float64)
  weight = bijector.weight().numpy()
  np.testing.assert_allclose(weight @ weight.T, np.eye(4), atol=1e-12)
  np.testing.assert_allclose(
      bijector.forward_log_det_jacobian(images(tf.float64, (2, 2, 2, 4)), event_ndims=3), 0.,
      atol=1e-12)


@pytest.mark.parametrize("lu_decomposed", [True, False], ids=["lu", "plain"])
def test_the_data_to_latent_direction_applies_w_as_in_glow(lu_decomposed):
  """z = W x per pixel, log|det dz/dx| = H W log|det W|."""
  bijector = perturbed(lu_decomposed, tf.float64)
  x = images(tf.float64, (2, 5, 3, 3))
  weight = bijector.weight().numpy()
  np.testing.assert_allclose(bijector.inverse(x), np.einsum("ij,...j->...i", weight, x),
                             rtol=1e-12)
  expected = 15 * np.log(np.abs(np.linalg.det(weight)))
  np.testing.assert_allclose(bijector.inverse_log_det_jacobian(x, event_ndims=3), expected,
                             rtol=1e-12)


def test_every_lu_parameter_is_trained():
  bijector = tff.bijectors.Invertible1x1Conv(3, seed=0)
  assert sum(int(np.prod(v.shape)) for v in bijector.trainable_variables) == 9
  with tf.GradientTape() as tape:
    log_det = bijector.inverse_log_det_jacobian(images(tf.float32, (1, 2, 2, 3)), event_ndims=3)
    loss = log_det + tf.reduce_sum(tf.square(bijector.inverse(images(tf.float32, (1, 2, 2, 3)))))
  (grad,) = tape.gradient(loss, bijector.trainable_variables)
  assert np.all(grad.numpy() != 0.)


def test_raises_on_wrong_channels_dtype_and_arguments():
  bijector = tff.bijectors.Invertible1x1Conv(3)
  with pytest.raises(ValueError, match=r"Expected z of shape \[\.\.\., \?, \?, 3\]"):
    bijector.forward(tf.zeros([1, 4, 4, 2]))
  with pytest.raises(ValueError, match="Expected z of dtype float32"):
    bijector.forward(tf.zeros([1, 4, 4, 3], tf.float64))
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., \?, \?, 3\]"):
    bijector.inverse_log_det_jacobian(tf.zeros([1, 4, 4, 4]), event_ndims=3)  # Was 0.0.
  with pytest.raises(ValueError, match="Expected channels to be an int >= 1"):
    tff.bijectors.Invertible1x1Conv(0)
