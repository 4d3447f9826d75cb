"""ActNorm: shared checks, data-dependent start, zero variance, saved flag, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfb = tfp.bijectors
tfd = tfp.distributions


def perturbed(event_shape, dtype):
  bijector = tff.bijectors.ActNorm(event_shape, dtype=dtype)
  rng = np.random.default_rng(0)
  bijector.loc.assign(rng.normal(size=event_shape[-1:]))
  bijector.log_scale.assign(rng.normal(size=event_shape[-1:]) * 0.5)
  return bijector


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("event_shape", [[3], [2, 3, 2]], ids=["vector", "image"])
def test_shared_bijector_checks(event_shape, dtype):
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + event_shape), dtype)
  bijector_checks.check_bijector(perturbed(event_shape, dtype), z,
                                 event_ndims=len(event_shape))


def test_log_det_is_positions_times_sum_of_log_scales():
  bijector = perturbed([4, 5, 3], tf.float64)
  fldj = bijector.forward_log_det_jacobian(tf.zeros([4, 5, 3], tf.float64), event_ndims=3)
  np.testing.assert_allclose(fldj, 20 * np.sum(bijector.log_scale.numpy()), rtol=1e-12)


def test_initialize_normalises_each_channel_of_the_batch():
  x = tf.random.normal([64, 4, 4, 3]) * [1., 5., 0.1] + [2., -3., 0.]
  bijector = tff.bijectors.ActNorm([4, 4, 3])
  assert not bijector.initialized.numpy()
  z = bijector.initialize(x)
  assert bijector.initialized.numpy()
  np.testing.assert_allclose(z, bijector.inverse(tf.identity(x)), rtol=1e-6)
  np.testing.assert_allclose(tf.reduce_mean(z, [0, 1, 2]), 0., atol=1e-5)
  np.testing.assert_allclose(tf.math.reduce_std(z, [0, 1, 2]), 1., rtol=1e-4)


def test_zero_variance_channel_keeps_scale_one_and_stays_finite():
  x = tf.concat([tf.random.normal([16, 4, 4, 1]), tf.fill([16, 4, 4, 1], 7.)], -1)
  bijector = tff.bijectors.ActNorm([4, 4, 2])
  z = bijector.initialize(x)
  assert np.all(np.isfinite(z))
  np.testing.assert_allclose(bijector.loc[1], 7.)
  assert bijector.log_scale[1].numpy() == 0.
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [4, 4, 2]), bijector)
  assert np.all(np.isfinite(dist.log_prob(x + tf.random.normal(x.shape))))


def test_calls_never_change_state():
  bijector = tff.bijectors.ActNorm([2, 2, 2])
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [2, 2, 2]), bijector)
  dist.log_prob(tf.random.normal([5, 2, 2, 2]) * 3. + 1.)
  dist.sample(3)
  assert not bijector.initialized.numpy()
  np.testing.assert_array_equal(bijector.loc, 0.)
  np.testing.assert_array_equal(bijector.log_scale, 0.)


def test_initialize_act_norms_walks_a_chain_in_data_to_latent_order():
  first, second = tff.bijectors.ActNorm([3]), tff.bijectors.ActNorm([3])
  # Inverse order: `first`, then Scale(0.5)^-1 (doubles), then `second`.
  chain = tfb.Chain([first, tfb.Scale(0.5), second])
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [3]), chain)
  x = tf.random.normal([256, 3]) * 4. + 1.
  assert tff.bijectors.initialize_act_norms(dist, x) == 2
  # `second` saw the doubled output of `first`: std 2, mean 0.
  np.testing.assert_allclose(second.log_scale, np.log(2.), atol=1e-5)
  np.testing.assert_allclose(second.loc, 0., atol=1e-5)
  z = chain.inverse(x)
  np.testing.assert_allclose(tf.math.reduce_std(z, 0), 1., rtol=1e-4)
  # Initialised ActNorms are kept (a restored model) unless forced.
  assert tff.bijectors.initialize_act_norms(dist, x * 10.) == 0
  np.testing.assert_allclose(second.log_scale, np.log(2.), atol=1e-5)
  assert tff.bijectors.initialize_act_norms(dist, x * 10., force=True) == 2


def test_initialised_state_is_saved_and_restored(tmp_path):
  bijector = tff.bijectors.ActNorm([2, 2, 3])
  bijector.initialize(tf.random.normal([8, 2, 2, 3]) * 3.)
  path = tf.train.Checkpoint(flow=bijector).write(str(tmp_path / "ckpt"))
  restored = tff.bijectors.ActNorm([2, 2, 3])
  tf.train.Checkpoint(flow=restored).read(path).assert_consumed()
  assert restored.initialized.numpy()
  np.testing.assert_array_equal(restored.log_scale, bijector.log_scale)
  assert tff.bijectors.initialize_act_norms(restored, tf.random.normal([8, 2, 2, 3])) == 0
  np.testing.assert_array_equal(restored.loc, bijector.loc)


def test_only_loc_and_log_scale_are_trainable():
  bijector = tff.bijectors.ActNorm([2, 2, 3])
  assert {v.name for v in bijector.trainable_variables} == {"act_norm/loc:0",
                                                             "act_norm/log_scale:0"}
  assert len(bijector.variables) == 3


def test_validate_args_rejects_an_uninitialised_act_norm():
  bijector = tff.bijectors.ActNorm([3], validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected an initialised ActNorm"):
    bijector.inverse(tf.zeros([2, 3]))
  bijector.initialize(tf.random.normal([10, 3]))
  assert np.all(np.isfinite(bijector.inverse(tf.zeros([2, 3]))))


def test_raises_on_misuse():
  with pytest.raises(ValueError, match="Expected event_shape to be a non-empty list"):
    tff.bijectors.ActNorm([])
  bijector = tff.bijectors.ActNorm([4, 4, 2])
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 4, 4, 2\]"):
    bijector.initialize(tf.zeros([3, 4, 4, 3]))
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected finite values in x"):
    bijector.initialize(tf.fill([3, 4, 4, 2], np.nan))
  with pytest.raises(RuntimeError, match="to run eagerly"):
    tf.function(bijector.initialize)(tf.zeros([3, 4, 4, 2]))
  with pytest.raises(ValueError, match="ActNorm inside Invert"):
    tff.bijectors.initialize_act_norms(tfb.Invert(bijector), tf.zeros([3, 4, 4, 2]))
