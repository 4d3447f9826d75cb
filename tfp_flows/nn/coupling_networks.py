"""Conditioners of coupling layers: the copied part (and an optional context) in, `params`
numbers per transformed element out.

The last layer starts at zero, so a coupling built on one starts at the transform's value
for zero parameters (the identity for splines and `Affine`). A conditional network is
called as `network(x, context)`.
"""

import keras
import numpy as np
import tensorflow as tf

from tfp_flows.nn import _biases
from tfp_flows.nn import _sizes


@keras.saving.register_keras_serializable(package="tfp_flows")
class CouplingMLP(keras.layers.Layer):
  """Dense network `[..., D] -> [..., D_out, params]` for vector couplings.

  Args:
    event_size: D, the input size.
    hidden_units: non-empty list of hidden widths.
    params: outputs per element (2: shift and raw scale).
    activation: hidden activation.
    output_size: D_out (default D).
    conditional_event_shape: `[C]` of a context concatenated to the input, or `None`.
    kernel_initializer: initialiser of the hidden kernels (the output kernel starts at 0).
    hidden_bias_initializer, seed: "zeros" or "fan_in_uniform" hidden biases, as in `MADE`.

  Example:
    >>> net = tff.nn.CouplingMLP(event_size=2, hidden_units=[8], params=2, output_size=3)
    >>> out = net(tf.ones([5, 2]))
    >>> out.shape, float(tf.reduce_max(tf.abs(out)))  # the output layer starts at zero
    (TensorShape([5, 3, 2]), 0.0)
  """

  def __init__(self, event_size, hidden_units=(64, 64), params=2, activation="relu",
               output_size=None, conditional_event_shape=None,
               kernel_initializer="glorot_uniform", hidden_bias_initializer="zeros",
               seed=None, **kwargs):
    super().__init__(**kwargs)
    self.event_size, self.params = int(event_size), int(params)
    self.conditional_event_shape = _conditional_shape(conditional_event_shape, (1,))
    self.output_size = self.event_size if output_size is None else int(output_size)
    self.hidden_units = _sizes.positive_ints(hidden_units, "hidden_units")
    self.activation = activation
    self.kernel_initializer = keras.initializers.get(kernel_initializer)
    self.hidden_bias_initializer, self.seed = hidden_bias_initializer, seed
    fan_ins = [self.event_size + _size(self.conditional_event_shape)] + self.hidden_units
    self.hidden = [keras.layers.Dense(
        u, activation=activation, dtype=self.dtype_policy,
        kernel_initializer=self.kernel_initializer,
        bias_initializer=_biases.hidden_bias_initializer(hidden_bias_initializer, fan_in, seed, i))
                   for i, (u, fan_in) in enumerate(zip(self.hidden_units, fan_ins))]
    self.out = keras.layers.Dense(self.output_size * self.params, kernel_initializer="zeros",
                                  dtype=self.dtype_policy)
    self.build((None, self.event_size))

  def build(self, input_shape):
    shape = (None, self.event_size + _size(self.conditional_event_shape))
    for layer in self.hidden:
      layer.build(shape)
      shape = (None, layer.units)
    self.out.build(shape)
    self.built = True

  def call(self, x, context=None):
    _check_context(self, context)
    if context is not None:
      x, context = _broadcast_batch(x, context, 1, 1)
      x = tf.concat([x, tf.cast(context, x.dtype)], axis=-1)
    batch_shape = tf.shape(x)[:-1]
    h = tf.reshape(x, [-1, self.event_size + _size(self.conditional_event_shape)])
    for layer in self.hidden:
      h = layer(h)
    return tf.reshape(self.out(h),
                      tf.concat([batch_shape, [self.output_size, self.params]], 0))

  def get_config(self):
    config = super().get_config()
    config.update(event_size=self.event_size, hidden_units=self.hidden_units,
                  params=self.params, activation=self.activation,
                  output_size=self.output_size,
                  conditional_event_shape=self.conditional_event_shape,
                  kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
                  hidden_bias_initializer=_biases.serialize(self.hidden_bias_initializer),
                  seed=self.seed)
    return config


