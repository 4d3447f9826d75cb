"""`nn._recompute.Recomputed`: the wrapped network's outputs and gradients (weights and
inputs, with a context, eager, tf.function and XLA), its own weights, config, errors."""

import doctest

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff
from tfp_flows.nn import _recompute


def network():
  keras.utils.set_random_seed(0)
  net = tff.nn.GlowNetwork([4, 4, 2], hidden_channels=8, output_channels=2,
                           conditional_event_shape=[3])
  rng = np.random.default_rng(0)
  for v in net.trainable_weights:  # Off the zero start of the last convolution.
    v.assign(rng.normal(size=v.shape) * 0.3)
  return net


@pytest.mark.parametrize("mode", ["eager", "function", "xla"])
def test_outputs_and_gradients_are_the_networks(mode):
  net = network()
  recomputed = _recompute.Recomputed(net)
  x = tf.constant(np.random.default_rng(1).normal(size=[5, 4, 4, 2]), tf.float32)
  context = tf.one_hot([0, 1, 2, 0, 1], 3)
  variables = [v.value for v in net.trainable_weights]

  def run(layer, x):
    with tf.GradientTape() as tape:
      tape.watch(x)
      out = layer(x, context)
      loss = tf.reduce_sum(tf.sin(out))
    return out, tape.gradient(loss, variables + [x])

  if mode != "eager":
    run = tf.function(run, jit_compile=mode == "xla")
  out, gradients = run(net, x)
  recomputed_out, recomputed_gradients = run(recomputed, x)
  np.testing.assert_allclose(recomputed_out, out, rtol=1e-6, atol=1e-6)
  for g0, g1 in zip(gradients, recomputed_gradients, strict=True):
    assert g1 is not None and np.any(g1 != 0.)
    np.testing.assert_allclose(g1, g0, rtol=1e-5, atol=1e-5)


def test_weights_and_dtype_policy_are_the_networks():
  net = network()
  recomputed = _recompute.Recomputed(net)
  assert [v.path for v in recomputed.trainable_weights] == [v.path for v in net.trainable_weights]
  assert recomputed.variable_dtype == net.variable_dtype
  assert recomputed.dtype_policy.name == net.dtype_policy.name


def test_config_round_trips():
  recomputed = _recompute.Recomputed(network())
  again = _recompute.Recomputed.from_config(recomputed.get_config())
  assert isinstance(again.network, tff.nn.GlowNetwork)
  assert again.network.get_config() == recomputed.network.get_config()
  assert again.name == recomputed.name


def test_raises_on_a_network_that_is_not_a_keras_layer():
  with pytest.raises(TypeError, match="Expected network to be a Keras layer"):
    _recompute.Recomputed(lambda x: x)


def test_the_example_runs():
  finder = doctest.DocTestFinder()
  globs = {"tf": tf, "np": np, "tff": tff}
  runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
  tests = finder.find(_recompute.Recomputed, globs=globs)
  assert tests and all(runner.run(t).failed == 0 for t in tests)
