"""Inverse autoregressive flow (IAF): sampling in one pass, density of outside data in D."""

import tensorflow as tf

from tfp_flows.bijectors import _autoregressive


class InverseAutoregressiveFlow(_autoregressive.AutoregressiveBijector):
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
    super().__init__(made, transform, validate_args, dict(locals()), name)

  def _augmented_forward(self, z, conditional_input=None):
    z = self._checked(z, "z")
    params = self.made(z, conditional_input=conditional_input)
    fldj = tf.reduce_sum(self.transform.forward_log_det_jacobian(z, params), axis=-1)
    return self.transform.forward(z, params), {"fldj": fldj, "ildj": -fldj}

  def _forward_log_det_jacobian(self, z, conditional_input=None):
    return self._augmented_forward(z, conditional_input=conditional_input)[1]["fldj"]

  def _augmented_inverse(self, x, conditional_input=None):
    x = self._checked(x, "x")
    step = lambda z, kernels: self.transform.inverse(
        x, self.made(z, conditional_input=conditional_input, kernels=kernels))
    return self._solve(step, x), {}
