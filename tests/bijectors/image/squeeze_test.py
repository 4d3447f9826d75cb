"""Squeeze: shared checks, layout, shapes, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfd = tfp.distributions


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
def test_shared_bijector_checks(dtype):
  z = tf.constant(np.random.default_rng(0).normal(size=(2, 3, 4, 4, 2)), dtype)
  bijector_checks.check_bijector(tff.bijectors.Squeeze(2), z, event_ndims=3, has_variables=False)


def test_blocks_become_channels():
  x = tf.reshape(tf.range(16.), [1, 4, 4, 1])
  y = tff.bijectors.Squeeze(2).forward(x)
  assert y.shape == (1, 2, 2, 4)
  np.testing.assert_array_equal(y[0, 0, 0], [0., 1., 4., 5.])


def test_event_shapes_and_transformed_distribution():
  bijector = tff.bijectors.Squeeze(2)
  assert bijector.forward_event_shape([5, 4, 6, 3]) == [5, 2, 3, 12]
  assert bijector.inverse_event_shape([2, 3, 12]) == [4, 6, 3]
  np.testing.assert_array_equal(bijector.forward_event_shape_tensor([4, 6, 3]), [2, 3, 12])
  base = tfd.Sample(tfd.Normal(0., 1.), [4, 6, 3])
  dist = tfd.TransformedDistribution(base, bijector)
  assert dist.event_shape == [2, 3, 12]
  x = dist.sample(2, seed=1)
  np.testing.assert_allclose(dist.log_prob(x), base.log_prob(bijector.inverse(x)), rtol=1e-6)


def test_raises_on_indivisible_sizes_and_bad_factor():
  with pytest.raises(ValueError, match=r"Expected height and width divisible by factor=2"):
    tff.bijectors.Squeeze(2).forward(tf.zeros([1, 5, 4, 3]))
  with pytest.raises(ValueError, match=r"Expected channels divisible by factor\*\*2=4"):
    tff.bijectors.Squeeze(2).inverse(tf.zeros([1, 2, 2, 6]))
  with pytest.raises(ValueError, match="Expected x of shape"):
    tff.bijectors.Squeeze(2).forward(tf.zeros([4, 4]))
  with pytest.raises(ValueError, match="Expected factor to be an int >= 2"):
    tff.bijectors.Squeeze(1)
