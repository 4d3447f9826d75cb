"""FactorOut: shared checks, pass-through of the factored channels, one inner pass, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfb = tfp.bijectors
tfd = tfp.distributions


def factor_out(dtype, num_factored=None, channels=4):
  rest = channels - (channels // 2 if num_factored is None else num_factored)
  inner = tff.bijectors.AffineCoupling([2, 2, rest], "checkerboard", hidden_channels=4,
                                       num_blocks=1, dtype=dtype)
  rng = np.random.default_rng(0)
  for v in inner.network.weights:
    v.assign(rng.normal(size=v.shape) * 0.3)
  return tff.bijectors.FactorOut(inner, [2, 2, channels], num_factored=num_factored)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("num_factored", [None, 1])
def test_shared_bijector_checks(num_factored, dtype):
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3, 2, 2, 4]), dtype)
  bijector_checks.check_bijector(factor_out(dtype, num_factored), z, event_ndims=3)


def test_factored_channels_pass_through_and_the_rest_is_transformed():
  bijector = factor_out(tf.float32)
  z = tf.random.normal([5, 2, 2, 4])
  x = bijector.forward(z)
  np.testing.assert_array_equal(x[..., :2], z[..., :2])
  np.testing.assert_allclose(x[..., 2:], bijector.bijector.forward(z[..., 2:]), rtol=1e-6)
  assert bijector.trainable_variables == bijector.bijector.trainable_variables


def test_log_prob_runs_the_inner_network_once():
  bijector = factor_out(tf.float32)
  calls = []
  network_call = bijector.bijector.network.call
  bijector.bijector.network.call = lambda x: calls.append(1) or network_call(x)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [2, 2, 4]), bijector)
  dist.log_prob(tf.random.normal([3, 2, 2, 4]))
  assert len(calls) == 1


def test_raises_on_bad_arguments():
  coupling = tff.bijectors.AffineCoupling([2, 2, 2], "checkerboard", hidden_channels=4)
  with pytest.raises(ValueError, match=r"Expected event_shape \[H, W, C\]"):
    tff.bijectors.FactorOut(coupling, [2, 4])
  with pytest.raises(ValueError, match="Expected 0 < num_factored < C = 4"):
    tff.bijectors.FactorOut(coupling, [2, 2, 4], num_factored=4)
  with pytest.raises(ValueError, match=r"keeps the event shape \[4, 4, 1\]"):
    tff.bijectors.FactorOut(tff.bijectors.Squeeze(2), [4, 4, 2], num_factored=1)
  bijector = tff.bijectors.FactorOut(coupling, [2, 2, 4])
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 2, 2, 4\]"):
    bijector.inverse(tf.zeros([1, 2, 2, 3]))
