"""UniformDequantization: bins, noise, constant log-dets, bits/dim, sampling, errors.

The shared `bijector_checks` do not apply: this is a surjection, not a bijection (`forward`
is a step function, `inverse` is random), so there is no Jacobian to compare with autodiff.
These tests check its real properties instead.
"""

import math

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tfp_flows.bijectors.preprocessing import uniform_dequantization
from tfp_flows.bijectors.preprocessing.logit_preprocessing import LogitPreprocessing
from tfp_flows.bijectors.preprocessing.uniform_dequantization import UniformDequantization

tfb = tfp.bijectors
tfd = tfp.distributions
K = 256
IN_RANGE = r"Expected x in \[0, 255\]"
DTYPES = pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])


def assert_close(actual, expected):  # Equal up to rounding.
  rtol = 1e-6 if actual.dtype == tf.float32 else 1e-14
  np.testing.assert_allclose(actual, expected, rtol=rtol)


def levels(dtype, shape=(5, 4, 4, 3)):
  return tf.constant(np.random.default_rng(0).integers(0, K, size=shape), dtype)


@DTYPES
def test_inverse_lands_in_the_bin_and_forward_recovers_x_exactly(dtype):
  bijector = UniformDequantization(K)
  x = levels(dtype)
  x_tilde = bijector.inverse(tf.identity(x))
  assert x_tilde.dtype == dtype and x_tilde.shape == x.shape
  assert np.all(x_tilde >= x / K) and np.all(x_tilde < (x + 1.) / K)
  np.testing.assert_array_equal(bijector.forward(x_tilde), x)
  np.testing.assert_array_equal(bijector.forward(tf.identity(x_tilde)), x)  # Not the cache.
  assert not np.array_equal(x_tilde, bijector.inverse(tf.identity(x)))  # Fresh noise.
  np.testing.assert_array_equal(bijector.inverse(x), bijector.inverse(x))  # TFP's cache.
  seeded = bijector.inverse(tf.identity(x), seed=(1, 2))  # TFP's stateless seed: 2 ints.
  np.testing.assert_array_equal(seeded, bijector.inverse(tf.identity(x), seed=(1, 2)))
  assert not np.array_equal(seeded, bijector.inverse(tf.identity(x), seed=(1, 3)))


@DTYPES
@pytest.mark.parametrize("num_bins", [2, 17, 255, 256, 1000])
def test_round_trip_is_exact_at_bin_edges(dtype, num_bins):
  x = tf.range(num_bins, dtype=dtype)  # Rounding of `x + u` or `t K` must not change the bin:
  for u in tf.constant([0., np.nextafter(np.array(1., dtype.as_numpy_dtype), 0.)], dtype):
    t = uniform_dequantization.dequantize(x, tf.fill([num_bins], u), num_bins)
    assert np.all(t >= x / num_bins) and np.all(t < (x + 1.) / num_bins)
    np.testing.assert_array_equal(UniformDequantization(num_bins).forward(t), x)


def test_noise_is_uniform_within_the_bin():
  n = 20000
  noise = UniformDequantization(K).inverse(tf.zeros([n], tf.float64)).numpy()
  sigma = (1. / K) / math.sqrt(12. * n)
  assert abs(noise.mean() - 0.5 / K) < 5. * sigma
  assert noise.min() >= 0. and noise.max() < 1. / K
  assert abs(noise.std() - (1. / K) / math.sqrt(12.)) < 0.02 * (1. / K)


@DTYPES
def test_log_dets_are_constant(dtype):
  bijector = UniformDequantization(K)
  x = levels(dtype)
  ildj = bijector.inverse_log_det_jacobian(x, event_ndims=3)
  assert_close(ildj, -4 * 4 * 3 * math.log(K))
  assert_close(bijector.forward_log_det_jacobian(bijector.inverse(x), event_ndims=3), -ildj)
  assert_close(bijector.inverse_log_det_jacobian(x, event_ndims=0), -math.log(K))


