"""flowpp: shared checks on its continuous part, the variational bound, integer samples,
mixture-CDF couplings and a dequantizer that train, a short fit, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks
from tests import tiny_models

tfb = tfp.bijectors
tfd = tfp.distributions


def perturbed(dtype=tf.float32, **overrides):
  """Every weight moved off its start, the same at every run: with an unseeded start, about
  1 draw in 50 maps some test points so far that the logit preprocessing saturates (x at
  its bound, an ill-conditioned or infinite round trip)."""
  keras.utils.set_random_seed(0)
  dist = tiny_models.build("flowpp", dtype=dtype, **overrides)
  tff.bijectors.initialize_act_norms(dist, tf.cast(tiny_models.data("flowpp", 64), dtype))
  rng = np.random.default_rng(0)
  for v in dist.trainable_variables:
    v.assign_add(rng.normal(size=v.shape) * 0.1)
  return dist


def test_layout_is_dequantization_logit_then_mixture_cdf_couplings():
  dist = tiny_models.build("flowpp")
  dequantization, logit, *flow = dist.bijector.bijectors
  assert isinstance(dequantization, tff.bijectors.VariationalDequantization)
  assert isinstance(logit, tff.bijectors.LogitPreprocessing)
  couplings = [m for m in dist.bijector.submodules if isinstance(m, tff.bijectors.Coupling)
               and isinstance(m.transform, tff.transformers.MixtureCDFLogit)]
  assert len(couplings) == 4 and all(c.transform.affine for c in couplings)
  priors = [m for m in dist.bijector.submodules if isinstance(m, tff.bijectors.Coupling)
            and isinstance(m.transform, tff.transformers.Affine)]
  assert len(priors) == 1  # Glow's learned prior at the one split.


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
def test_shared_bijector_checks_on_the_continuous_flow(dtype):
  dist = perturbed(dtype=dtype)
  continuous = tfb.Chain(dist.bijector.bijectors[1:])  # Logit and the flow.
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + tiny_models.IMAGE) * 0.5,
                  dtype)
  bijector_checks.check_bijector(continuous, z, event_ndims=3)


@pytest.mark.parametrize("checkerboard", ["masked", "packed"])
def test_log_prob_is_the_variational_bound(checkerboard):
  dist = perturbed(checkerboard=checkerboard)
  dequantization, *rest = dist.bijector.bijectors
  masks = {c.parameters["mask"] for c in dequantization.noise_flow}
  assert masks == {tff.bijectors.coupling.coupling.checkerboard_mask(checkerboard)}
  x = tf.constant(tiny_models.data("flowpp", 6))
  seed = tf.constant([4, 5])
  log_prob = dist.log_prob(x, bijector_kwargs=tff.models.bijector_kwargs(dist, seed=seed))
  u, log_q = dequantization.sample_noise(x, seed=seed)
  x_tilde = (x + u) / tiny_models.IMAGE_BINS
  continuous = tfd.TransformedDistribution(dist.distribution, tfb.Chain(rest))
  expected = continuous.log_prob(x_tilde) - log_q - 32 * np.log(tiny_models.IMAGE_BINS)
  np.testing.assert_allclose(log_prob, expected, rtol=1e-5)


def test_samples_are_integer_images_with_finite_log_prob():
  dist = perturbed()
  x = dist.sample(20, temperature=0.8, seed=(1, 2)).numpy()
  assert x.shape == (20, *tiny_models.IMAGE)
  np.testing.assert_array_equal(x, np.round(x))
  assert x.min() >= 0 and x.max() <= tiny_models.IMAGE_BINS - 1
  assert np.all(np.isfinite(dist.log_prob(x)))


def test_recompute_gradients_wraps_every_coupling_network_and_keeps_the_log_prob():
  keras.utils.set_random_seed(0)
  plain = tiny_models.build("flowpp")
  recomputed = tiny_models.build("flowpp", recompute_gradients=True)
  couplings = [m for m in recomputed.bijector.submodules
               if isinstance(m, tff.bijectors.Coupling)
               and isinstance(m.transform, tff.transformers.MixtureCDFLogit)]
  assert len(couplings) == 4
  assert all(isinstance(c.network, tff.nn._recompute.Recomputed) for c in couplings)
  for source, target in zip(plain.variables, recomputed.variables, strict=True):
    target.assign(source)
  x = tf.constant(tiny_models.data("flowpp", 6))
  seed = tf.constant([4, 5])
  np.testing.assert_array_equal(
      recomputed.log_prob(x, bijector_kwargs=tff.models.bijector_kwargs(recomputed, seed=seed)),
      plain.log_prob(x, bijector_kwargs=tff.models.bijector_kwargs(plain, seed=seed)))


def test_a_short_fit_lowers_the_test_bits_per_dim_and_trains_every_part():
  train, test = tff.data.digits("train")[:256], tff.data.digits("test")[:128]
  dist = tff.models.flowpp([8, 8, 1], num_bins=17, levels=2, depth=1, hidden_channels=8,
                           num_components=4, dequantization_layers=2,
                           dequantization_hidden_channels=8, seed=0)
  tff.bijectors.initialize_act_norms(dist, train[:128])
  bpd = lambda x: tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x), [8, 8, 1]))
  before = bpd(test).numpy()
  variables = dist.trainable_variables
  start = [v.numpy().copy() for v in variables]
  optimizer = tf.keras.optimizers.Adam(3e-3)

  @tf.function
  def step(x):
    with tf.GradientTape() as tape:
      loss = bpd(x)
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  for i in range(40):
    step(train[(i % 4) * 64:(i % 4 + 1) * 64])
  after = bpd(test).numpy()
  assert np.isfinite(after) and after < before - 0.3, (before, after)
  moved = [not np.array_equal(a, v.numpy()) for a, v in zip(start, variables)]
  assert all(moved)  # The dequantizer, the couplings and the prior all train.


@pytest.mark.parametrize("kwargs,match", [
    (dict(image_shape=[6, 6, 1]), "Expected H and W divisible by 4"),
    (dict(image_shape=[4, 4, 1], num_components=0), "Expected num_components to be an int >= 1"),
    (dict(image_shape=[4, 4, 1], num_bins=1), "Expected num_bins to be an int >= 2"),
    (dict(image_shape=[4, 4, 1], checkerboard="diagonal"),
     "Expected checkerboard='masked' or 'packed'. Received: checkerboard='diagonal'"),
])
def test_raises_on_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tff.models.flowpp(**kwargs)
