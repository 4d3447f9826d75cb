"""Multi-scale factor-out: part of the channels leaves the flow, the rest goes deeper."""

import numpy as np
import tensorflow as tf

from tfp_flows.bijectors import _checks
from tfp_flows.bijectors import _one_pass


class FactorOut(_one_pass.OnePassBijector):
  """`x = concat(z[..., :k], f(z[..., k:]))` on the channel axis, `log|det| = log|det f'|`.

  The first `k` channels are factored out: on the way from data to latent they go straight
  to the latent, and the inner bijector `f` (the deeper levels of a multi-scale flow,
  RealNVP section 3.6 / Glow's split) transforms only the other `C - k` channels. Nested
  with `Squeeze` this keeps a whole multi-scale model one bijector from an `[H, W, C]`
  latent to `[H, W, C]` data, so an ordinary base (e.g. a standard normal of the data's
  shape) gives its density. `f`'s output shape must equal its input shape.

  Args:
    bijector: the inner bijector on `[H, W, C - k]` events (event ndims 3).
    event_shape: `[H, W, C]`.
    num_factored: k, default `C // 2`.

  Keyword arguments of its methods (`bijector_kwargs`, e.g. a context) go to the inner
  bijector unchanged.

  Example:
    >>> inner = tfb.Scale(2.)  # the deeper levels act on the last 2 of 4 channels
    >>> split = tff.bijectors.FactorOut(inner, [2, 2, 4], num_factored=2)
    >>> x = tf.ones([1, 2, 2, 4])
    >>> split.inverse(x)[0, 0, 0].numpy().tolist()  # the first 2 channels pass unchanged
    [1.0, 1.0, 0.5, 0.5]
    >>> round(float(split.inverse_log_det_jacobian(x, event_ndims=3)[0]), 4)  # 8 log(1/2)
    -5.5452
  """

  def __init__(self, bijector, event_shape, num_factored=None, validate_args=False,
               name="factor_out"):
    parameters = dict(bijector=bijector, event_shape=event_shape, num_factored=num_factored,
                      validate_args=validate_args, name=name)
    self._event_shape = [int(d) for d in np.reshape(event_shape, [-1])]
    if len(self._event_shape) != 3:
      raise ValueError(
          f"Expected event_shape [H, W, C]. Received: event_shape={event_shape!r}")
    channels = self._event_shape[-1]
    self._num_factored = channels // 2 if num_factored is None else int(num_factored)
    if not 0 < self._num_factored < channels:
      raise ValueError(f"Expected 0 < num_factored < C = {channels}. "
                       f"Received: num_factored={num_factored!r}")
    inner_shape = self._event_shape[:-1] + [channels - self._num_factored]
    if list(bijector.forward_event_shape(inner_shape)) != inner_shape:
      raise ValueError(
          f"Expected an inner bijector that keeps the event shape {inner_shape}. Received: "
          f"forward_event_shape={list(bijector.forward_event_shape(inner_shape))}")
    self._bijector = bijector
    super().__init__(forward_min_event_ndims=3, dtype=None, validate_args=validate_args,
                     parameters=parameters, name=name)

  @property
  def bijector(self):
    return self._bijector

  @property
  def num_factored(self):
    return self._num_factored

  def split(self, u):
    """`(factored [..., k], rest [..., C - k])`."""
    return u[..., :self._num_factored], u[..., self._num_factored:]

  def merge(self, factored, rest):
    return tf.concat([factored, rest], axis=-1)

  def _forward_and_log_det(self, z, **kwargs):
    z = _checks.checked_input(z, _checks.FLOATS, self._event_shape, self.validate_args, "z")
    factored, rest = self.split(z)
    x_rest = self._bijector.forward(rest, **kwargs)
    fldj = self._bijector.forward_log_det_jacobian(rest, event_ndims=3, **kwargs)
    return self.merge(factored, x_rest), tf.broadcast_to(fldj, tf.shape(z)[:-3])

  def _inverse_and_log_det(self, x, **kwargs):
    x = _checks.checked_input(x, _checks.FLOATS, self._event_shape, self.validate_args, "x")
    factored, rest = self.split(x)
    z_rest = self._bijector.inverse(rest, **kwargs)
    ildj = self._bijector.inverse_log_det_jacobian(rest, event_ndims=3, **kwargs)
    return self.merge(factored, z_rest), tf.broadcast_to(ildj, tf.shape(x)[:-3])
