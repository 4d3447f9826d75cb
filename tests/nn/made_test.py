"""MADE: the autoregressive property checked on the Jacobian, orders, context, config."""

import hypothesis
import keras
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff
from tfp_flows.nn import made as made_lib


def jacobian(made, x, context=None):
  """`d output[b, i, p] / d x[b, j]`, shape `[B, D, params, D]`."""
  with tf.GradientTape() as tape:
    tape.watch(x)
    out = made(x) if context is None else made(x, conditional_input=context)
  return tape.batch_jacobian(out, x).numpy()


def make(order, event_size=5, params=3, **kwargs):
  return tff.nn.MADE(params, [event_size], [16, 7], input_order=order, seed=4, activation="tanh",
                     output_kernel_initializer="glorot_uniform", **kwargs)


ORDERS = ["left-to-right", "right-to-left", "random", [3, 1, 5, 2, 4]]
ORDER_IDS = ["l2r", "r2l", "random", "array"]


@pytest.mark.parametrize("block_sparse,num_blocks", [(False, 1), (True, 1), (True, 3)],
                         ids=["dense", "block1", "block3"])
@pytest.mark.parametrize("order", ORDERS, ids=ORDER_IDS)
def test_output_i_depends_exactly_on_inputs_before_i(order, block_sparse, num_blocks):
  made = make(order, block_sparse=block_sparse, num_blocks=num_blocks)
  x = tf.random.normal([4, 5])
  dependence = np.any(jacobian(made, x) != 0., axis=(0, 2))  # [output i, input j]
  degrees = made.degrees
  allowed = degrees[np.newaxis, :] < degrees[:, np.newaxis]
  assert not np.any(dependence & ~allowed), "an output sees an input at or after it"
  # MADE with enough hidden units connects every allowed pair (for these widths).
  assert np.all(dependence[allowed]), "an allowed connection is missing"


def test_conditional_input_reaches_every_output_and_keeps_the_property():
  made = make("left-to-right", conditional_event_shape=[2])
  x, context = tf.random.normal([4, 5]), tf.random.normal([4, 2])
  dependence = np.any(jacobian(made, x, context) != 0., axis=(0, 2))
  assert not np.any(np.triu(dependence)), "an output sees an input at or after it"
  with tf.GradientTape() as tape:
    tape.watch(context)
    out = made(x, conditional_input=context)
  per_output = np.any(tape.batch_jacobian(out, context).numpy() != 0., axis=(0, 2, 3))
  assert np.all(per_output)


def dense_and_block_sparse(order, dtype, conditional, num_blocks=2):
  """Two MADEs with the same weights, `block_sparse` off and on."""
  kwargs = dict(event_size=6, conditional_event_shape=conditional, dtype=dtype.name)
  dense = make(order, block_sparse=False, **kwargs)
  block = make(order, num_blocks=num_blocks, **kwargs)
  block.set_weights(dense.get_weights())
  return dense, block


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
@pytest.mark.parametrize("conditional", [None, [2]], ids=["plain", "context"])
@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("order", ORDERS[:3], ids=ORDER_IDS[:3])
def test_block_sparse_gives_the_dense_outputs_and_gradients(order, dtype, conditional, jit):
  dense, block = dense_and_block_sparse(order, dtype, conditional)
  rng = np.random.default_rng(1)
  x = tf.constant(rng.normal(size=(2, 3, 6)), dtype)
  context = None if conditional is None else tf.constant(rng.normal(size=(3, 2)), dtype)

  def outputs_and_gradients(made):
    with tf.GradientTape() as tape:
      tape.watch(x)
      out = made(x, conditional_input=context)
      loss = tf.reduce_sum(tf.sin(out))
    return [out] + tape.gradient(loss, [x] + made.trainable_weights)

  call = (lambda f, made: tf.function(f, jit_compile=True)(made)) if jit else (
      lambda f, made: f(made))
  tol = 1e-5 if dtype == tf.float32 else 1e-12
  for a, b in zip(call(outputs_and_gradients, dense), call(outputs_and_gradients, block)):
    assert isinstance(b, tf.Tensor)  # Dense gradients, as the dense MADE's.
    np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.parametrize("order", ORDERS[:3] + [[3, 1, 6, 5, 2, 4]], ids=ORDER_IDS)
