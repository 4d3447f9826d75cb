"""Masked autoregressive flow (MAF): density in one pass, sampling in D passes."""

import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import transformers
from tfp_flows.bijectors import _autoregressive
from tfp_flows.bijectors import _checks

tfb = tfp.bijectors


class MaskedAutoregressiveFlow(tfb.Bijector):
  """`x_i = tau(z_i; theta_i(x_{<i}))` with `theta = MADE(x)`.

  `inverse` (data to base, the density direction) is one MADE pass:
  `z = tau^-1(x; MADE(x))`, `log|det dz/dx| = sum_i log|tau^-1'(x_i)|`.
  `forward` (sampling) takes D passes in a `tf.while_loop`.

  With `transform="affine"`, `tau(z) = z * exp(log_scale) + shift` (soft-clipped
  log-scale); with `transform="mixture_cdf"`, `tau(z) = F^-1(sigmoid(z))` for a
  K-component logistic mixture CDF `F` (the CS294-158 autoregressive flow), K = params/3.

  Args:
    made: a `tfp_flows.nn.MADE`; `made.params` must match the transform (2 for affine).
    transform: "affine", "mixture_cdf" or a transformer object from
      `tfp_flows.transformers`.
    validate_args: check shapes and finiteness of inputs at run time.
    name: name of the bijector (`bijector_kwargs` in a `tfb.Chain` are keyed by it).

  A conditional MADE takes its context as `conditional_input`:
  `dist.log_prob(x, bijector_kwargs={"conditional_input": c})`.

  References:
    Papamakarios, Pavlakou, Murray. Masked Autoregressive Flow for Density Estimation.
    NeurIPS 2017. https://arxiv.org/abs/1705.07057
  """

  def __init__(self, made, transform="affine", validate_args=False,
               name="masked_autoregressive_flow"):
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

  def _params(self, x, conditional_input):
    _checks.check_event_shape(x, self._made.event_shape, "x")
    x = _checks.maybe_assert_finite(x, self.validate_args, "x")
    return x, self._made(x, conditional_input=conditional_input)

  def _forward(self, z, conditional_input=None):
    _checks.check_event_shape(z, self._made.event_shape, "z")
    z = _checks.maybe_assert_finite(z, self.validate_args, "z")
    step = lambda x: self._transform.forward(z, self._made(x, conditional_input=conditional_input))
    return _autoregressive.solve(step, z, self._made.event_size)

  def _inverse(self, x, conditional_input=None):
    x, params = self._params(x, conditional_input)
    return self._transform.inverse(x, params)

  def _inverse_log_det_jacobian(self, x, conditional_input=None):
    x, params = self._params(x, conditional_input)
    return tf.reduce_sum(self._transform.inverse_log_det_jacobian(x, params), axis=-1)

