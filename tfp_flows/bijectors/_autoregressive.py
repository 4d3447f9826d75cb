"""What MAF and IAF share: a MADE, a transformer, input checks, and the sequential solve.

The sequential direction: with `y = tau(u; theta(y))` and `theta_i` depending on `y_j` for
`order[j] < order[i]` only, iterating `y <- tau(u; theta(y))` from `y = 0` fixes one more
coordinate per pass; after D passes every coordinate is exact. The loop has a static trip
count, so it compiles under XLA.
"""

import tensorflow as tf
import tensorflow_probability as tfp
from tensorflow_probability.python.internal import cache_util

from tfp_flows import transformers
from tfp_flows.bijectors import _checks


class AutoregressiveBijector(tfp.bijectors.Bijector):
  """Holds the MADE and the transformer; subclasses say which direction is one pass.

  The one-pass direction returns its log-det together with its output
  (`_augmented_forward` / `_augmented_inverse`, as TFP's FFJORD does), so TFP's bijector
  cache holds it and `log_prob` costs one MADE pass per layer, not two (one for `inverse`,
  one for `inverse_log_det_jacobian`), with or without XLA.
  """

  _cache = cache_util.BijectorCacheWithGreedyAttrs(
      forward_name="_augmented_forward", inverse_name="_augmented_inverse")

  def __init__(self, made, transform, validate_args, parameters, name):
    self._made = made
    self._transform = transformers.get(transform, made.params)
    _checks.check_transform_params(made, self._transform)
    self._made_variables = _checks.variables_of(made)
    self._input_dtype = tf.as_dtype(made.compute_dtype)
    # dtype=None: TFP would raise a bare TypeError on an integer input; `_checked` says
    # which argument and which dtype instead.
    super().__init__(forward_min_event_ndims=1, dtype=None,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def made(self):
    return self._made

  @property
  def transform(self):
    return self._transform

  def _checked(self, u, name):
    return _checks.checked_input(u, self._input_dtype, self._made.event_shape,
                                 self.validate_args, name)

  def _forward(self, z, **kwargs):
    return self._augmented_forward(z, **kwargs)[0]

  def _inverse(self, x, **kwargs):
    return self._augmented_inverse(x, **kwargs)[0]

  def _solve(self, step, u):
    """Iterates `y <- step(y, kernels)` D times from zeros; `[..., D] -> [..., D]`.

    The masked kernels are computed once, outside the loop.
    """
    kernels = self._made.masked_kernels()
    (y,) = tf.while_loop(
        cond=lambda _: True,
        body=lambda y: (tf.ensure_shape(step(y, kernels), u.shape),),
        loop_vars=(tf.zeros_like(u),),
        maximum_iterations=self._made.event_size)
    return y
