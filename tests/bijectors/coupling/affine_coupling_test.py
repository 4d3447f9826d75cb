"""AffineCoupling: shared checks for every mask, identity start, masks, custom network, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfd = tfp.distributions

CASES = [  # (event shape, mask, parity, shift_only, network)
    ([4], "half", 0, False, None),
    ([5], "half", 1, False, None),
    ([5], "checkerboard", 1, False, None),
    ([4], "half", 1, True, None),
    ([4, 4, 2], "checkerboard", 0, False, None),
    ([4, 4, 2], "channel", 1, False, None),
    ([2, 2, 3], "channel", 0, False, "glow"),
]


def perturbed(event_shape, mask, parity, shift_only, dtype, network=None):
  bijector = tff.bijectors.AffineCoupling(event_shape, mask, parity, shift_only=shift_only,
                                          network=network, hidden_units=(8,),
                                          hidden_channels=4, num_blocks=1, dtype=dtype)
  rng = np.random.default_rng(0)
  for v in bijector.network.weights:  # Away from the identity start.
    v.assign(rng.normal(size=v.shape) * 0.3)
  return bijector


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("event_shape,mask,parity,shift_only,network", CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}-{'nice' if c[3] else 'affine'}-{c[4]}"
                              for c in CASES])
def test_shared_bijector_checks(event_shape, mask, parity, shift_only, network, dtype):
  bijector = perturbed(event_shape, mask, parity, shift_only, dtype, network)
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + event_shape), dtype)
  bijector_checks.check_bijector(bijector, z, event_ndims=len(event_shape))


@pytest.mark.parametrize("mask,parity", [("checkerboard", 0), ("channel", 0), ("channel", 1)])
def test_copies_the_masked_half_and_starts_near_identity(mask, parity):
  bijector = tff.bijectors.AffineCoupling([4, 4, 3], mask, parity, hidden_channels=4)
  z = tf.random.normal([3, 4, 4, 3])
  x = bijector.forward(z)
  kept = bijector.mask.astype(bool)
  np.testing.assert_array_equal(x.numpy()[:, kept], z.numpy()[:, kept])
  # Zero network output: s ~ sigmoid(2) (floored form), t = 0 on the transformed half.
  inverse_s = np.exp(10. * np.tanh(np.log1p(np.exp(-2.)) / 10.))
  np.testing.assert_allclose(inverse_s, 1. + np.exp(-2.), rtol=1e-5)
  np.testing.assert_allclose(x.numpy()[:, ~kept], z.numpy()[:, ~kept] * inverse_s, rtol=1e-6)


def test_masks():
  mask = tff.bijectors.coupling.coupling_mask
  np.testing.assert_array_equal(mask([4], "half", 0), [1, 1, 0, 0])
  np.testing.assert_array_equal(mask([4], "half", 1), [0, 0, 1, 1])
  np.testing.assert_array_equal(mask([2, 2, 1], "checkerboard", 0)[..., 0], [[1, 0], [0, 1]])
  np.testing.assert_array_equal(mask([1, 1, 4], "channel", 0)[0, 0], [1, 1, 0, 0])


def test_copied_part_alone_drives_the_transformed_part():
  bijector = perturbed([4, 4, 4], "channel", 1, False, tf.float64)
  z = tf.random.normal([2, 4, 4, 4], dtype=tf.float64)
  x = bijector.forward(z)
  z_moved = tf.concat([z[..., :2] + 1., z[..., 2:]], -1)  # Transformed channels 0-1 change.
  x_moved = bijector.forward(z_moved)
  np.testing.assert_allclose(x_moved[..., :2] - x[..., :2],
                             tf.exp(10. * tf.tanh(tf.nn.softplus(
                                 -2. - bijector.network(z[..., 2:])[..., 1]) / 10.)),
                             rtol=1e-12)  # d x / d z = 1 / s(copied part), unchanged.
  np.testing.assert_array_equal(x_moved[..., 2:], z[..., 2:])


def test_training_direction_only_contracts():
  """ildj = sum log s <= 0 whatever the weights: the likelihood cannot blow up through s."""
  bijector = perturbed([4, 4, 2], "checkerboard", 0, False, tf.float32)
  for v in bijector.network.weights:
    v.assign(v * 30.)
  x = tf.random.normal([16, 4, 4, 2]) * 10.
  ildj = bijector.inverse_log_det_jacobian(x, event_ndims=3)
  assert np.all(ildj <= 0.) and np.all(np.isfinite(bijector.inverse(tf.identity(x))))


def test_sampling_stays_finite_when_the_network_asks_for_a_vanishing_scale():
  """log s is floored at -10: x is not contracted to 0, so sampling never computes 0 * inf."""
  bijector = perturbed([4], "half", 0, False, tf.float32)
  for v in bijector.network.weights:
    v.assign(tf.fill(v.shape, -5.))  # Raw scale ~ -1e3: s = sigmoid(-1e3) = 0 unfloored.
  x = tf.constant([[800., 1200., 1000., -600.]])
  z = bijector.inverse(x)
  assert np.all(np.isfinite(z)) and np.all(z.numpy()[:, 2:] != 0.)
  ildj = bijector.inverse_log_det_jacobian(x, event_ndims=1)
  assert np.all(ildj >= -2 * 10.)
  np.testing.assert_allclose(bijector.forward(tf.identity(z)), x, rtol=1e-5)


def test_network_shapes():
  shapes = tff.bijectors.coupling.network_shapes
  assert shapes([5], "half", 0) == ([2], [3])
  assert shapes([5], "half", 1) == ([3], [2])
  assert shapes([4, 4, 3], "channel", 1) == ([4, 4, 2], [4, 4, 1])
  assert shapes([4, 4, 3], "checkerboard", 1) == ([4, 4, 3], [4, 4, 3])


def test_custom_keras_network_and_trainable_variables():
  network = keras.Sequential([keras.Input([2]), keras.layers.Dense(8, activation="tanh"),
                              keras.layers.Dense(4), keras.layers.Reshape([2, 2])])
  bijector = tff.bijectors.AffineCoupling([4], "half", network=network)
  assert len(bijector.trainable_variables) == 4
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [4]), bijector)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(tf.random.normal([5, 4])))
  assert all(g is not None for g in tape.gradient(loss, dist.trainable_variables))


@pytest.mark.parametrize("kwargs,match", [
    (dict(event_shape=[4], mask="channel"), "Expected mask='half' or 'checkerboard' for vectors"),
    (dict(event_shape=[4, 4, 2], mask="half"), "'channel', 'checkerboard' or 'packed_checkerboard' for images"),
    (dict(event_shape=[4], mask="stripes"), "Expected mask in"),
    (dict(event_shape=[4], parity=2), "Expected parity 0 or 1"),
    (dict(event_shape=[1], mask="half"), "Expected both halves"),
    (dict(event_shape=[4], network="glow"), r"Expected network in \('mlp',\)"),
    (dict(event_shape=[4], network=keras.layers.Dense(4)),
     r"Expected the network to map \[\.\.\., 2\] to \[\.\.\., 2, 2\]"),
    (dict(event_shape=[4], shift_only=True,
          network=keras.Sequential([keras.Input([3]), keras.layers.Dense(2)])),
     "a network that fails on that input"),
])
def test_raises_on_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tff.bijectors.AffineCoupling(**kwargs)


def test_raises_on_wrong_input():
  bijector = tff.bijectors.AffineCoupling([4, 4, 2], "channel", hidden_channels=4)
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 4, 4, 2\]"):
    bijector.inverse(tf.zeros([1, 4, 4, 3]))
  with pytest.raises(ValueError, match="Expected z of dtype float32"):
    bijector.forward(tf.zeros([1, 4, 4, 2], tf.float64))
