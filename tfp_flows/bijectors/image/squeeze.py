"""Squeeze: trade spatial size for channels, `[H, W, C] -> [H/f, W/f, C f^2]`."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows.bijectors import _checks

tfb = tfp.bijectors


class Squeeze(tfb.Bijector):
  """`y[i, j, (a f + b) C + c] = x[i f + a, j f + b, c]` (TF's `space_to_depth`), log-det 0.

  RealNVP's squeeze: each `f x f` spatial block becomes `f^2` channels, so a later coupling
  with a channel mask mixes what a checkerboard mask kept apart. Batch dims are any.

  Args:
    factor: block size `f >= 2`; height and width must be divisible by it.

  Example:
    >>> squeeze = tff.bijectors.Squeeze(factor=2)
    >>> x = tf.reshape(tf.range(16.), [1, 4, 4, 1])
    >>> y = squeeze.forward(x)
    >>> y.shape, y[0, 0, 0].numpy().tolist()
    (TensorShape([1, 2, 2, 4]), [0.0, 1.0, 4.0, 5.0])
    >>> bool(tf.reduce_all(squeeze.inverse(y) == x))
    True

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017.
    https://arxiv.org/abs/1605.08803
  """

  def __init__(self, factor=2, validate_args=False, name="squeeze"):
    parameters = dict(factor=factor, validate_args=validate_args, name=name)
    if not isinstance(factor, int) or factor < 2:
      raise ValueError(f"Expected factor to be an int >= 2. Received: factor={factor!r}")
    self._factor = factor
    super().__init__(forward_min_event_ndims=3, is_constant_jacobian=True,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def factor(self):
    return self._factor

  def _forward(self, x):
    _checks.checked_input(x, _checks.FLOATS, [], False, "x")
    self._check_spatial(x.shape, "x")
    return self._as_images(x, lambda images: tf.nn.space_to_depth(images, self._factor))

  def _inverse(self, y):
    _checks.checked_input(y, _checks.FLOATS, [], False, "y")
    self._check_channels(y.shape, "y")
    return self._as_images(y, lambda images: tf.nn.depth_to_space(images, self._factor))

  def _forward_log_det_jacobian(self, x):
    return tf.zeros([], x.dtype)

  def _as_images(self, t, fn):
    """Applies a `[N, H, W, C]` op to `[..., H, W, C]`."""
    batch_shape = tf.shape(t)[:-3]
    out = fn(tf.reshape(t, tf.concat([[-1], tf.shape(t)[-3:]], 0)))
    return tf.reshape(out, tf.concat([batch_shape, tf.shape(out)[1:]], 0))

  def _check_spatial(self, shape, name):
    _check_rank(shape, name)
    height, width = shape[-3], shape[-2]
    if any(d is not None and d % self._factor for d in (height, width)):
      raise ValueError(
          f"Expected height and width divisible by factor={self._factor}. "
          f"Received: {name}.shape={shape}")

  def _check_channels(self, shape, name):
    _check_rank(shape, name)
    if shape[-1] is not None and shape[-1] % self._factor ** 2:
      raise ValueError(
          f"Expected channels divisible by factor**2={self._factor ** 2}. "
          f"Received: {name}.shape={shape}")

  def _forward_event_shape(self, input_shape):
    self._check_spatial(input_shape, "x")
    f = self._factor
    h, w, c = input_shape[-3:]
    return input_shape[:-3].concatenate([_div(h, f), _div(w, f), _mul(c, f * f)])

  def _inverse_event_shape(self, output_shape):
    self._check_channels(output_shape, "y")
    f = self._factor
    h, w, c = output_shape[-3:]
    return output_shape[:-3].concatenate([_mul(h, f), _mul(w, f), _div(c, f * f)])

  def _forward_event_shape_tensor(self, input_shape):
    f = self._factor
    return tf.concat([input_shape[:-3], input_shape[-3:-1] // f, input_shape[-1:] * f * f], 0)

  def _inverse_event_shape_tensor(self, output_shape):
    f = self._factor
    return tf.concat([output_shape[:-3], output_shape[-3:-1] * f, output_shape[-1:] // (f * f)], 0)


def _check_rank(shape, name):
  if shape.rank is not None and shape.rank < 3:
    raise ValueError(f"Expected {name} of shape [..., H, W, C]. Received: {name}.shape={shape}")


def _div(d, f):
  return None if d is None else d // f


def _mul(d, f):
  return None if d is None else d * f
