"""The base of every bijector that returns its log-det with its output.

Autoregressive flows, couplings and the multi-scale factor-out compute a direction and its
log-det together (one network pass gives both); this base keeps the pair in TFP's bijector
cache, so `log_prob` (`inverse` and then `inverse_log_det_jacobian` of the same tensor)
costs one pass per layer, not two, with or without XLA.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import _tfp_private


class OnePassBijector(tfp.bijectors.Bijector):
  """Subclasses implement `_forward_and_log_det(z, **kwargs)` and
  `_inverse_and_log_det(x, **kwargs)`, each returning `(output, log|det|)` of that
  direction, the log-det summed over `forward_min_event_ndims`.

  Keyword arguments (e.g. `conditional_input`) are part of TFP's cache key, as for any
  bijector.
  """

  _cache = _tfp_private.BijectorCacheWithGreedyAttrs(
      forward_name="_augmented_forward", inverse_name="_augmented_inverse")

  def _augmented_forward(self, z, **kwargs):
    x, fldj = self._forward_and_log_det(z, **kwargs)
    return x, {"fldj": fldj, "ildj": -fldj}

  def _augmented_inverse(self, x, **kwargs):
    z, ildj = self._inverse_and_log_det(x, **kwargs)
    return z, {"ildj": ildj, "fldj": -ildj}

  def _forward(self, z, **kwargs):
    return self._augmented_forward(z, **kwargs)[0]

  def _inverse(self, x, **kwargs):
    return self._augmented_inverse(x, **kwargs)[0]

  # TFP reads the log-dets from the cache when the output was computed; these run only for
  # points that were never transformed.
  def _forward_log_det_jacobian(self, z, **kwargs):
    return self._forward_and_log_det(z, **kwargs)[1]

  def _inverse_log_det_jacobian(self, x, **kwargs):
    return self._inverse_and_log_det(x, **kwargs)[1]

  def _network_params(self, network, x, *args, **kwargs):
    """`network(x, *args, **kwargs)` cast to `x`'s dtype, the flow's: the one place where a
    network's outputs `[..., num_params]` enter the transformer. A network under a mixed
    Keras policy (`tfp_flows.nn._precision`) computes in bfloat16 or float16; the
    transformer, its log-det and the base log-density stay in the flow's float32."""
    return tf.cast(network(x, *args, **kwargs), x.dtype)
