"""Inverse autoregressive flow (IAF): sampling in one pass, density of outside data in D."""

from tfp_flows.bijectors.autoregressive import _sequential


class InverseAutoregressiveFlow(_sequential.AutoregressiveBijector):
  """`x_i = tau(z_i; theta_i(z_{<i}))` with `theta = MADE(z)`.

  `forward` (sampling) is one MADE pass: `x = tau(z; MADE(z))`,
  `log|det dx/dz| = sum_i log tau'(z_i)`. `inverse` (density of data the flow did not
  sample itself) takes D passes in a `tf.while_loop`; for samples it drew, TFP's bijector
  cache makes `log_prob` free.

  Args: as `MaskedAutoregressiveFlow` (the same transforms).

  Example:
    >>> made = tff.nn.MADE(params=2, event_shape=[3], hidden_units=[8])
    >>> iaf = tff.bijectors.InverseAutoregressiveFlow(made)
    >>> z = tf.random.normal([4, 3])
    >>> x = iaf.forward(z)  # one MADE pass
    >>> bool(np.allclose(iaf.inverse(x), z, atol=1e-5))  # D passes
    True
    >>> dist = tfd.TransformedDistribution(tfd.MultivariateNormalDiag(tf.zeros(3)), iaf)
    >>> dist.log_prob(x).shape
    TensorShape([4])

  References:
    Kingma, Salimans, Jozefowicz, Chen, Sutskever, Welling. Improved Variational Inference
    with Inverse Autoregressive Flow. NeurIPS 2016. https://arxiv.org/abs/1606.04934
  """

  def __init__(self, made, transform="affine", validate_args=False,
               name="inverse_autoregressive_flow"):
    super().__init__(made, transform, validate_args, name)

  def _forward_and_log_det(self, z, conditional_input=None):
    return self._one_pass(self._checked(z, "z"), self.transform.forward_and_log_det,
                          conditional_input)

  def _inverse_and_log_det(self, x, conditional_input=None):
    return self._solve(self.transform.inverse_and_log_det, self._checked(x, "x"),
                       conditional_input)