class _ConvNet(keras.layers.Layer):
  """Shared plumbing of the image conditioners: `[..., H, W, C] -> [..., H, W, C_out, params]`.

  A context image `[..., H, W, C']` is concatenated to the input's channels. A context
  vector `[..., C']` (the same at every pixel; a one-hot class label) enters through a
  dense layer added to the first layer's pre-activations, `h = conv(x) + W c`: a 3x3
  convolution over constant channels would be the same map (but at the borders) with 9x
  the weights. `_trunk(images, context_bias)` adds `context_bias` (`[N, 1, 1, width]` or
  0) where it belongs.
  """

  _needs_hidden = True

  def __init__(self, event_shape, hidden_channels, params, output_channels,
               conditional_event_shape=None, **kwargs):
    super().__init__(**kwargs)
    self.event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    if len(self.event_shape) != 3:
      raise ValueError(f"Expected event_shape [H, W, C]. Received: event_shape={event_shape!r}")
    self.conditional_event_shape = _conditional_shape(conditional_event_shape, (1, 3))
    if (self.conditional_event_shape is not None and len(self.conditional_event_shape) == 3
        and self.conditional_event_shape[:2] != self.event_shape[:2]):
      raise ValueError(
          f"Expected an image context of the input's height and width {self.event_shape[:2]}. "
          f"Received: conditional_event_shape={conditional_event_shape!r}")
    if self._needs_hidden:
      _sizes.positive_int(hidden_channels, "hidden_channels")
    self.hidden_channels, self.params = int(hidden_channels), int(params)
    self.output_channels = (self.event_shape[-1] if output_channels is None
                            else int(output_channels))

  def _conv(self, channels, size=3, **kwargs):
    return keras.layers.Conv2D(channels, size, padding="same", dtype=self.dtype_policy, **kwargs)

  def _zero_conv_out(self):
    return self._conv(self.output_channels * self.params, kernel_initializer="zeros")

  @property
  def _vector_context(self):
    return self.conditional_event_shape is not None and len(self.conditional_event_shape) == 1

  @property
  def input_channels(self):
    """C plus an image context's channels: what the first convolution sees."""
    return self.event_shape[-1] + (0 if self.conditional_event_shape is None
                                   or self._vector_context else self.conditional_event_shape[-1])

  def _context_layer(self, units, initializer):
    """The dense map of a vector context to the first layer's `units` (else `None`)."""
    if not self._vector_context:
      return None
    layer = keras.layers.Dense(units, use_bias=False, kernel_initializer=initializer,
                               dtype=self.dtype_policy, name="context")
    layer.build((None, self.conditional_event_shape[0]))
    return layer

  def call(self, x, context=None):
    _check_context(self, context)
    vector = None
    if context is not None:
      x, context = _broadcast_batch(x, context, 3, len(self.conditional_event_shape))
      context = tf.cast(context, x.dtype)
      if self._vector_context:
        vector = tf.reshape(context, [-1, self.conditional_event_shape[0]])
      else:
        x = tf.concat([x, context], axis=-1)
    batch_shape = tf.shape(x)[:-3]
    images = tf.reshape(x, [-1, *self.event_shape[:2], self.input_channels])
    height, width, _ = self.event_shape

    def trunk():
      bias = 0. if vector is None else self.context_in(vector)[:, tf.newaxis, tf.newaxis, :]
      return self._trunk(images, bias)

    # TF's CPU convolutions fail on an empty batch; an empty batch has an empty answer.
    # A batch size known when traced needs no cond (whose branches' shapes then differ,
    # which TF's graph optimizer reports as an error line on every compiled step).
    empty = lambda: tf.zeros([0, height, width, self.output_channels * self.params],
                             images.dtype)
    known = images.shape[0]
    if known is None:
      out = tf.cond(tf.shape(images)[0] > 0, trunk, empty)
    else:
      out = trunk() if known else empty()
    return tf.reshape(out, tf.concat(
        [batch_shape, [height, width, self.output_channels, self.params]], 0))

  def get_config(self):
    config = super().get_config()
    config.update(event_shape=self.event_shape, hidden_channels=self.hidden_channels,
                  params=self.params, output_channels=self.output_channels,
                  conditional_event_shape=self.conditional_event_shape)
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
    conditional_event_shape: a context's shape: `[C']`, the same at every pixel (a dense
      map of it is added to the first layer), or `[H, W, C']`, concatenated to the
      input's channels; `None` for none.

  Example:
    >>> net = tff.nn.CouplingResNet([4, 4, 2], hidden_channels=4, num_blocks=1, params=3)
    >>> out = net(tf.ones([1, 4, 4, 2]))
    >>> out.shape, float(tf.reduce_max(tf.abs(out)))  # zero-initialised last convolution
    (TensorShape([1, 4, 4, 2, 3]), 0.0)
  """

  def __init__(self, event_shape, hidden_channels=64, num_blocks=2, params=2,
               output_channels=None, conditional_event_shape=None, **kwargs):
    super().__init__(event_shape, hidden_channels, params, output_channels,
                     conditional_event_shape, **kwargs)
    if isinstance(num_blocks, bool) or not isinstance(num_blocks, int) or num_blocks < 0:
      raise ValueError(f"Expected num_blocks to be an int >= 0. Received: num_blocks={num_blocks!r}")
    self.num_blocks = int(num_blocks)
    self.conv_in = self._conv(self.hidden_channels)
    self.blocks = [(self._conv(self.hidden_channels), self._conv(self.hidden_channels))
                   for _ in range(self.num_blocks)]
    self.conv_out = self._zero_conv_out()
    self.context_in = self._context_layer(self.hidden_channels, "glorot_uniform")
    self.build((None, *self.event_shape))

  def build(self, input_shape):
    height, width, _ = self.event_shape
    hidden = (None, height, width, self.hidden_channels)
    self.conv_in.build((None, height, width, self.input_channels))
    for first, second in self.blocks:
      first.build(hidden)
      second.build(hidden)
    self.conv_out.build(hidden)
    self.built = True

  def _trunk(self, x, context_bias):
    h = self.conv_in(x) + context_bias
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
    conditional_event_shape: a context's shape: `[C']`, the same at every pixel (a dense
      map of it is added to the first layer), or `[H, W, C']`, concatenated to the
      input's channels; `None` for none.

  Example:
    >>> net = tff.nn.GlowNetwork([4, 4, 2], hidden_channels=8, output_channels=2)
    >>> out = net(tf.ones([3, 4, 4, 2]))
    >>> out.shape, float(tf.reduce_max(tf.abs(out)))  # zero-initialised last convolution
    (TensorShape([3, 4, 4, 2, 2]), 0.0)
  """

  def __init__(self, event_shape, hidden_channels=512, params=2, output_channels=None,
               conditional_event_shape=None, **kwargs):
    super().__init__(event_shape, hidden_channels, params, output_channels,
                     conditional_event_shape, **kwargs)
    self.conv_in = self._conv(self.hidden_channels, kernel_initializer="he_normal")
    self.conv_mid = self._conv(self.hidden_channels, size=1, activation="relu",
                               kernel_initializer="he_normal")
    self.conv_out = self._zero_conv_out()
    self.context_in = self._context_layer(self.hidden_channels, "he_normal")
    self.build((None, *self.event_shape))

  def build(self, input_shape):
    height, width, _ = self.event_shape
    self.conv_in.build((None, height, width, self.input_channels))
    self.conv_mid.build((None, height, width, self.hidden_channels))
    self.conv_out.build((None, height, width, self.hidden_channels))
    self.built = True

  def _trunk(self, x, context_bias):
    return self.conv_out(self.conv_mid(tf.nn.relu(self.conv_in(x) + context_bias)))


def _conditional_shape(shape, ranks):
  if shape is None:
    return None
  shape = [int(d) for d in np.reshape(shape, [-1])]
  if len(shape) not in ranks or min(shape) < 1:
    expected = " or ".join({1: "[C]", 3: "[H, W, C]"}[r] for r in ranks)
    raise ValueError(f"Expected conditional_event_shape {expected} of positive sizes. "
                     f"Received: conditional_event_shape={shape!r}")
  return shape


def _size(shape):
  return 0 if shape is None else int(np.prod(shape))


def _check_context(layer, context):
  if (context is None) != (layer.conditional_event_shape is None):
    raise ValueError(
        "Expected a context exactly when conditional_event_shape is set. Received: "
        f"conditional_event_shape={layer.conditional_event_shape}, "
        f"context={'None' if context is None else 'a tensor'} ({layer.name})")


def _broadcast_batch(x, context, x_event_rank, context_event_rank):
  """`x` and `context` with their batch dims broadcast against each other."""
  x_batch = tf.shape(x)[:tf.rank(x) - x_event_rank]
  context_batch = tf.shape(context)[:tf.rank(context) - context_event_rank]
  batch = tf.broadcast_dynamic_shape(x_batch, context_batch)
  x = tf.broadcast_to(x, tf.concat([batch, tf.shape(x)[-x_event_rank:]], 0))
  context = tf.broadcast_to(context, tf.concat([batch, tf.shape(context)[-context_event_rank:]], 0))
  return x, context


@keras.saving.register_keras_serializable(package="tfp_flows")
class GlowPriorNetwork(_ConvNet):
  """Glow's learned-prior network `[..., H, W, C] -> [..., H, W, C_out, params]`: one
  zero-initialised 3x3 convolution (Glow's `Conv2dZeros`), so the prior starts standard.

  Args:
    event_shape: `[H, W, C]` of the input (the channels that go on).
    params: outputs per element (2: mean and raw log-scale).
    output_channels: C_out (the factored-out channels).
    conditional_event_shape: as in `GlowNetwork`; a vector context's dense map (zero-
      initialised) is added to the outputs, so a class shifts the prior's mean and scale.

  Example:
    >>> net = tff.nn.GlowPriorNetwork([2, 2, 4], output_channels=4)
    >>> out = net(tf.ones([1, 2, 2, 4]))  # mean and raw log-scale per factored element
    >>> out.shape, float(tf.reduce_max(tf.abs(out)))  # starts at a standard normal prior
    (TensorShape([1, 2, 2, 4, 2]), 0.0)
  """

  _needs_hidden = False

  def __init__(self, event_shape, params=2, output_channels=None, conditional_event_shape=None,
               **kwargs):
    super().__init__(event_shape, 0, params, output_channels, conditional_event_shape,
                     **kwargs)
    self.conv_out = self._zero_conv_out()
    self.context_in = self._context_layer(self.output_channels * self.params, "zeros")
    self.build((None, *self.event_shape))

  def build(self, input_shape):
    height, width, _ = self.event_shape
    self.conv_out.build((None, height, width, self.input_channels))
    self.built = True

  def _trunk(self, x, context_bias):
    return self.conv_out(x) + context_bias

  def get_config(self):
    config = super().get_config()
    del config["hidden_channels"]
    return config