@DTYPES
def test_uniform_base_gives_log2_k_bits_per_dim(dtype):
  base = tfd.Sample(tfd.Uniform(tf.constant(0., dtype), 1.), [12])  # Density 1 on [0, 1)^12.
  log_prob = tfd.TransformedDistribution(base, UniformDequantization(K)).log_prob(
      levels(dtype, shape=(7, 12)))
  assert_close(log_prob, np.full([7], -12 * math.log(K)))
  assert_close(tff.metrics.bits_per_dim(log_prob, [12]), np.full([7], 8.))


def test_bits_per_dim_with_and_without_dequantization_agree():
  shape = [4, 4, 3]
  logit = LogitPreprocessing(0.05)
  base = tfd.Sample(tfd.Normal(tf.constant(0., tf.float64), 1.), shape)
  dist = tfd.TransformedDistribution(base, tfb.Chain([UniformDequantization(K), logit]))
  cont = tfd.TransformedDistribution(base, logit)
  x = levels(tf.float64)
  bpd = lambda seed: tff.metrics.bits_per_dim(dist.log_prob(
      x, bijector_kwargs={"uniform_dequantization": {"seed": tf.constant(seed)}}), shape)
  x_tilde = UniformDequantization(K).inverse(tf.identity(x), seed=tf.constant([4, 2]))
  expected = tff.metrics.bits_per_dim(cont.log_prob(x_tilde), shape, num_bins=K)
  np.testing.assert_allclose(bpd([4, 2]), expected, rtol=1e-14)  # Same noise: up to rounding.
  assert not np.any(bpd([4, 2]) == bpd([4, 3]))  # The seed reached the dequantization.


def test_samples_are_integer_levels_covering_every_bin():
  dist = tfd.TransformedDistribution(tfd.Uniform(0., 1.), UniformDequantization(17))
  samples = dist.sample(5000, seed=(0, 1)).numpy()
  np.testing.assert_array_equal(samples, np.round(samples))
  assert samples.min() >= 0. and samples.max() <= 16.
  assert set(np.unique(samples)) == set(range(17))


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_jittable(jit_compile):
  bijector = UniformDequantization(K)
  x = levels(tf.float32)
  both = tf.function(lambda x: (bijector.inverse(x), bijector.inverse(x, seed=(1, 2))),
                     jit_compile=jit_compile)
  for x_tilde in both(x):
    assert np.all(x_tilde >= x / K) and np.all(x_tilde < (x + 1.) / K)
  z = tf.random.uniform([5, 4, 4, 3], -0.1, 1.1)
  np.testing.assert_array_equal(tf.function(bijector.forward, jit_compile=jit_compile)(z),
                                np.clip(np.floor(z.numpy() * K), 0, K - 1))


@pytest.mark.parametrize("bad, message", [(0.5, "Expected integer levels"), (-1., IN_RANGE),
                                          (256., IN_RANGE), (float("nan"), "Expected")])
def test_raises_on_invalid_levels_with_validate_args(bad, message):
  bijector = UniformDequantization(K, validate_args=True)
  x = tf.constant([0., 255., bad])
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    bijector.inverse(x)
  with pytest.raises(tf.errors.InvalidArgumentError, match=message):
    tf.function(lambda t: bijector.inverse(t))(tf.Variable(x))  # Values unknown at trace.
  assert bijector.inverse(tf.constant([0., 255.])).shape == [2]


@pytest.mark.parametrize("dtype", [tf.int32, tf.float16])
def test_raises_on_bad_num_bins_or_dtype(dtype):
  for num_bins in (1, 0, 2.5, "256", True):
    with pytest.raises(ValueError, match="Expected num_bins to be an int >= 2"):
      UniformDequantization(num_bins)
  bijector = UniformDequantization(K)
  for method, name in ((bijector.inverse, "x"), (bijector.forward, "z"),
                       (bijector.inverse_log_det_jacobian, "x")):
    with pytest.raises(ValueError, match=f"Expected {name} of dtype float32 or float64. "
                       f"Received: {name}.dtype={dtype.name}"):
      method(tf.zeros([3], dtype))
