"""Coupling networks: shapes, zero start, dtype, config round trip, contexts (vectors through a
dense map, images concatenated)."""

import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff

NETWORKS = {  # name: (constructor, input event shape, output event shape)
    "mlp": (lambda **kw: tff.nn.CouplingMLP(4, [8], **kw), [4], [4]),
    "mlp-3-out": (lambda **kw: tff.nn.CouplingMLP(4, [8], output_size=3, **kw), [4], [3]),
    "resnet": (lambda **kw: tff.nn.CouplingResNet([4, 4, 2], 8, 1, **kw), [4, 4, 2],
               [4, 4, 2]),
    "resnet-3-out": (lambda **kw: tff.nn.CouplingResNet([4, 4, 2], 8, 2, output_channels=3,
                                                        **kw), [4, 4, 2], [4, 4, 3]),
    "glow": (lambda **kw: tff.nn.GlowNetwork([2, 4, 2], 8, output_channels=1, **kw),
             [2, 4, 2], [2, 4, 1]),
}


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_shapes_zero_start_and_dtype(name):
  make, in_shape, out_shape = NETWORKS[name]
  network = make(dtype="float64")
  x = tf.random.normal([2, 3] + in_shape, dtype=tf.float64)
  out = network(x)
  assert out.shape == (2, 3, *out_shape, 2) and out.dtype == tf.float64
  np.testing.assert_array_equal(out, 0.)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_config_round_trips(name):
  make, in_shape, _ = NETWORKS[name]
  network = make()
  rng = np.random.default_rng(0)
  for v in network.weights:
    v.assign(rng.normal(size=v.shape) * 0.1)
  clone = type(network).from_config(network.get_config())
  clone.set_weights(network.get_weights())
  x = tf.random.normal([3] + in_shape)
  np.testing.assert_allclose(clone(x), network(x), rtol=1e-6)


def test_raises_on_bad_arguments():
  with pytest.raises(ValueError, match="Expected hidden_units to be a non-empty list"):
    tff.nn.CouplingMLP(4, [])
  with pytest.raises(ValueError, match=r"Expected event_shape \[H, W, C\]"):
    tff.nn.CouplingResNet([4, 4])
  with pytest.raises(ValueError, match=r"Expected event_shape \[H, W, C\]"):
    tff.nn.GlowNetwork([4])


IMAGE_NETWORKS = {  # name: constructor of an image network over [4, 4, 2]
    "resnet": lambda **kw: tff.nn.CouplingResNet([4, 4, 2], 8, 1, **kw),
    "glow": lambda **kw: tff.nn.GlowNetwork([4, 4, 2], 8, **kw),
    "prior": lambda **kw: tff.nn.GlowPriorNetwork([4, 4, 2], output_channels=1, **kw),
}


def perturb(network):
  rng = np.random.default_rng(0)
  for v in network.weights:
    v.assign(v + rng.normal(size=v.shape) * 0.1)


@pytest.mark.parametrize("name", sorted(IMAGE_NETWORKS))
def test_a_vector_context_enters_by_a_dense_map_that_changes_the_output(name):
  plain = IMAGE_NETWORKS[name]()
  network = IMAGE_NETWORKS[name](conditional_event_shape=[3])
  # One [3, width] dense kernel more than the unconditional network, nothing else.
  width = 2 if name == "prior" else 8  # The prior's map goes to its outputs (1 x 2 params).
  assert network.count_params() == plain.count_params() + 3 * width
  x = tf.random.normal([2, 5, 4, 4, 2])
  context = tf.random.normal([2, 5, 3])
  np.testing.assert_array_equal(network(x, context), 0.)  # Zero-initialised outputs.
  perturb(network)
  out = network(x, context)
  assert out.shape == network(x, context + 1.).shape
  assert not np.allclose(out, network(x, context + 1.))
  # A context for all examples broadcasts against the batch.
  np.testing.assert_allclose(network(x, context[0, 0]),
                             network(x, tf.broadcast_to(context[0, 0], [2, 5, 3])), atol=1e-6)
  clone = type(network).from_config(network.get_config())
  clone.set_weights(network.get_weights())
  np.testing.assert_allclose(clone(x, context), out, rtol=1e-6)


def test_an_image_context_is_concatenated_to_the_channels():
  network = tff.nn.GlowNetwork([4, 4, 2], 8, conditional_event_shape=[4, 4, 3])
  plain = tff.nn.GlowNetwork([4, 4, 2], 8)
  assert network.count_params() == plain.count_params() + 3 * 3 * 3 * 8  # 3x3 conv over 3 more.
  perturb(network)
  x, context = tf.random.normal([2, 4, 4, 2]), tf.random.normal([2, 4, 4, 3])
  assert not np.allclose(network(x, context), network(x, context + 1.))


def test_a_context_is_needed_exactly_when_declared():
  with pytest.raises(ValueError, match="Expected a context exactly when conditional_event_shape"):
    IMAGE_NETWORKS["glow"](conditional_event_shape=[3])(tf.zeros([1, 4, 4, 2]))
  with pytest.raises(ValueError, match="Expected a context exactly when conditional_event_shape"):
    IMAGE_NETWORKS["glow"]()(tf.zeros([1, 4, 4, 2]), tf.zeros([1, 3]))
