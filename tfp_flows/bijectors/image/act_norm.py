"""Glow's activation normalisation: a per-channel affine map with data-dependent start."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows.bijectors import _checks
from tfp_flows.bijectors import walk

tfb = tfp.bijectors

MIN_STD = 1e-6  # A channel whose batch std is below this keeps scale 1.


class ActNorm(tfb.Bijector):
  """`x = loc + exp(log_scale) * z` per channel (last axis), `log|det| = P sum(log_scale)`.

  `P` is the number of positions per channel (`H * W` for images, 1 for vectors). The
  data-side direction (`inverse`) normalises: `z = (x - loc) / exp(log_scale)`.

  Initialisation is explicit, never a side effect of a call: `initialize(x)` sets `loc` to
  the per-channel mean of the batch `x` (data side) and `log_scale` to the log of its std,
  so `inverse(x)` has zero mean and unit variance per channel; a channel with std below
  1e-6 (constant on the batch) keeps scale 1 instead of dividing by zero. The flag
  `initialized` is a non-trainable `tf.Variable`, saved and restored with the weights, so a
  reloaded model is not re-initialised. `initialize_act_norms(flow, x)` initialises every
  ActNorm of a chain or model in data-to-latent order, from one batch. Before it runs the
  map is the identity; with `validate_args=True`, using an uninitialised ActNorm raises.

  Args:
    event_shape: `[..., C]`, e.g. `[H, W, C]`; the statistics are per channel C.
    dtype: float dtype of the variables.

  Example:
    >>> act_norm = tff.bijectors.ActNorm([2])
    >>> x = tf.constant([[1., 10.], [3., 30.]])
    >>> z = act_norm.initialize(x)  # inverse(x) under the new values
    >>> np.round(z.numpy(), 4)  # zero mean, unit variance per channel
    array([[-1., -1.], [ 1.,  1.]], dtype=float32)
    >>> bool(act_norm.initialized), bool(np.allclose(act_norm.forward(z), x))
    (True, True)

  References:
    Kingma, Dhariwal. Glow: Generative Flow with Invertible 1x1 Convolutions. NeurIPS 2018.
    https://arxiv.org/abs/1807.03039
  """

  def __init__(self, event_shape, dtype=tf.float32, validate_args=False, name="act_norm"):
    parameters = dict(event_shape=event_shape, dtype=dtype, validate_args=validate_args,
                      name=name)
    self._event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    if not self._event_shape or min(self._event_shape) < 1:
      raise ValueError("Expected event_shape to be a non-empty list of positive ints, "
                       f"channels last. Received: event_shape={event_shape!r}")
    self._input_dtype = tf.as_dtype(dtype)
    channels = self._event_shape[-1]
    with tf.name_scope(name) as scope:
      self._loc = tf.Variable(tf.zeros([channels], self._input_dtype), name="loc")
      self._log_scale = tf.Variable(tf.zeros([channels], self._input_dtype), name="log_scale")
      self._initialized = tf.Variable(False, trainable=False, name="initialized")
      super().__init__(forward_min_event_ndims=len(self._event_shape),
                       is_constant_jacobian=True, validate_args=validate_args,
                       parameters=parameters, name=scope)

  @property
  def loc(self):
    return self._loc

  @property
  def log_scale(self):
    return self._log_scale

  @property
  def initialized(self):
    """Non-trainable boolean `tf.Variable`; True once `initialize` has run."""
    return self._initialized

  def initialize(self, x):
    """Data-dependent start from a data-side batch `x: [N..., *event_shape]`.

    Call it eagerly (outside `tf.function`); under a `tf.distribute` strategy call it in
    the cross-replica context with the global batch. Returns `inverse(x)` under the new
    values, the input of the next layer on the way to the latent.
    """
    if not tf.executing_eagerly():
      raise RuntimeError("Expected ActNorm.initialize to run eagerly (outside tf.function).")
    x = _checks.checked_input(tf.convert_to_tensor(x), self._input_dtype, self._event_shape,
                              validate_args=True, name="x")
    if not x.shape.num_elements():
      raise ValueError(f"Expected a non-empty batch [N, {', '.join(map(str, self._event_shape))}] "
                       f"to start ActNorm from data. Received: x.shape={x.shape}")
    axes = list(range(x.shape.rank - 1))
    mean, variance = tf.nn.moments(x, axes)
    std = tf.sqrt(variance)
    self._loc.assign(mean)
    self._log_scale.assign(tf.where(std > MIN_STD, tf.math.log(std), tf.zeros_like(std)))
    self._initialized.assign(True)
    return self._normalize(x)

  def _normalize(self, x):
    return (x - self._loc) * tf.exp(-self._log_scale)

  def _checked(self, u, name):
    u = _checks.checked_input(u, self._input_dtype, self._event_shape, self.validate_args, name)
    if not self.validate_args:
      return u
    with tf.control_dependencies([tf.debugging.assert_equal(
        self._initialized, True,
        message="Expected an initialised ActNorm: call "
                "tff.bijectors.initialize_act_norms(flow, batch) or ActNorm.initialize first")]):
      return tf.identity(u)

  def _forward(self, z):
    return self._loc + tf.exp(self._log_scale) * self._checked(z, "z")

  def _inverse(self, x):
    return self._normalize(self._checked(x, "x"))

  def _forward_log_det_jacobian(self, z):
    positions = int(np.prod(self._event_shape[:-1]))
    return positions * tf.reduce_sum(self._log_scale)

  def _inverse_log_det_jacobian(self, x):
    return -self._forward_log_det_jacobian(x)


def initialize_act_norms(flow, x, force=False, conditional_input=None):
  """Initialises every `ActNorm` in `flow` from the data batch `x`; returns how many.

  `flow` is a bijector or a `TransformedDistribution` (its bijector is used). The batch is
  pushed from the data side towards the latent through `tfb.Chain`s and `FactorOut`s
  (`walk.push_inverse`); each ActNorm is initialised on the input it sees, so every layer
  starts normalised given the layers before it. ActNorms already initialised (e.g.
  restored from a checkpoint) are kept unless `force=True`. Call it eagerly, once, before
  training; under a `tf.distribute` strategy call it in the cross-replica context on a
  global batch. A conditional flow needs the batch's `conditional_input` (what its
  bijectors take, e.g. one-hot labels `[N, K]`).

  Example:
    >>> flow = tfb.Chain([tff.bijectors.ActNorm([2]), tfb.Shift(1.), tff.bijectors.ActNorm([2])])
    >>> x = tf.random.normal([16, 2]) * 3. + 2.
    >>> tff.bijectors.initialize_act_norms(flow, x)
    2
    >>> z = flow.inverse(x)
    >>> bool(np.allclose(tf.math.reduce_std(z, 0), 1., atol=1e-3))
    True
  """
  if not tf.executing_eagerly():
    raise RuntimeError("Expected initialize_act_norms to run eagerly (outside tf.function).")
  count = 0

  def visit(bijector, x):
    nonlocal count
    if isinstance(bijector, ActNorm):
      if force or not bool(bijector.initialized.numpy()):
        count += 1
        return bijector.initialize(x)
      return bijector._normalize(x)  # pylint: disable=protected-access
    if any(isinstance(m, ActNorm) for m in bijector.submodules):
      raise ValueError(
          "Expected ActNorms only inside tfb.Chain and tff.bijectors.FactorOut. Received: an "
          f"ActNorm inside {type(bijector).__name__.lstrip('_')}; call its initialize(x)")
    return None

  walk.push_inverse(flow, tf.convert_to_tensor(x), visit, conditional_input)
  return count


def uninitialized_act_norms(flow):
  """The ActNorms anywhere in `flow` (a bijector or distribution: its `tf.Module`
  submodules) that have not been started from data yet."""
  return [m for m in flow.submodules
          if isinstance(m, ActNorm) and not bool(m.initialized.numpy())]