def test_prefix_networks_give_the_outputs_of_their_positions(order):
  dense, block = dense_and_block_sparse(order, tf.float64, [2], num_blocks=3)
  rng = np.random.default_rng(2)
  x, context = tf.constant(rng.normal(size=(4, 6))), tf.constant(rng.normal(size=(4, 2)))
  expected = tf.gather(dense(x, conditional_input=context), block.order, axis=1)
  x_in_order = tf.gather(x, block.order, axis=1)
  chunks = [(0, 1), (1, 4), (4, 6), (0, 6)]
  for (a, b), network in zip(chunks, block.prefix_networks(chunks, context)):
    # Only the positions < b - 1 are read: the others may hold anything.
    garbage = tf.concat([x_in_order[:, :max(b - 1, 0)], 1e3 * tf.ones([4, 7 - b], x.dtype)], 1)
    np.testing.assert_allclose(network(garbage[:, :max(b - 1, 0)]), expected[:, a:b],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(network(garbage), expected[:, a:b], rtol=1e-12, atol=1e-12)


def test_output_shape_for_batch_shapes():
  made = make("left-to-right")
  for batch in ([], [3], [2, 3]):
    assert made(tf.zeros(batch + [5])).shape == tuple(batch) + (5, 3)


def test_context_broadcasts_against_the_batch():
  made = make("left-to-right", conditional_event_shape=[2])
  assert made(tf.zeros([5]), conditional_input=tf.zeros([4, 2])).shape == (4, 5, 3)
  assert made(tf.zeros([4, 5]), conditional_input=tf.zeros([2])).shape == (4, 5, 3)


def test_first_output_depends_only_on_the_context_and_one_dimension_works():
  made = tff.nn.MADE(2, [1], [8], conditional_event_shape=[3])
  out = made(tf.random.normal([6, 1]), conditional_input=tf.ones([6, 3]))
  np.testing.assert_allclose(out, np.broadcast_to(out[:1], out.shape), atol=1e-6)


@pytest.mark.parametrize("block_sparse,num_blocks", [(False, 1), (True, 1), (True, 3)])
def test_masked_out_weights_never_reach_the_outputs_even_when_not_finite(block_sparse,
                                                                        num_blocks):
  made = make("random", block_sparse=block_sparse, num_blocks=num_blocks)
  x = tf.random.normal([4, 5], seed=1)
  before = made(x).numpy()
  for kernel, mask in zip(made.kernels, made_lib.masks(made.degrees, made.hidden_units)):
    mask = np.repeat(mask, made.params, axis=1) if kernel is made.kernels[-1] else mask
    kernel.assign(np.where(mask > 0, kernel.numpy(), np.nan))
  with tf.GradientTape() as tape:
    out = made(x)
  np.testing.assert_array_equal(out.numpy(), before)
  gradients = tape.gradient(out, made.kernels)
  assert all(np.isfinite(g.numpy()).all() for g in gradients)


def test_weights_are_built_at_construction():
  made = make("left-to-right")
  assert made.built and len(made.trainable_weights) == 6


def test_config_round_trips_and_keeps_a_random_order():
  made = make("random", conditional_event_shape=[2], block_sparse=False, num_blocks=3)
  clone = tff.nn.MADE.from_config(made.get_config())
  assert (clone.block_sparse, clone.num_blocks) == (False, 3)
  np.testing.assert_array_equal(clone.degrees, made.degrees)
  clone.set_weights(made.get_weights())
  x, c = tf.random.normal([3, 5]), tf.random.normal([3, 2])
  np.testing.assert_array_equal(clone(x, conditional_input=c), made(x, conditional_input=c))


def test_saves_and_loads_in_a_keras_model(tmp_path):
  made = make("random")
  inputs = keras.Input([5])
  model = keras.Model(inputs, made(inputs))
  path = str(tmp_path / "made.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  x = np.random.default_rng(0).normal(size=(3, 5)).astype(np.float32)
  np.testing.assert_array_equal(loaded(x), model(x))


@pytest.mark.parametrize("kwargs,match", [
    (dict(params=0), "Expected params to be an int >= 1"),
    (dict(hidden_units=[]), "Expected hidden_units to be a non-empty list"),
    (dict(event_shape=[2, 3]), r"Expected event_shape to be \[D\]"),
    (dict(input_order="spiral"), "Expected input_order in"),
    (dict(input_order=[1, 1, 2, 3, 4]), "Expected input_order to be a permutation of 1..5"),
    (dict(block_sparse="yes"), "Expected block_sparse to be a bool"),
    (dict(num_blocks=0), "Expected num_blocks to be an int >= 1"),
])
def test_raises_on_bad_arguments(kwargs, match):
  args = dict(params=2, event_shape=[5], hidden_units=[8])
  args.update(kwargs)
  with pytest.raises(ValueError, match=match):
    tff.nn.MADE(**args)


def test_raises_when_context_is_missing_or_unexpected():
  with pytest.raises(ValueError, match="Expected conditional_input exactly when"):
    make("left-to-right", conditional_event_shape=[2])(tf.zeros([3, 5]))
  with pytest.raises(ValueError, match="Expected conditional_input exactly when"):
    make("left-to-right")(tf.zeros([3, 5]), conditional_input=tf.zeros([3, 2]))


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(
    event_size=st.integers(1, 12),
    hidden_units=st.lists(st.integers(1, 20), min_size=1, max_size=3),
    seed=st.integers(0, 2 ** 16))
def test_mask_products_are_autoregressive_for_any_sizes(event_size, hidden_units, seed):
  degrees = made_lib.input_degrees(event_size, "random", seed)
  paths = np.eye(event_size)
  for mask in made_lib.masks(degrees, hidden_units):
    paths = paths @ mask  # paths[j, i]: number of paths from input j to unit/output i.
  allowed = degrees[:, np.newaxis] < degrees[np.newaxis, :]
  assert not np.any((paths > 0) & ~allowed)
  if min(hidden_units) >= event_size - 1:  # Wide enough: every allowed pair is connected.
    assert np.all(paths[allowed] > 0)
