"""Coupling networks: shapes, zero start, dtype, config round trip."""

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
