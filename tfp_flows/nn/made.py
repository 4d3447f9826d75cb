"""MADE: masked autoencoder for distribution estimation (Germain et al., 2015).

A masked MLP whose output `i` depends only on the inputs that come before `i` in an
ordering. It is the conditioner of MAF and IAF.

References:
  Germain, Gregor, Murray, Larochelle. MADE: Masked Autoencoder for Distribution
  Estimation. ICML 2015. https://arxiv.org/abs/1502.03509
"""

import keras
import numpy as np
import tensorflow as tf

from tfp_flows import _random
from tfp_flows.nn import _biases
from tfp_flows.nn import _sizes
from tfp_flows.nn import block_masked

ORDERS = ("left-to-right", "right-to-left", "random")


def input_degrees(event_size, input_order, seed=None):
  """Degrees 1..D of the inputs: input `i` may influence outputs of larger degree."""
  if isinstance(input_order, str):
    if input_order == "left-to-right":
      return np.arange(1, event_size + 1)
    if input_order == "right-to-left":
      return np.arange(event_size, 0, -1)
    if input_order == "random":
      return _random.numpy_generator(seed).permutation(event_size) + 1
    raise ValueError(
        f"Expected input_order in {ORDERS} or an array. Received: input_order={input_order!r}")
  order = np.asarray(input_order)
  if order.shape != (event_size,) or sorted(order.tolist()) != list(range(1, event_size + 1)):
    raise ValueError(
        f"Expected input_order to be a permutation of 1..{event_size}. "
        f"Received: input_order={input_order!r}")
  return order.astype(np.int64)


def hidden_degrees(num_units, event_size):
  """Evenly spread degrees in [1, D - 1] (all 0 when D == 1: no input reaches a unit)."""
  return np.ceil(np.arange(1, num_units + 1) * (event_size - 1) / (num_units + 1)).astype(np.int64)


def masks(degrees_in, hidden_units):
  """Masks `[fan_in, fan_out]` of the hidden layers and the output layer (per dimension)."""
  event_size = len(degrees_in)
  result, previous = [], degrees_in
  for units in hidden_units:
    current = hidden_degrees(units, event_size)
    result.append((current[np.newaxis, :] >= previous[:, np.newaxis]).astype(np.float32))
    previous = current
  result.append((degrees_in[np.newaxis, :] > previous[:, np.newaxis]).astype(np.float32))
  return result


