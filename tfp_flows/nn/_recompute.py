"""Gradient checkpointing of a network: its activations are recomputed in the backward pass.

`Recomputed(network)` is `network` (same weights, same outputs) called under
`tf.recompute_grad`: the forward pass keeps only the network's inputs and output, and the
backward pass runs the network once more under its own tape to get the gradients. The
trade: a deep flow's peak training memory loses every network's intermediate activations
(the conv layers' `[N, H, W, hidden]` tensors), and a training step costs about one more
forward pass of each network.

Gradients reach every variable: `tf.recompute_grad` hands its gradient function the
variables the network read (`variables=`, collected by `tf.custom_gradient`), and a Keras 3
layer reads the `tf.Variable`s behind its `keras.Variable`s, so the recomputing tape
watches exactly those. This holds eagerly, in `tf.function` and with `jit_compile=True`
(tested against the plain network's gradients).
"""

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfp_flows")
class Recomputed(keras.layers.Layer):
  """`network(x)` or `network(x, context)`, its activations recomputed for the gradients.

  Args:
    network: a Keras layer; its weights are this layer's (nothing is copied), and its
      dtype policy is this layer's.

  Example:
    >>> net = tff.nn.GlowNetwork([4, 4, 2], hidden_channels=8, output_channels=2)
    >>> recomputed = tff.nn._recompute.Recomputed(net)
    >>> x = tf.ones([3, 4, 4, 2])
    >>> bool(np.array_equal(recomputed(x), net(x)))
    True
    >>> len(recomputed.trainable_weights) == len(net.trainable_weights)
    True
  """

  def __init__(self, network, **kwargs):
    if not isinstance(network, keras.layers.Layer):
      raise TypeError(f"Expected network to be a Keras layer. Received: network={network!r}")
    kwargs.setdefault("name", f"{network.name}_recomputed")
    super().__init__(dtype=network.dtype_policy, **kwargs)
    self.network = network
    # `tf.custom_gradient` takes positional tensors only in graph mode.
    self._recomputed = tf.recompute_grad(lambda *inputs: self.network(*inputs))
    self.built = True

  def call(self, x, context=None):
    return self._recomputed(*([x] if context is None else [x, context]))

  def get_config(self):
    config = super().get_config()
    config.pop("dtype", None)  # The network's.
    return dict(config, network=keras.saving.serialize_keras_object(self.network))

  @classmethod
  def from_config(cls, config):
    network = keras.saving.deserialize_keras_object(config.pop("network"))
    return cls(network, **config)
