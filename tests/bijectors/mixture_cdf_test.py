"""MixtureCDF bijector: shared checks, exact mixture density, tails, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks
from tfp_flows.transformers import mixture_cdf

tfb, tfd = tfp.bijectors, tfp.distributions


def make_bijector(kind="logistic", event_shape=(3,), dtype=tf.float32, num_components=4, seed=0):
  bijector = tff.bijectors.MixtureCDF(num_components, event_shape, kind=kind, dtype=dtype)
  rng = np.random.default_rng(seed)
  for variable, scale in ((bijector.logits, 1.), (bijector.locs, 2.), (bijector.log_scales, .5)):
    variable.assign(rng.normal(size=variable.shape) * scale)
  return bijector


def uniform_base(event_shape, dtype):
  return tfd.Independent(tfd.Uniform(tf.zeros(event_shape, dtype), tf.ones(event_shape, dtype)),
                         len(event_shape))


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_shared_bijector_checks(kind, dtype):
  # The bijector maps R^3 into (0, 1)^3: its base side is the data, so the shared checks run
  # on the inverted bijector, whose forward goes from (0, 1) to R.
  bijector = make_bijector(kind, dtype=dtype)
  u = tf.constant(np.random.default_rng(1).uniform(0.05, 0.95, size=(2, 3, 3)), dtype)
  bijector_checks.check_bijector(tfb.Invert(bijector), u, event_ndims=1)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_uniform_base_gives_exactly_the_mixture_density(kind, dtype):
  bijector = make_bijector(kind, dtype=dtype)
  flow = tfd.TransformedDistribution(uniform_base([3], dtype), tfb.Invert(bijector))
  mixture = tfd.Independent(bijector.as_mixture_distribution(), 1)
  x = tf.constant(np.random.default_rng(2).normal(size=(50, 3)) * 3., dtype)
  np.testing.assert_allclose(flow.log_prob(x), mixture.log_prob(x),
                             rtol=1e-5 if dtype == tf.float32 else 1e-12)


@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_scalar_density_integrates_to_one(kind):
  bijector = make_bijector(kind, event_shape=(), dtype=tf.float64)
  flow = tfd.TransformedDistribution(tfd.Uniform(tf.constant(0., tf.float64), 1.),
                                     tfb.Invert(bijector))
  grid = np.linspace(-40., 40., 200001)
  density = np.exp(flow.log_prob(grid))
  np.testing.assert_allclose(np.trapezoid(density, grid), 1., atol=1e-6)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_inverse_is_as_accurate_as_the_rounding_of_y_allows(kind, dtype):
  # y = F(x) carries a rounding error of a few eps * y, which moves the quantile by
  # eps * y / p(x): where the density is low that dominates, so the bound includes it.
  bijector = make_bijector(kind, dtype=dtype)
  eps = np.finfo(dtype.as_numpy_dtype).eps
  x = tf.constant(np.random.default_rng(3).uniform(-8., 8., size=(3000, 3)), dtype)
  y = bijector.forward(x).numpy()
  density = np.exp(mixture_cdf.log_pdf(x, *bijector._mixture()).numpy())  # pylint: disable=protected-access
  error = np.abs(bijector.inverse(tf.constant(y)).numpy() - x.numpy())
  bulk = (y > 1e-4) & (y < 1. - 1e-4)
  bound = 100. * eps * (1. + np.abs(x.numpy())) + 16. * eps * y / density
  assert np.all(error[bulk] <= bound[bulk]), np.max(error[bulk] / bound[bulk])


@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_tails_are_clipped_without_nan(kind):
  bijector = make_bijector(kind)
  x = bijector.inverse(tf.constant([[0., 1., 1e-30], [1. - 1e-7, 1e-7, .5]]))
  assert np.all(np.isfinite(x))
  assert np.all(np.isfinite(bijector.inverse_log_det_jacobian(
      tf.constant([[0., 1., .5]]), event_ndims=1)))
  y = bijector.forward(tf.constant([[-1e4, 1e4, 0.]]))
  assert np.all((y >= 0.) & (y <= 1.))
  assert np.all(np.isfinite(bijector.forward_log_det_jacobian(
      tf.constant([[-50., 50., 0.]]), event_ndims=1)))


def test_trainable_variables():
  bijector = make_bijector()
  assert len(bijector.trainable_variables) == 3
  assert all(v.shape == (3, 4) for v in bijector.trainable_variables)


def test_raises_on_bad_arguments():
  with pytest.raises(ValueError, match="Expected num_components to be an int >= 1"):
    tff.bijectors.MixtureCDF(0, [2])
  with pytest.raises(ValueError, match="Expected kind in"):
    tff.bijectors.MixtureCDF(2, [2], kind="cauchy")
  with pytest.raises(ValueError, match="Expected a floating dtype"):
    tff.bijectors.MixtureCDF(2, [2], dtype=tf.int32)


def test_raises_on_wrong_shape_or_dtype():
  bijector = make_bijector()
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 3\]"):
    bijector.forward(tf.zeros([5, 2]))
  with pytest.raises(ValueError, match="Expected x of dtype float32. Received: x.dtype=int32"):
    bijector.forward(tf.zeros([5, 3], tf.int32))


def test_validate_args_rejects_out_of_range_and_non_finite():
  bijector = tff.bijectors.MixtureCDF(2, [2], validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected y <= 1"):
    bijector.inverse(tf.constant([[0.5, 1.5]]))
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected y >= 0"):
    bijector.inverse(tf.constant([[-0.5, 0.5]]))
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected finite values in x"):
    bijector.forward(tf.constant([[np.nan, 0.5]]))