@keras.saving.register_keras_serializable(package="tfp_flows")
class MADE(keras.layers.Layer):
  """Masked MLP, `[..., D] -> [..., D, params]`, autoregressive in `input_order`.

  `output[..., i, :]` depends only on `x[..., j]` with `order[j] < order[i]`, and on the
  conditional input, which feeds the first hidden layer and the output layer unmasked:
  `h_1 = act(x @ (W_1 * M_1) + c @ V_1 + b_1)`, ..., `out = h_L @ (W_o * M_o) + c @ V_o + b_o`.

  Args:
    params: number of outputs per dimension (2 for an affine MAF).
    event_shape: `[D]` or `D`, the size of the input vector.
    hidden_units: non-empty list of hidden layer widths.
    conditional_event_shape: `[C]` or `None`; shape of an optional context input.
    input_order: "left-to-right", "right-to-left", "random" or a permutation of 1..D.
    activation: hidden activation.
    seed: seed of the "random" order and of "fan_in_uniform" hidden biases; None draws them
      from the global NumPy and Keras states (which `keras.utils.set_random_seed` sets).
    kernel_initializer, output_kernel_initializer: initialisers of the hidden and output
      kernels. A small random output layer makes a flow start near the identity.
    hidden_bias_initializer: "zeros" (any Keras initialiser), or "fan_in_uniform"
      (`U(+-1/sqrt(fan_in))`, PyTorch's default, seeded by `seed`), which the builders use.
    block_sparse: MAF's and IAF's sequential passes compute only what each needs
      (`prefix_networks`), and with `num_blocks > 1` every matmul skips the zero blocks of
      its mask (`tfp_flows.nn.block_masked`): the same outputs, weights and gradients.
      False: dense masked matmuls everywhere, D full passes to sample.
    num_blocks: degree blocks per matmul when `block_sparse`. 1 (the default, the fastest
      one-pass on CPU at widths 256, `benchmarks/made_block_sparse.py`): one-pass calls
      stay dense; the sequential passes still read only the slab they need.

  Example:
    >>> made = tff.nn.MADE(params=2, event_shape=[3], hidden_units=[16])
    >>> x = tf.random.normal([4, 3])
    >>> made(x).shape
    TensorShape([4, 3, 2])
    >>> # Output i depends on x[..., :i] only: the last input feeds no output,
    >>> bool(np.allclose(made(x + [0., 0., 1.]), made(x)))
    True
    >>> # and the first one feeds outputs 1 and 2, not output 0.
    >>> np.abs(made(x + [1., 0., 0.]) - made(x)).max(axis=(0, 2)) > 0
    array([False,  True,  True])
  """

  def __init__(self, params, event_shape, hidden_units, conditional_event_shape=None,
               input_order="left-to-right", activation="relu", seed=None,
               kernel_initializer="glorot_uniform", output_kernel_initializer=None,
               hidden_bias_initializer="zeros", block_sparse=True, num_blocks=1, **kwargs):
    super().__init__(**kwargs)
    if not isinstance(params, (int, np.integer)) or params < 1:
      raise ValueError(f"Expected params to be an int >= 1. Received: params={params!r}")
    self.params = int(params)
    self.event_size = _vector_size(event_shape, "event_shape")
    self.hidden_units = _sizes.positive_ints(hidden_units, "hidden_units")
    self.conditional_size = (None if conditional_event_shape is None else
                             _vector_size(conditional_event_shape, "conditional_event_shape"))
    self.degrees = input_degrees(self.event_size, input_order, seed)
    # A random order is saved as the permutation it drew, so a reloaded MADE matches.
    fixed = isinstance(input_order, str) and input_order != "random"
    self.input_order = input_order if fixed else self.degrees.tolist()
    self.activation = keras.activations.get(activation)
    self.kernel_initializer = keras.initializers.get(kernel_initializer)
    self.output_kernel_initializer = keras.initializers.get(
        output_kernel_initializer or keras.initializers.VarianceScaling(1e-2))
    self.seed = seed
    self.hidden_bias_initializer = hidden_bias_initializer
    if not isinstance(block_sparse, bool):
      raise ValueError(f"Expected block_sparse to be a bool. Received: block_sparse={block_sparse!r}")
    self.block_sparse = block_sparse
    self.num_blocks = _sizes.positive_int(num_blocks, "num_blocks")
    self.build()

  @property
  def event_shape(self):
    return [self.event_size]

  @property
  def order(self):
    """`[D]`: the dimension at each position of the order, `argsort(degrees)`."""
    return self._order

  def build(self, input_shape=None):
    del input_shape  # Shapes come from the constructor.
    self._masks = masks(self.degrees, self.hidden_units)
    # Output units are laid out [D, params]: each dimension's mask repeats per param.
    self._masks[-1] = np.repeat(self._masks[-1], self.params, axis=1)
    self._masks = [mask > 0 for mask in self._masks]  # Boolean, for `masked_kernels`.
    # The block-sparse form works in the order: position k has degree k + 1.
    self._order = np.argsort(self.degrees, kind="stable")
    positions = np.arange(1, self.event_size + 1)
    self._layer_degrees = ([positions] + [hidden_degrees(units, self.event_size)
                                          for units in self.hidden_units]
                           + [np.repeat(positions, self.params)])
    fan_ins = [self.event_size] + self.hidden_units
    fan_outs = self.hidden_units + [self.event_size * self.params]
    self.kernels, self.biases = [], []
    for i, (fan_in, fan_out) in enumerate(zip(fan_ins, fan_outs)):
      last = i == len(self.hidden_units)
      self.kernels.append(self.add_weight(
          shape=(fan_in, fan_out), name=f"kernel_{i}",
          initializer=self.output_kernel_initializer if last else self.kernel_initializer))
      bias_initializer = ("zeros" if last else _biases.hidden_bias_initializer(
          self.hidden_bias_initializer, fan_in, self.seed, i))
      self.biases.append(self.add_weight(shape=(fan_out,), name=f"bias_{i}",
                                         initializer=bias_initializer))
    self.conditional_kernels = []
    if self.conditional_size is not None:
      # The context feeds the first hidden layer and, directly, the outputs: the first
      # dimension in the order has no hidden unit of its own, and would otherwise ignore it.
      self.conditional_kernels = [
          self.add_weight(shape=(self.conditional_size, self.hidden_units[0]),
                          name="conditional_kernel", initializer=self.kernel_initializer),
          self.add_weight(shape=(self.conditional_size, self.event_size * self.params),
                          name="conditional_output_kernel",
                          initializer=self.output_kernel_initializer)]
    self.built = True

  def masked_kernels(self):
    """The kernels with their masks' zeros, in the compute dtype (bfloat16 under
    "mixed_bfloat16", even outside `call`); pass them to `call` to skip re-masking in a loop.

    `where(mask, kernel, 0)`: the values and gradients of `kernel * mask` from a boolean
    mask, a quarter of a float mask's bytes to read; and a non-finite weight under a zero of the mask stays out of the outputs."""
    return [tf.where(tf.constant(mask), kernel, tf.zeros([], kernel.dtype))
            for kernel, mask in zip(self._in_compute_dtype(self.kernels), self._masks)]

  def _in_compute_dtype(self, tensors):
    """`tensors` (variables, inputs) cast to the compute dtype; a no-op without a mixed policy."""
    return [None if t is None else tf.cast(t, self.compute_dtype) for t in tensors]

  def flatten(self, x, conditional_input=None):
    """`(batch_shape, x: [N, D], context: [N, C] or None)`, batch shapes broadcast."""
    if (conditional_input is None) != (self.conditional_size is None):
      raise ValueError(
          "Expected conditional_input exactly when conditional_event_shape is set. Received: "
          f"conditional_event_shape={self.conditional_size}, "
          f"conditional_input={'None' if conditional_input is None else 'a tensor'}")
    batch_shape, context = tf.shape(x)[:-1], None
    if conditional_input is not None:
      # Batch dims of x and of the context broadcast against each other.
      batch_shape = tf.broadcast_dynamic_shape(batch_shape, tf.shape(conditional_input)[:-1])
      x = tf.broadcast_to(x, tf.concat([batch_shape, [self.event_size]], 0))
      context = tf.broadcast_to(conditional_input, tf.concat([batch_shape, [self.conditional_size]], 0))
      context = tf.reshape(tf.cast(context, x.dtype), [-1, self.conditional_size])
    return batch_shape, tf.reshape(x, [-1, self.event_size]), context

  def call(self, x, conditional_input=None, kernels=None):
    """`x: [..., D]`, `conditional_input: [..., C]` -> `[..., D, params]`.

    `kernels`: optional result of `masked_kernels()` (for repeated calls).
    """
    batch_shape, h, context = self.flatten(x, conditional_input)
    kernels = kernels or self.masked_kernels()
    if self.block_sparse and self.num_blocks > 1:
      identity = np.array_equal(self._order, np.arange(self.event_size))
      h = h if identity else tf.gather(h, self._order, axis=-1)
      h = self.prefix_networks([(0, self.event_size)], context, kernels)[0](h)
      h = h if identity else tf.gather(h, np.argsort(self._order), axis=-2)
    else:
      for i, (kernel, bias) in enumerate(zip(kernels, self.biases)):
        # BiasAdd, not `+`: grappler fuses MatMul + BiasAdd (+ ReLU) into one kernel.
        h = tf.nn.bias_add(tf.matmul(h, kernel), bias)
        if context is not None and i == 0:
          h += tf.matmul(context, self.conditional_kernels[0])
        if context is not None and i == len(self.hidden_units):
          h += tf.matmul(context, self.conditional_kernels[1])
        if i < len(self.hidden_units):
          h = self.activation(h)
    return tf.reshape(h, tf.concat([batch_shape, [self.event_size, self.params]], 0))

  def prefix_networks(self, chunks, context=None, kernels=None):
    """Per chunk `(a, b)` of positions, the MADE restricted to what its outputs need.

    Each is a function `x: [N, >= b - 1] -> [N, b - a, params]` (in the compute dtype,
    whatever `x`'s float dtype): the outputs of positions
    `a <= k < b` from the inputs at positions `< b - 1` (in the order,
    `x[:, k] = x_original[:, order[k]]`), through the hidden units of degree `< b` only,
    each matmul in `num_blocks` degree blocks. `context: [N, C]`, as from `flatten`;
    `kernels`: optional `masked_kernels()`. The weights are sliced here, once.
    """
    # Called outside `call` too (MAF's sampling), where Keras casts nothing: cast here.
    biases = self._in_compute_dtype(self.biases)
    (context,) = self._in_compute_dtype([context])
    kernels, shifts, conditional_kernels = block_masked.sorted_weights(
        kernels or self.masked_kernels(), biases,
        self._in_compute_dtype(self.conditional_kernels), self._order, self.params)
    if context is not None:
      shifts[0] = shifts[0] + tf.matmul(context, conditional_kernels[0])
      shifts[-1] = shifts[-1] + tf.matmul(context, conditional_kernels[1])
    edges, networks = block_masked.degree_edges(self.event_size, self.num_blocks), []
    for a, b in chunks:
      layers = []
      for i, (kernel, shift) in enumerate(zip(kernels, shifts)):
        last = i == len(kernels) - 1
        degrees_out = self._layer_degrees[i + 1]
        start, stop = ((a * self.params, b * self.params) if last else
                       (0, int(np.searchsorted(degrees_out, b - 1, side="right"))))
        slabs = block_masked.slabs(self._layer_degrees[i], degrees_out, edges, last,
                                   start, stop)
        layers.append((block_masked.split(kernel, slabs), shift[..., start:stop], stop - start))
      networks.append(lambda x, layers=layers: self._apply(layers, x))
    return networks

  def _apply(self, layers, h):
    (h,) = self._in_compute_dtype([h])
    for i, (pieces, shift, columns) in enumerate(layers):
      h = block_masked.matmul(h, pieces, columns) + shift
      if i < len(layers) - 1:
        h = self.activation(h)
    return tf.reshape(h, [-1, layers[-1][2] // self.params, self.params])

  def compute_output_shape(self, input_shape):
    return tuple(input_shape[:-1]) + (self.event_size, self.params)

  def get_config(self):
    config = super().get_config()
    config.update(
        params=self.params, event_shape=[self.event_size], hidden_units=self.hidden_units,
        conditional_event_shape=(None if self.conditional_size is None
                                 else [self.conditional_size]),
        input_order=self.input_order,
        activation=keras.activations.serialize(self.activation),
        kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        output_kernel_initializer=keras.initializers.serialize(self.output_kernel_initializer),
        seed=self.seed, hidden_bias_initializer=_biases.serialize(self.hidden_bias_initializer),
        block_sparse=self.block_sparse, num_blocks=self.num_blocks)
    return config


def _vector_size(shape, name):
  size = np.asarray(shape).reshape(-1)
  if size.size != 1 or not size[0] >= 1:
    raise ValueError(f"Expected {name} to be [D] with D >= 1. Received: {name}={shape!r}")
  return int(size[0])
