"""Elementwise affine transformers: shift and scale per element.

`Affine`: `x = z * exp(log_scale) + shift` with a soft-clipped log-scale,
`log_scale = b * tanh(raw / b)`, so a network that outputs a large number cannot blow the
flow up (an unbounded MAF diverged on two moons in tests). It is the identity at zero
parameters. MAF and IAF use it.

`GlowAffine`: Glow's coupling scale `s = sigmoid(raw + 2)` in (0, 1), applied in the
data-to-latent direction, `z = (x + shift) * s`: the training direction only contracts, so
its log-det `sum log s <= 0` and the likelihood cannot grow without bound through `s`. Its
log-scale is also softly floored at -10 (`s >= 4.5e-5`): a network that outputs a large
negative number would otherwise contract `x` to 0 in float arithmetic, and sampling would
compute `0 * inf`.

`Additive`: NICE's additive coupling, `z = x + shift`, log-det 0.
"""

import tensorflow as tf

from tfp_flows.transformers import base


def soft_clip(x, bound):
  """`bound * tanh(x / bound)`: the identity near 0, smoothly limited to (-bound, bound)."""
  if bound is None:
    return x
  return bound * tf.math.tanh(x / bound)


class Affine(base.Transformer):
  """`x = z * exp(log_scale) + shift`, `params = (shift, raw log-scale)`, soft-clipped.

  Args:
    log_scale_bound: positive float or `None`; the log-scale stays in
      `(-log_scale_bound, log_scale_bound)`. `None` leaves it unbounded.

  Example:
    >>> affine = tff.transformers.Affine()
    >>> z, params = tf.constant([1., 2.]), tf.constant([[1., 0.], [0., np.log(2.)]])
    >>> x, log_det = affine.forward_and_log_det(z, params)  # shift, raw log-scale
    >>> np.round(x.numpy(), 3)  # 1 * e^0 + 1, and 2 * e^0.681 + 0
    array([2.   , 3.952], dtype=float32)
    >>> np.round(log_det.numpy(), 3)  # log 2 = 0.693, soft-clipped into (-3, 3)
    array([0.   , 0.681], dtype=float32)
    >>> bool(np.allclose(affine.inverse(x, params), z))
    True
  """

  num_params = 2

  def __init__(self, log_scale_bound=3.0):
    if log_scale_bound is not None and not log_scale_bound > 0:
      raise ValueError(
          f"Expected log_scale_bound > 0 or None. Received: log_scale_bound={log_scale_bound}")
    self.log_scale_bound = log_scale_bound

  def _unpack(self, params):
    shift, raw_log_scale = tf.unstack(params, num=2, axis=-1)
    return shift, soft_clip(raw_log_scale, self.log_scale_bound)

  def forward_and_log_det(self, z, params):
    shift, log_scale = self._unpack(params)
    return z * tf.exp(log_scale) + shift, log_scale

  def inverse_and_log_det(self, x, params):
    shift, log_scale = self._unpack(params)
    return (x - shift) * tf.exp(-log_scale), -log_scale

  def __repr__(self):
    return f"Affine(log_scale_bound={self.log_scale_bound})"


class GlowAffine(base.Transformer):
  """`z = (x + shift) * s`, `log s = -10 tanh(softplus(-raw - 2) / 10)`; `x = z / s - shift`.

  `log s` is `log sigmoid(raw + 2)` (Glow's scale) to within 7e-6 relative where it is
  above -1, and stays above -10. `s = 0.88` at zero parameters (Glow's `+ 2`), so a
  coupling built on a zero-initialised network starts as a fixed contraction, not the
  identity. `params = (shift, raw)`.

  Example:
    >>> glow = tff.transformers.GlowAffine()
    >>> x, params = tf.constant([1.]), tf.zeros([1, 2])
    >>> z, log_det = glow.inverse_and_log_det(x, params)  # z = (x + 0) * sigmoid(2)
    >>> round(float(z[0]), 4), round(float(log_det[0]), 4)
    (0.8808, -0.1269)
    >>> bool(np.allclose(glow.forward(z, params), x))
    True
  """

  num_params = 2
  log_scale_floor = 10.

  def _unpack(self, params):
    shift, raw = tf.unstack(params, num=2, axis=-1)
    return shift, -soft_clip(tf.math.softplus(-raw - 2.), self.log_scale_floor)

  def forward_and_log_det(self, z, params):
    shift, log_s = self._unpack(params)
    return z * tf.exp(-log_s) - shift, -log_s

  def inverse_and_log_det(self, x, params):
    shift, log_s = self._unpack(params)
    return (x + shift) * tf.exp(log_s), log_s

  def __repr__(self):
    return "GlowAffine()"


class Additive(base.Transformer):
  """`z = x + shift`, `x = z - shift`, log-det 0; `params = (shift,)` (NICE).

  Example:
    >>> additive = tff.transformers.Additive()
    >>> z, log_det = additive.inverse_and_log_det(tf.constant([1., 2.]), tf.constant([[3.], [4.]]))
    >>> z.numpy(), log_det.numpy()
    (array([4., 6.], dtype=float32), array([0., 0.], dtype=float32))
  """

  num_params = 1

  def forward_and_log_det(self, z, params):
    shift = params[..., 0]
    return z - shift, tf.zeros_like(z)

  def inverse_and_log_det(self, x, params):
    shift = params[..., 0]
    return x + shift, tf.zeros_like(x)

  def __repr__(self):
    return "Additive()"
