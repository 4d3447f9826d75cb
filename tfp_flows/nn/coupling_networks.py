"""Conditioners of coupling layers: the copied part in, `params` numbers per transformed
element out.

The last layer starts at zero, so a coupling built on one starts as the identity.
"""

import keras
import numpy as np
import tensorflow as tf


@keras.saving.register_keras_serializable(package="tfp_flows")
class CouplingMLP(keras.layers.Layer):
  """Dense network `[..., D] -> [..., D_out, params]` for vector couplings.

  Args:
    event_size: D, the input size.
    hidden_units: non-empty list of hidden widths.
    params: outputs per element (2: shift and raw scale).
    activation: hidden activation.
    output_size: D_out (default D).
  """

  def __init__(self, event_size, hidden_units=(64, 64), params=2, activation="relu",
               output_size=None, **kwargs):
    super().__init__(**kwargs)
    self.event_size, self.params = int(event_size), int(params)
    self.output_size = self.event_size if output_size is None else int(output_size)
    self.hidden_units = [int(u) for u in hidden_units]
    if not self.hidden_units or min(self.hidden_units) < 1:
      raise ValueError(
          "Expected hidden_units to be a non-empty list of positive ints. "
          f"Received: hidden_units={hidden_units!r}")
    self.activation = activation
    self.hidden = [keras.layers.Dense(u, activation=activation, dtype=self.dtype_policy)
                   for u in self.hidden_units]
    self.out = keras.layers.Dense(self.output_size * self.params, kernel_initializer="zeros",
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
    return tf.reshape(self.out(h),
                      tf.concat([batch_shape, [self.output_size, self.params]], 0))

  def get_config(self):
    config = super().get_config()
    config.update(event_size=self.event_size, hidden_units=self.hidden_units,
                  params=self.params, activation=self.activation,
                  output_size=self.output_size)
    return config


class _ConvNet(keras.layers.Layer):
  """Shared plumbing of the image conditioners: `[..., H, W, C] -> [..., H, W, C_out, params]`."""

  def __init__(self, event_shape, hidden_channels, params, output_channels, **kwargs):
    super().__init__(**kwargs)
    self.event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    if len(self.event_shape) != 3:
      raise ValueError(f"Expected event_shape [H, W, C]. Received: event_shape={event_shape!r}")
    self.hidden_channels, self.params = int(hidden_channels), int(params)
    self.output_channels = (self.event_shape[-1] if output_channels is None
                            else int(output_channels))

  def _conv(self, channels, size=3, **kwargs):
    return keras.layers.Conv2D(channels, size, padding="same", dtype=self.dtype_policy, **kwargs)

  def _zero_conv_out(self):
    return self._conv(self.output_channels * self.params, kernel_initializer="zeros")

  def call(self, x):
    batch_shape = tf.shape(x)[:-3]
    out = self._trunk(tf.reshape(x, [-1, *self.event_shape]))
    height, width, _ = self.event_shape
    return tf.reshape(out, tf.concat(
        [batch_shape, [height, width, self.output_channels, self.params]], 0))

  def get_config(self):
    config = super().get_config()
    config.update(event_shape=self.event_shape, hidden_channels=self.hidden_channels,
                  params=self.params, output_channels=self.output_channels)
    return config


@keras.saving.register_keras_serializable(package="tfp_flows")
class CouplingResNet(_ConvNet):
  """Convolutional ResNet `[..., H, W, C] -> [..., H, W, C_out, params]` (RealNVP).

  3x3 conv in, `num_blocks` residual blocks (ReLU, 3x3 conv, ReLU, 3x3 conv, skip), ReLU,
  3x3 conv out with zero-initialised weights.

  Args:
    event_shape: `[H, W, C]` of the input.
    hidden_channels: width of the residual stream.
    num_blocks: number of residual blocks.
    params: outputs per element.
    output_channels: C_out (default C).
  """

  def __init__(self, event_shape, hidden_channels=64, num_blocks=2, params=2,
               output_channels=None, **kwargs):
    super().__init__(event_shape, hidden_channels, params, output_channels, **kwargs)
    self.num_blocks = int(num_blocks)
    self.conv_in = self._conv(self.hidden_channels)
    self.blocks = [(self._conv(self.hidden_channels), self._conv(self.hidden_channels))
                   for _ in range(self.num_blocks)]
    self.conv_out = self._zero_conv_out()
    self.build((None, *self.event_shape))

  def build(self, input_shape):
    height, width, channels = self.event_shape
    hidden = (None, height, width, self.hidden_channels)
    self.conv_in.build((None, height, width, channels))
    for first, second in self.blocks:
      first.build(hidden)
      second.build(hidden)
    self.conv_out.build(hidden)
    self.built = True

  def _trunk(self, x):
    h = self.conv_in(x)
    for first, second in self.blocks:
      h = h + second(tf.nn.relu(first(tf.nn.relu(h))))
    return self.conv_out(tf.nn.relu(h))

  def get_config(self):
    return dict(super().get_config(), num_blocks=self.num_blocks)


@keras.saving.register_keras_serializable(package="tfp_flows")
class GlowNetwork(_ConvNet):
  """Glow's coupling network `[..., H, W, C] -> [..., H, W, C_out, params]`.

  3x3 conv, ReLU, 1x1 conv, ReLU, zero-initialised 3x3 conv, He-normal initialised (the layout
  and initialisers of TFP's `GlowDefaultNetwork`; Glow's paper code also has ActNorm inside).

  Args:
    event_shape: `[H, W, C]` of the input.
    hidden_channels: width of both hidden layers (Glow: 512).
    params: outputs per element.
    output_channels: C_out (default C).
  """

  def __init__(self, event_shape, hidden_channels=512, params=2, output_channels=None,
               **kwargs):
    super().__init__(event_shape, hidden_channels, params, output_channels, **kwargs)
    self.conv_in = self._conv(self.hidden_channels, activation="relu",
                              kernel_initializer="he_normal")
    self.conv_mid = self._conv(self.hidden_channels, size=1, activation="relu",
                               kernel_initializer="he_normal")
    self.conv_out = self._zero_conv_out()
    self.build((None, *self.event_shape))

  def build(self, input_shape):
    height, width, channels = self.event_shape
    self.conv_in.build((None, height, width, channels))
    self.conv_mid.build((None, height, width, self.hidden_channels))
    self.conv_out.build((None, height, width, self.hidden_channels))
    self.built = True

  def _trunk(self, x):
    return self.conv_out(self.conv_mid(self.conv_in(x)))
