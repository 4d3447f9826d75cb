"""Conditioners of coupling layers: event in, `params` numbers per event element out.

The last layer starts at zero, so a coupling built on one starts as the identity.
"""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfp_flows")
class CouplingMLP(keras.layers.Layer):
  """Dense network `[..., D] -> [..., D, params]` for vector couplings.

  Args:
    event_size: D.
    hidden_units: non-empty list of hidden widths.
    params: outputs per element (2: shift and raw scale).
    activation: hidden activation.
  """

  def __init__(self, event_size, hidden_units=(64, 64), params=2, activation="relu", **kwargs):
    super().__init__(**kwargs)
    self.event_size, self.params = int(event_size), int(params)
    self.hidden_units = [int(u) for u in hidden_units]
    if not self.hidden_units or min(self.hidden_units) < 1:
      raise ValueError(
          "Expected hidden_units to be a non-empty list of positive ints. "
          f"Received: hidden_units={hidden_units!r}")
    self.activation = activation
    self.hidden = [keras.layers.Dense(u, activation=activation, dtype=self.dtype_policy)
                   for u in self.hidden_units]
    self.out = keras.layers.Dense(self.event_size * self.params, kernel_initializer="zeros",
                                  dtype=self.dtype_policy)
    self.build((None, self.event_size))

  def build(self, input_shape):
    shape = (None, self.event_size)
    for layer in self.hidden:
      layer.build(shape)
      shape = (None, layer.units)
    self.out.build(shape)
    self.built = True

  def call(self, x):
    batch_shape = tf.shape(x)[:-1]
    h = tf.reshape(x, [-1, self.event_size])
    for layer in self.hidden:
      h = layer(h)
    return tf.reshape(self.out(h), tf.concat([batch_shape, [self.event_size, self.params]], 0))

  def get_config(self):
    config = super().get_config()
    config.update(event_size=self.event_size, hidden_units=self.hidden_units,
                  params=self.params, activation=self.activation)
    return config


@keras.saving.register_keras_serializable(package="tfp_flows")
class CouplingResNet(keras.layers.Layer):
  """Convolutional ResNet `[..., H, W, C] -> [..., H, W, C, params]` for image couplings.

  3x3 conv in, `num_blocks` residual blocks (ReLU, 3x3 conv, ReLU, 3x3 conv, skip), 3x3
  conv out with zero-initialised weights.

  Args:
    event_shape: `[H, W, C]`.
    hidden_channels: width of the residual stream.
    num_blocks: number of residual blocks.
    params: outputs per element.
  """

  def __init__(self, event_shape, hidden_channels=64, num_blocks=2, params=2, **kwargs):
    super().__init__(**kwargs)
    self.event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    if len(self.event_shape) != 3:
      raise ValueError(f"Expected event_shape [H, W, C]. Received: event_shape={event_shape!r}")
    self.hidden_channels, self.num_blocks, self.params = (
        int(hidden_channels), int(num_blocks), int(params))
    conv = lambda channels, **kw: keras.layers.Conv2D(channels, 3, padding="same",
                                                      dtype=self.dtype_policy, **kw)
    self.conv_in = conv(self.hidden_channels)
    self.blocks = [(conv(self.hidden_channels), conv(self.hidden_channels))
                   for _ in range(self.num_blocks)]
    self.conv_out = conv(self.event_shape[-1] * self.params, kernel_initializer="zeros")
    self.build((None, *self.event_shape))

  def build(self, input_shape):
    height, width, channels = self.event_shape
    self.conv_in.build((None, height, width, channels))
    for first, second in self.blocks:
      first.build((None, height, width, self.hidden_channels))
      second.build((None, height, width, self.hidden_channels))
    self.conv_out.build((None, height, width, self.hidden_channels))
    self.built = True

  def call(self, x):
    batch_shape = tf.shape(x)[:-3]
    h = self.conv_in(tf.reshape(x, [-1, *self.event_shape]))
    for first, second in self.blocks:
      h = h + second(tf.nn.relu(first(tf.nn.relu(h))))
    out = self.conv_out(tf.nn.relu(h))
    return tf.reshape(out, tf.concat([batch_shape, self.event_shape + [self.params]], 0))

  def get_config(self):
    config = super().get_config()
    config.update(event_shape=self.event_shape, hidden_channels=self.hidden_channels,
                  num_blocks=self.num_blocks, params=self.params)
    return config
