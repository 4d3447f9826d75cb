"""RealNVP's logit preprocessing: data in [0, 1] to the real line, away from the edges."""

import math

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows.bijectors import _checks

tfb = tfp.bijectors


class LogitPreprocessing(tfb.Bijector):
  """`inverse(x) = logit(a + (1 - 2a) x)`, `forward(z) = (sigmoid(z) - a) / (1 - 2a)`, `a = alpha`.

  Elementwise. The inverse (data -> latent) squeezes `x in [0, 1]` into
  `[alpha, 1 - alpha]` before the logit, so pixels at exactly 0 or 1 map to finite points
  and `ildj(x) = log(1 - 2 alpha) - log p - log(1 - p)`, `p = alpha + (1 - 2 alpha) x`, is
  finite for `alpha > 0`. Its log-det is part of the model's density, so bits/dim include
  it. Note the image of `forward` over all real `z` is the open interval
  `(-alpha / (1 - 2 alpha), (1 - alpha) / (1 - 2 alpha))`, a superset of [0, 1]: samples of
  a flow ending in this bijector may fall slightly outside [0, 1] (clip them for display).
  Works for any float dtype; integer inputs raise `ValueError`.

  Args:
    alpha: squeeze margin, a Python float in [0, 0.5). 0.05 for images (RealNVP); with
      0 this is a plain logit, infinite at 0 and 1.
    validate_args: with `True`, `inverse` fails with `InvalidArgumentError` unless every
      `x` is finite and in [0, 1].

  Example:
    >>> logit = tff.bijectors.LogitPreprocessing(alpha=0.05)
    >>> x = tf.constant([0., 0.5, 1.])
    >>> np.round(logit.inverse(x).numpy(), 4)  # finite at 0 and 1
    array([-2.9444,  0.    ,  2.9444], dtype=float32)
    >>> bool(np.allclose(logit.forward(logit.inverse(x)), x, atol=1e-6))
    True

  References:
    Dinh, Sohl-Dickstein, Bengio. Density estimation using Real NVP. ICLR 2017, section 4.1.
    https://arxiv.org/abs/1605.08803
  """

  def __init__(self, alpha=0.05, validate_args=False, name="logit_preprocessing"):
    parameters = dict(locals())
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 0.5:
      raise ValueError(f"Expected alpha to be a float in [0, 0.5). Received: alpha={alpha!r}")
    self._alpha = float(alpha)
    super().__init__(forward_min_event_ndims=0, dtype=None, validate_args=validate_args,
                     parameters=parameters, name=name)

  @property
  def alpha(self):
    return self._alpha

  def _p(self, x):
    """`p = alpha + (1 - 2 alpha) x`, with `[0, 1]` checked under `validate_args`."""
    _checks.checked_input(x, _checks.FLOATS, [], False, "x")
    if self.validate_args:
      message = f"Expected x in [0, 1]. Received: x outside [0, 1] or not finite ({self.name})."
      assertions = [tf.debugging.assert_greater_equal(x, tf.zeros([], x.dtype), message),
                    tf.debugging.assert_less_equal(x, tf.ones([], x.dtype), message)]
      with tf.control_dependencies([a for a in assertions if a is not None]):
        x = tf.identity(x)
    return self._alpha + (1. - 2. * self._alpha) * x

  def _forward(self, z):
    _checks.checked_input(z, _checks.FLOATS, [], False, "z")
    return (tf.sigmoid(z) - self._alpha) / (1. - 2. * self._alpha)

  def _inverse(self, x):
    p = self._p(x)
    return tf.math.log(p) - tf.math.log1p(-p)

  def _inverse_log_det_jacobian(self, x):
    p = self._p(x)
    return math.log1p(-2. * self._alpha) - tf.math.log(p) - tf.math.log1p(-p)

  def _forward_log_det_jacobian(self, z):
    _checks.checked_input(z, _checks.FLOATS, [], False, "z")
    # log sigmoid'(z) = log sigmoid(z) + log sigmoid(-z), stable for large |z|.
    return -tf.math.softplus(-z) - tf.math.softplus(z) - math.log1p(-2. * self._alpha)

