"""Bijectors whose every direction returns its log-det together with its output."""

import tensorflow_probability as tfp
from tensorflow_probability.python.internal import cache_util


class OnePassBijector(tfp.bijectors.Bijector):
  """Subclasses implement `_augmented_forward(z)` and `_augmented_inverse(x)`, each
  returning `(output, {"fldj": ..., "ildj": ...})`.

  TFP's bijector cache keeps the log-dets computed with the output (the pattern of TFP's
  FFJORD), so `log_prob` = `inverse` + `inverse_log_det_jacobian` costs one network pass.
  """

  _cache = cache_util.BijectorCacheWithGreedyAttrs(
      forward_name="_augmented_forward", inverse_name="_augmented_inverse")

  def _forward(self, z):
    return self._augmented_forward(z)[0]

  def _inverse(self, x):
    return self._augmented_inverse(x)[0]

  def _forward_log_det_jacobian(self, z):
    return self._augmented_forward(z)[1]["fldj"]

  def _inverse_log_det_jacobian(self, x):
    return self._augmented_inverse(x)[1]["ildj"]
