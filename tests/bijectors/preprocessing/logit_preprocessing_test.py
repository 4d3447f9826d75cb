"""LogitPreprocessing: shared checks, the RealNVP formula, edges, errors."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tests import bijector_checks
from tfp_flows.bijectors.preprocessing.logit_preprocessing import LogitPreprocessing

DTYPES = pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])


@DTYPES
@pytest.mark.parametrize("shape, event_ndims", [((2, 3, 4), 1), ((2, 3, 2, 2, 2), 3)],
                         ids=["vector", "image"])
def test_shared_bijector_checks(dtype, shape, event_ndims):
  z = tf.constant(np.random.default_rng(0).normal(scale=2., size=shape), dtype)
  bijector_checks.check_bijector(LogitPreprocessing(0.05), z, event_ndims=event_ndims,
                                 has_variables=False)


@DTYPES
def test_inverse_methods_are_correct(dtype):
  alpha = 0.05
  x = np.array([0., 0.25, 0.5, 0.9, 1.])
  p = alpha + (1. - 2. * alpha) * x
  bijector = LogitPreprocessing(alpha)
  y = bijector.inverse(tf.constant(x, dtype))
  assert y.dtype == dtype
  np.testing.assert_allclose(y, np.log(p / (1. - p)), rtol=1e-6, atol=1e-6)
  np.testing.assert_allclose(
      bijector.inverse_log_det_jacobian(tf.constant(x, dtype), event_ndims=0),
      math.log(1. - 2. * alpha) - np.log(p) - np.log(1. - p), rtol=1e-6)
  np.testing.assert_allclose(bijector.forward(tf.constant([0., 2.], dtype)),
                             [(0.5 - alpha) / 0.9, (1. / (1. + math.exp(-2.)) - alpha) / 0.9],
                             rtol=1e-6)


def test_log_dets_finite_at_edges_and_for_large_z():
  bijector = LogitPreprocessing(0.05)
  ildj = bijector.inverse_log_det_jacobian(tf.constant([0., 1.]), event_ndims=0)
  assert np.all(np.isfinite(ildj))
  np.testing.assert_allclose(ildj, [math.log(0.9) - math.log(0.05) - math.log(0.95)] * 2,
                             rtol=1e-6)
  fldj = bijector.forward_log_det_jacobian(tf.constant([-200., 200.]), event_ndims=0)
  np.testing.assert_allclose(fldj, [-200. - math.log(0.9)] * 2, rtol=1e-6)


def test_forward_image_exceeds_unit_interval():
  bijector = LogitPreprocessing(0.05)
  np.testing.assert_allclose(bijector.forward(tf.constant([-60., 60.])),
                             [-0.05 / 0.9, 0.95 / 0.9], rtol=1e-6)


@pytest.mark.parametrize("bad", [1.2, -0.1, float("nan")], ids=["above", "below", "nan"])
def test_raises_on_invalid_input_with_validate_args(bad):
  bijector = LogitPreprocessing(validate_args=True)
  x = tf.constant([0.5, bad])
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected x in \[0, 1\]"):
    bijector.inverse(x)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected x in \[0, 1\]"):
    tf.function(lambda t: bijector.inverse(t))(tf.identity(x))
  np.testing.assert_allclose(bijector.inverse(tf.constant([0., 1.])),
                             [math.log(0.05 / 0.95), math.log(0.95 / 0.05)], rtol=1e-6)


@pytest.mark.parametrize("alpha", [-0.1, 0.5, 0.7, "0.05", True])
def test_raises_on_bad_alpha(alpha):
  with pytest.raises(ValueError, match="Expected alpha to be a float in"):
    LogitPreprocessing(alpha)


def test_raises_on_integer_dtype():
  bijector = LogitPreprocessing()
  with pytest.raises(ValueError, match="Expected x of a floating dtype. Received: x.dtype=int32"):
    bijector.inverse(tf.constant([0, 1]))
  with pytest.raises(ValueError, match="Expected z of a floating dtype"):
    bijector.forward(tf.constant([0, 1]))
