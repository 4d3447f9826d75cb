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


@pytest.mark.parametrize("order", ["left-to-right", "right-to-left", "random", [3, 1, 5, 2, 4]],
                         ids=["l2r", "r2l", "random", "array"])
def test_output_i_depends_exactly_on_inputs_before_i(order):
  made = make(order)
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


def test_weights_are_built_at_construction():
  made = make("left-to-right")
  assert made.built and len(made.trainable_weights) == 6


def test_config_round_trips_and_keeps_a_random_order():
  made = make("random", conditional_event_shape=[2])
  clone = tff.nn.MADE.from_config(made.get_config())
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
