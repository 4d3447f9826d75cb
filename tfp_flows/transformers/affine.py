"""Elementwise affine transformer: `x = z * exp(log_scale) + shift`.

Pure functions of the input and a parameter tensor; no variables. The parameters arrive
as raw network outputs of shape `[..., D, 2]` (shift, unconstrained log-scale). The
log-scale is soft-clipped, `log_scale = b * tanh(raw / b)`, so a network that outputs a
large number cannot blow the flow up (an unbounded MAF diverged on two moons in tests).
"""

import tensorflow as tf


def soft_clip(x, bound):
  """`bound * tanh(x / bound)`: the identity near 0, smoothly limited to (-bound, bound)."""
  if bound is None:
    return x
  return bound * tf.math.tanh(x / bound)


class Affine:
  """Affine transformer with a soft-clipped log-scale.

  Direction convention follows TFP: `forward` maps the base side `z` to the data side `x`.

  Args:
    log_scale_bound: positive float or `None`; the log-scale stays in
      `(-log_scale_bound, log_scale_bound)`. `None` leaves it unbounded.
  """

  def __init__(self, log_scale_bound=3.0):
    if log_scale_bound is not None and not log_scale_bound > 0:
      raise ValueError(
          f"Expected log_scale_bound > 0 or None. Received: log_scale_bound={log_scale_bound}")
    self.log_scale_bound = log_scale_bound

  num_params = 2

  def _unpack(self, params):
    shift, raw_log_scale = tf.unstack(params, num=2, axis=-1)
    return shift, soft_clip(raw_log_scale, self.log_scale_bound)

  def forward(self, z, params):
    """`x = z * exp(log_scale) + shift`, elementwise; `z: [..., D]`, `params: [..., D, 2]`."""
    shift, log_scale = self._unpack(params)
    return z * tf.exp(log_scale) + shift

  def inverse(self, x, params):
    """`z = (x - shift) * exp(-log_scale)`."""
    shift, log_scale = self._unpack(params)
    return (x - shift) * tf.exp(-log_scale)

  def forward_log_det_jacobian(self, z, params):
    """Elementwise `log|dx/dz| = log_scale`, shape `[..., D]`."""
    del z
    return self._unpack(params)[1]

  def inverse_log_det_jacobian(self, x, params):
    """Elementwise `log|dz/dx| = -log_scale`, shape `[..., D]`."""
    del x
    return -self._unpack(params)[1]

  def __repr__(self):
    return f"Affine(log_scale_bound={self.log_scale_bound})"
