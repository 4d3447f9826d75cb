"""VariationalDequantization: uniform at the start, noise in the bin, log q is the density of
the noise (autodiff Jacobian), the bound stays below log P(x) and training raises it,
seeds, XLA, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb = tfp.bijectors
tfd = tfp.distributions

K = 4
SHAPE = [2, 2, 1]


def levels(n=8, seed=0, shape=SHAPE):
  return tf.constant(np.random.default_rng(seed).integers(0, K, [n] + shape), tf.float32)


def dequantizer(perturb=0., **kwargs):
  bijector = tff.bijectors.VariationalDequantization(
      K, kwargs.pop("event_shape", SHAPE), num_layers=2, hidden_channels=4, **kwargs)
  rng = np.random.default_rng(0)
  for v in bijector.trainable_variables:
    v.assign_add(rng.normal(size=v.shape) * perturb)
  return bijector


CHECKERBOARDS = ["masked", "packed"]


@pytest.mark.parametrize("checkerboard", CHECKERBOARDS)
def test_starts_as_uniform_dequantization(checkerboard):
  x = levels()
  variational = dequantizer(checkerboard=checkerboard)
  uniform = tff.bijectors.UniformDequantization(K)
  np.testing.assert_allclose(variational.inverse(x, seed=(1, 2)), uniform.inverse(x, seed=(1, 2)),
                             atol=1e-6)
  np.testing.assert_allclose(variational.inverse_log_det_jacobian(x, event_ndims=3),
                             -4 * np.log(K), atol=1e-5)


@pytest.mark.parametrize("checkerboard", CHECKERBOARDS)
@pytest.mark.parametrize("perturb", [0., 0.5])
def test_noise_stays_in_the_bin_and_forward_recovers_the_levels(perturb, checkerboard):
  bijector = dequantizer(perturb, checkerboard=checkerboard)
  x = levels(64)
  x_tilde = bijector.inverse(x)
  assert np.all((x_tilde >= x / K) & (x_tilde < (x + 1.) / K))
  np.testing.assert_array_equal(bijector.forward(x_tilde), x)


@pytest.mark.parametrize("checkerboard,num_spline_bins", [("masked", 8), ("packed", 3)])
def test_log_q_is_the_density_of_the_noise(checkerboard, num_spline_bins):
  """log q(u|x) = log p(e) - log|det du/de|, with the Jacobian from autodiff."""
  shape = [2, 4, 1]  # Packed: two pixels of each row go to the networks.
  bijector = dequantizer(0.5, dtype=tf.float64, event_shape=shape, checkerboard=checkerboard,
                         num_spline_bins=num_spline_bins)
  assert all(c.transform.num_bins == num_spline_bins for c in bijector.noise_flow)
  x = tf.cast(levels(5, shape=shape), tf.float64)
  e = tf.constant(np.random.default_rng(1).logistic(size=[5] + shape))
  flat = tf.reshape(e, [5, 8])
  with tf.GradientTape() as tape:
    tape.watch(flat)
    u, log_q = bijector.noise(tf.reshape(flat, [5] + shape), x)
    u = tf.reshape(u, [5, 8])
  _, log_det = tf.linalg.slogdet(tape.batch_jacobian(u, flat))
  log_p = tf.reduce_sum(tfd.Logistic(tf.constant(0., tf.float64), 1.).log_prob(flat), -1)
  np.testing.assert_allclose(log_q, log_p - log_det, rtol=1e-9, atol=1e-9)
  assert not np.allclose(log_q, 0.)  # Perturbed: no longer uniform.


def bin_probabilities(x, density):
  """Exact log P(x) of integer levels under a Beta product on [0, 1)^D."""
  return tf.reduce_sum(tf.math.log(density.cdf((x + 1.) / K) - density.cdf(x / K)), [-3, -2, -1])


def test_the_bound_is_below_log_p_and_training_the_noise_raises_it():
  density = tfd.Beta(2., 5.)  # Varies inside each bin, so uniform noise is not optimal.
  continuous = tfd.Sample(density, SHAPE)
  bijector = dequantizer()
  dist = tfd.TransformedDistribution(continuous, bijector)
  x = levels(32)
  draws = tf.concat([x] * 16, 0)  # 16 noise draws per image.
  exact = float(tf.reduce_mean(bin_probabilities(x, density)))
  bound = lambda: float(tf.reduce_mean(dist.log_prob(tf.identity(draws))))
  before = bound()
  optimizer = tf.keras.optimizers.Adam(1e-2)
  variables = bijector.trainable_variables

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(tf.identity(draws)))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  for _ in range(80):
    step()
  after = bound()
  assert before < after - 0.05, (before, after, exact)
  assert after < exact + 0.02, (after, exact)  # A bound (up to Monte Carlo noise).


def test_seeded_noise_is_reproducible_and_compiles_under_xla():
  bijector = dequantizer(0.3)
  x = levels()
  run = tf.function(lambda x: bijector.inverse(x, seed=tf.constant([3, 4])), jit_compile=True)
  np.testing.assert_allclose(run(x), bijector.inverse(tf.identity(x), seed=(3, 4)), atol=1e-6)
  assert not np.allclose(bijector.inverse(tf.identity(x), seed=(3, 5)), run(x))


def test_sample_noise_takes_numpy_images():
  u, log_q = dequantizer(0.3).sample_noise(levels().numpy(), seed=(1, 2))
  assert u.shape == [8] + SHAPE and log_q.shape == [8]


def test_gradients_reach_every_variable():
  bijector = dequantizer(0.3)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Beta(2., 5.), SHAPE), bijector)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(levels()))
  grads = tape.gradient(loss, bijector.trainable_variables)
  assert bijector.trainable_variables and all(g is not None for g in grads)
  assert all(np.all(np.isfinite(g)) for g in grads)


def test_validate_args_rejects_non_integer_levels():
  bijector = dequantizer(validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected integer levels"):
    bijector.inverse(levels() + 0.5)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected x in \[0, 3\]"):
    bijector.inverse(levels() + 4.)


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_bins=1), "Expected num_bins to be an int >= 2"),
    (dict(event_shape=[4]), r"Expected event_shape \[H, W, C\]"),
    (dict(num_layers=0), "Expected num_layers to be an int >= 1"),
    (dict(num_spline_bins=0), "Expected num_spline_bins to be an int >= 1. Received: "
                              "num_spline_bins=0"),
    (dict(checkerboard="diagonal"), "Expected checkerboard='masked' or 'packed'"),
    (dict(event_shape=[2, 3, 1], checkerboard="packed"),
     r"Expected an even image width for checkerboard='packed' .* Received: "
     r"event_shape=\[2, 3, 1\]"),
])
def test_raises_on_bad_arguments(kwargs, match):
  arguments = {"num_bins": K, "event_shape": SHAPE, **kwargs}
  with pytest.raises(ValueError, match=match):
    tff.bijectors.VariationalDequantization(**arguments)


def test_raises_on_wrong_input():
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 2, 2, 1\]"):
    dequantizer().inverse(tf.zeros([3, 2, 2, 2]))
  with pytest.raises(ValueError, match="Expected x of dtype float32"):
    dequantizer().inverse(tf.zeros([3, 2, 2, 1], tf.float64))
