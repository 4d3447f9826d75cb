"""MaskedAutoregressiveFlow: shared checks, one-pass density, conditional input, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfb, tfd = tfp.bijectors, tfp.distributions


def make_made(params, event_size=3, dtype=tf.float32, conditional=None, order="left-to-right"):
  return tff.nn.MADE(params, [event_size], [8, 8], conditional_event_shape=conditional,
                     input_order=order, dtype=dtype.name, activation="tanh",
                     output_kernel_initializer="glorot_uniform")


def points(dtype, event_size=3, seed=0):
  return tf.constant(np.random.default_rng(seed).normal(size=(2, 3, event_size)), dtype)


CASES = [  # (transform, params, input order)
    ("affine", 2, "left-to-right"),
    ("affine", 2, "random"),
    ("mixture_cdf", 9, "right-to-left"),
    ("spline", 11, "random"),
]


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("transform,params,order", CASES, ids=[c[0] + "-" + c[2] for c in CASES])
def test_shared_bijector_checks(transform, params, order, dtype):
  bijector = tff.bijectors.MaskedAutoregressiveFlow(make_made(params, dtype=dtype, order=order),
                                                    transform=transform)
  bijector_checks.check_bijector(bijector, points(dtype), event_ndims=1)


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
def test_conditional_shared_checks(dtype):
  made = make_made(2, dtype=dtype, conditional=[2])
  bijector = tff.bijectors.MaskedAutoregressiveFlow(made)
  context = tf.constant(np.random.default_rng(3).normal(size=(2, 3, 2)), dtype)
  bijector_checks.check_bijector(bijector, points(dtype), event_ndims=1,
                                 kwargs={"conditional_input": context})


def test_conditional_input_changes_the_density():
  made = make_made(2, conditional=[1])
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [3]),
                                     tff.bijectors.MaskedAutoregressiveFlow(made))
  x = points(tf.float32)[0]
  lp0 = dist.log_prob(x, bijector_kwargs={"conditional_input": tf.zeros([3, 1])})
  lp1 = dist.log_prob(x, bijector_kwargs={"conditional_input": tf.ones([3, 1])})
  assert not np.allclose(lp0, lp1)
  sample = dist.sample(4, bijector_kwargs={"conditional_input": tf.ones([4, 1])}, seed=1)
  assert sample.shape == (4, 3)


def test_density_is_one_network_pass():
  made = make_made(2)
  calls = []
  original = made.call
  made.call = lambda *a, **k: calls.append(1) or original(*a, **k)
  bijector = tff.bijectors.MaskedAutoregressiveFlow(made)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [3]), bijector)
  dist.log_prob(points(tf.float32))  # inverse and its log-det share one pass.
  assert len(calls) == 1
  calls.clear()
  bijector.forward(points(tf.float32))  # Sampling: D = 3 passes (eager loop).
  assert len(calls) == 3


def test_log_scale_is_bounded():
  made = make_made(2, event_size=2)
  for v in made.weights:  # A huge network output must not blow the flow up.
    v.assign(tf.fill(v.shape, 50.))
  bijector = tff.bijectors.MaskedAutoregressiveFlow(made)
  ildj = bijector.inverse_log_det_jacobian(tf.ones([4, 2]), event_ndims=1)
  assert np.all(np.abs(ildj) <= 2 * 3.0)


def test_trainable_variables_are_the_made_weights():
  made = make_made(2)
  bijector = tff.bijectors.MaskedAutoregressiveFlow(made)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [3]), bijector)
  assert len(bijector.trainable_variables) == len(made.trainable_weights) == 6
  assert len(dist.trainable_variables) == 6


def test_raises_on_wrong_event_size():
  bijector = tff.bijectors.MaskedAutoregressiveFlow(make_made(2))
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 3\]"):
    bijector.inverse(tf.zeros([4, 2]))
  with pytest.raises(ValueError, match=r"Expected z of shape \[\.\.\., 3\]"):
    bijector.forward(tf.zeros([4, 5]))


def test_raises_on_scalar_input():
  bijector = tff.bijectors.MaskedAutoregressiveFlow(make_made(2))
  with pytest.raises(ValueError, match="Expected x of shape"):
    bijector.inverse(tf.zeros([]))


def test_raises_on_wrong_dtype():
  bijector = tff.bijectors.MaskedAutoregressiveFlow(make_made(2))
  with pytest.raises(ValueError, match=r"Expected x of dtype float32. Received: x.dtype=int32"):
    bijector.inverse(tf.zeros([4, 3], tf.int32))
  with pytest.raises(ValueError, match="Received: z.dtype=float64"):
    bijector.forward(tf.zeros([4, 3], tf.float64))



def test_raises_on_mismatched_made():
  with pytest.raises(ValueError, match=r"params=2.*Received: made.params=9"):
    tff.bijectors.MaskedAutoregressiveFlow(make_made(9), transform="affine")
  with pytest.raises(ValueError, match=r"3 \* n params per element"):
    tff.bijectors.MaskedAutoregressiveFlow(make_made(4), transform="mixture_cdf")
  with pytest.raises(ValueError, match="Expected transform in"):
    tff.bijectors.MaskedAutoregressiveFlow(make_made(2), transform="cubic")


def test_validate_args_rejects_non_finite_input():
  bijector = tff.bijectors.MaskedAutoregressiveFlow(make_made(2), validate_args=True)
  bad = tf.constant([[0., np.nan, 1.]])
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected finite values in x"):
    bijector.inverse(bad)
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected finite values in z"):
    bijector.forward(tf.constant([[0., np.inf, 1.]]))


def test_composes_with_tfp_bijectors():
  made = make_made(2)
  chain = tfb.Chain([tfb.Shift(1.), tff.bijectors.MaskedAutoregressiveFlow(made),
                     tfb.Permute([2, 0, 1])])
  inverted = tfb.Invert(chain)
  z = points(tf.float32)
  x = chain.forward(z)
  np.testing.assert_allclose(inverted.inverse(tf.identity(z)), x, atol=1e-6)
  np.testing.assert_allclose(inverted.forward(tf.identity(x)), z, atol=1e-5)
  np.testing.assert_allclose(
      inverted.forward_log_det_jacobian(tf.identity(x), event_ndims=1),
      chain.inverse_log_det_jacobian(tf.identity(x), event_ndims=1), atol=1e-6)


def test_raises_on_wrong_event_size_known_only_at_run_time():
  bijector = tff.bijectors.MaskedAutoregressiveFlow(make_made(2))
  inverse = tf.function(bijector.inverse,
                        input_signature=[tf.TensorSpec([None, None], tf.float32)])
  assert inverse(tf.zeros([4, 3])).shape == [4, 3]
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected x of shape \[\.\.\., 3\]"):
    inverse(tf.zeros([6, 2]))  # Would otherwise be regrouped into [4, 3] by a reshape.
