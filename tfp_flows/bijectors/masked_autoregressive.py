"""Masked autoregressive flow (MAF): density in one pass, sampling in D passes."""

import tensorflow as tf

from tfp_flows.bijectors import _autoregressive


class MaskedAutoregressiveFlow(_autoregressive.AutoregressiveBijector):
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
    super().__init__(made, transform, validate_args, dict(locals()), name)

  def _augmented_forward(self, z, conditional_input=None):
    z = self._checked(z, "z")
    step = lambda x, kernels: self.transform.forward(
        z, self.made(x, conditional_input=conditional_input, kernels=kernels))
    return self._solve(step, z), {}

  def _augmented_inverse(self, x, conditional_input=None):
    x = self._checked(x, "x")
    params = self.made(x, conditional_input=conditional_input)
    ildj = tf.reduce_sum(self.transform.inverse_log_det_jacobian(x, params), axis=-1)
    return self.transform.inverse(x, params), {"ildj": ildj, "fldj": -ildj}

  def _inverse_log_det_jacobian(self, x, conditional_input=None):
    return self._augmented_inverse(x, conditional_input=conditional_input)[1]["ildj"]
