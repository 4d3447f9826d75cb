"""Inverse autoregressive flow (IAF): sampling in one pass, density of outside data in D."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import transformers
from tfp_flows.bijectors import _autoregressive
from tfp_flows.bijectors import _checks

tfb = tfp.bijectors


class InverseAutoregressiveFlow(tfb.Bijector):
  """`x_i = tau(z_i; theta_i(z_{<i}))` with `theta = MADE(z)`.

  `forward` (sampling) is one MADE pass: `x = tau(z; MADE(z))`,
  `log|det dx/dz| = sum_i log tau'(z_i)`. `inverse` (density of data the flow did not
  sample itself) takes D passes in a `tf.while_loop`; for samples it drew, TFP's bijector
  cache makes `log_prob` free.

  Args: as `MaskedAutoregressiveFlow`.

  References:
    Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling. Improved Variational Inference
    with Inverse Autoregressive Flow. NeurIPS 2016. https://arxiv.org/abs/1606.04934
  """

  def __init__(self, made, transform="affine", validate_args=False,
               name="inverse_autoregressive_flow"):
    parameters = dict(locals())
    self._made = made
    self._transform = transformers.get(transform, made.params)
    _checks.check_transform_params(made, self._transform)
    self._made_variables = _checks.variables_of(made)
    super().__init__(forward_min_event_ndims=1, dtype=tf.as_dtype(made.compute_dtype),
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def made(self):
    return self._made

  @property
  def transform(self):
    return self._transform

  def _params(self, z, conditional_input):
    _checks.check_event_shape(z, self._made.event_shape, "z")
    z = _checks.maybe_assert_finite(z, self.validate_args, "z")
    return z, self._made(z, conditional_input=conditional_input)

  def _forward(self, z, conditional_input=None):
    z, params = self._params(z, conditional_input)
    return self._transform.forward(z, params)

  def _forward_log_det_jacobian(self, z, conditional_input=None):
    z, params = self._params(z, conditional_input)
    return tf.reduce_sum(self._transform.forward_log_det_jacobian(z, params), axis=-1)

  def _inverse(self, x, conditional_input=None):
    _checks.check_event_shape(x, self._made.event_shape, "x")
    x = _checks.maybe_assert_finite(x, self.validate_args, "x")
    step = lambda z: self._transform.inverse(x, self._made(z, conditional_input=conditional_input))
    return _autoregressive.solve(step, x, self._made.event_size)
