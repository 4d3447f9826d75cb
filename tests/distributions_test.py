"""FlowDistribution: temperature sampling, and nothing else changed."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb = tfp.bijectors
tfd = tfp.distributions


def flow(base):
  return tff.distributions.FlowDistribution(base, tfb.Chain([tfb.Shift(3.), tfb.Scale(2.)]))


def test_temperature_scales_the_base_sample_about_its_mean():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  cold = dist.sample(20000, temperature=0.5, seed=(1, 2))
  full = dist.sample(20000, seed=(1, 2))
  np.testing.assert_allclose(cold - 3., 0.5 * (full - 3.), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.std(cold, 0), 2. * 0.5, rtol=0.03)  # Scale 2, T 0.5.
  np.testing.assert_array_equal(dist.sample(3, temperature=0.), np.full([3, 2], 3.))


def test_temperature_is_about_the_base_mean_for_a_uniform_base():
  dist = flow(tfd.Sample(tfd.Uniform(0., 1.), [2]))
  np.testing.assert_allclose(dist.sample(4, temperature=0.), np.full([4, 2], 4.), rtol=1e-6)


def test_acts_as_a_transformed_distribution_and_works_in_tf_function():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  reference = tfd.TransformedDistribution(dist.distribution, dist.bijector)
  x = tf.random.normal([5, 2])
  np.testing.assert_array_equal(dist.log_prob(x), reference.log_prob(x))
  sample = tf.function(lambda t: dist.sample(7, temperature=t, seed=(3, 4)))
  assert sample(tf.constant(0.7)).shape == (7, 2)


def test_builders_return_it():
  assert isinstance(tff.models.maf(2, num_layers=1, hidden_units=[4]),
                    tff.distributions.FlowDistribution)


def test_negative_temperature_raises():
  with pytest.raises(ValueError, match="Expected temperature to be a number >= 0"):
    flow(tfd.Sample(tfd.Normal(0., 1.), [2])).sample(2, temperature=-1.)


@pytest.mark.parametrize("wrap", [
    lambda d, v: tfd.TransformedDistribution(d, tfb.Shift(v)),
    lambda d, v: tfd.Sample(tfd.TransformedDistribution(d, tfb.Shift(v)), 2),
    lambda d, v: tfd.Independent(tfd.TransformedDistribution(d, tfb.Shift(v)), 0),
], ids=["transformed", "sample", "independent"])
def test_distributions_built_on_a_flow_list_its_variables(wrap):
  dist = tff.models.maf(2, num_layers=2, hidden_units=[4])
  shift = tf.Variable([0., 0.])
  wrapped = wrap(dist, shift)
  expected = {id(v) for v in dist.trainable_variables} | {id(shift)}
  assert len(dist.trainable_variables) == 8
  assert {id(v) for v in wrapped.trainable_variables} == expected


def test_sample_and_log_prob_takes_the_temperature_and_gives_the_models_density():
  dist = tff.models.maf(2, num_layers=2, hidden_units=[4], seed=0)
  x, log_prob = dist.experimental_sample_and_log_prob(500, temperature=0.5, seed=(1, 2))
  np.testing.assert_allclose(x, dist.sample(500, temperature=0.5, seed=(1, 2)), rtol=1e-6)
  np.testing.assert_allclose(log_prob, dist.log_prob(tf.identity(x)), rtol=1e-4, atol=1e-4)
  full, _ = dist.experimental_sample_and_log_prob(500, seed=(1, 2))
  assert np.std(x) < 0.7 * np.std(full)


def test_unknown_sample_keywords_raise():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  with pytest.raises(TypeError, match="Received: temprature"):
    dist.sample(2, temprature=0.5)
  with pytest.raises(TypeError, match="Received: temprature"):
    dist.experimental_sample_and_log_prob(2, temprature=0.5)


@pytest.mark.parametrize("temperature", [np.float32(-1.), np.array(-0.5), np.nan, "cold", [1.]],
                         ids=["numpy_scalar", "numpy_0d", "nan", "string", "list"])
def test_bad_temperatures_raise(temperature):
  with pytest.raises(ValueError, match="Expected temperature to be a number >= 0"):
    flow(tfd.Sample(tfd.Normal(0., 1.), [2])).sample(2, temperature=temperature)


def test_a_negative_temperature_tensor_raises_at_run_time():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  sample = tf.function(lambda t: dist.sample(2, temperature=t, seed=(1, 2)))
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected temperature >= 0"):
    sample(tf.constant(-1.))


def test_log_prob_names_the_flows_event_shape_not_an_internal_one():
  dist = tff.models.glow([4, 4, 1], levels=2, depth=1, hidden_channels=4, num_bins=4)
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 4, 4, 1\]. "
                                       r"Received: x.shape=\(2, 4, 4, 2\)"):
    dist.log_prob(tf.zeros([2, 4, 4, 2]))
