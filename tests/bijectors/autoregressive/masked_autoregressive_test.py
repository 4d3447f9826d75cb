"""MaskedAutoregressiveFlow: shared checks, one-pass density, conditional input, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks
from tfp_flows.bijectors.autoregressive import _sequential

tfb, tfd = tfp.bijectors, tfp.distributions


def make_made(params, event_size=3, dtype=tf.float32, conditional=None, order="left-to-right",
              **kwargs):
  return tff.nn.MADE(params, [event_size], [8, 8], conditional_event_shape=conditional,
                     input_order=order, dtype=dtype.name, activation="tanh",
                     output_kernel_initializer="glorot_uniform", seed=5, **kwargs)


def count_passes(made):
  """A list that grows by one per MADE pass: a call, or a call of a `prefix_networks` one.

  (With `num_blocks=1`, as here, a call does not go through `prefix_networks`.)
  """
  calls = []
  networks, call = made.prefix_networks, made.call
  made.prefix_networks = lambda *a, **k: [
      lambda x, network=network: calls.append(1) or network(x) for network in networks(*a, **k)]
  made.call = lambda *a, **k: calls.append(1) or call(*a, **k)
  return calls


def dense_and_block_sparse(params=2, event_size=5, dtype=tf.float32, order="random"):
  """Two MADEs with the same weights, `block_sparse` off and on (2 degree blocks)."""
  dense = make_made(params, event_size, dtype, [2], order, block_sparse=False)
  block = make_made(params, event_size, dtype, [2], order, num_blocks=2)
  block.set_weights(dense.get_weights())
  return dense, block


def assert_same_values_and_gradients(bijectors, method, u, context, jit, dtype):
  """`method` (a name) and its log-det agree, with their gradients, across `bijectors`."""
  def values_and_gradients(bijector):
    with tf.GradientTape() as tape:
      tape.watch(u)
      out, log_det = getattr(bijector, method)(u, conditional_input=context)
      loss = tf.reduce_sum(tf.sin(out)) + tf.reduce_sum(log_det)
    return [out, log_det] + tape.gradient(loss, [u] + list(bijector.trainable_variables))

  run = tf.function(values_and_gradients, jit_compile=True) if jit else values_and_gradients
  tol = 1e-5 if dtype == tf.float32 else 1e-12
  expected, *others = [run(b) for b in bijectors]
  for actual in others:
    for a, b in zip(actual, expected):
      np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


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


@pytest.mark.parametrize("block_sparse", [False, True], ids=["dense", "block"])
def test_density_is_one_network_pass(block_sparse):
  made = make_made(2, block_sparse=block_sparse)
  calls = count_passes(made)
  bijector = tff.bijectors.MaskedAutoregressiveFlow(made)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [3]), bijector)
  dist.log_prob(points(tf.float32))  # inverse and its log-det share one pass.
  assert len(calls) == 1
  calls.clear()
  bijector.forward(points(tf.float32))  # Sampling: D = 3 passes (eager loop).
  assert len(calls) == 3


# XLA in f32 only (made_test checks the MADE itself in f64 under XLA): compiling is slow.
@pytest.mark.parametrize("dtype,jit", [(tf.float32, False), (tf.float64, False), (tf.float32, True)],
                         ids=["f32", "f64", "f32-xla"])
@pytest.mark.parametrize("order", ["left-to-right", "right-to-left", "random"])
def test_block_sparse_sampling_gives_the_dense_values_and_gradients(order, dtype, jit,
                                                                   monkeypatch):
  # D = 5 > MAX_CHUNKS = 2: chunks [0, 2) and [2, 5), loops of two and three passes.
  monkeypatch.setattr(_sequential, "MAX_CHUNKS", 2)
  dense, block = dense_and_block_sparse(dtype=dtype, order=order)
  rng = np.random.default_rng(4)
  z = tf.constant(rng.normal(size=(3, 5)), dtype)
  context = tf.constant(rng.normal(size=(3, 2)), dtype)
  flows = [tff.bijectors.MaskedAutoregressiveFlow(m) for m in (dense, block)]
  assert_same_values_and_gradients(flows, "_forward_and_log_det", z, context, jit, dtype)
  assert_same_values_and_gradients(flows, "_inverse_and_log_det", z, context, jit, dtype)


def test_block_sparse_sampling_in_one_position_chunks_matches_dense():
  dense, block = dense_and_block_sparse(params=11, event_size=5)  # A spline, D <= MAX_CHUNKS.
  z = tf.constant(np.random.default_rng(5).normal(size=(2, 4, 5)), tf.float32)
  context = tf.constant(np.random.default_rng(6).normal(size=(4, 2)), tf.float32)
  flows = [tff.bijectors.MaskedAutoregressiveFlow(m, "spline") for m in (dense, block)]
  assert_same_values_and_gradients(flows, "_forward_and_log_det", z, context, False, tf.float32)


def test_position_chunks_cover_the_positions_in_order():
  assert _sequential.position_chunks(3, 16) == [(0, 1), (1, 2), (2, 3)]
  chunks = _sequential.position_chunks(40, max_chunks=16)
  assert len(chunks) == 16 and chunks[0][0] == 0 and chunks[-1][1] == 40
  assert all(b0 == a1 and a1 < b1 for (_, b0), (a1, b1) in zip(chunks, chunks[1:]))


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
