"""Masked autoregressive flow (MAF): density in one pass, sampling in D passes."""

from tfp_flows.bijectors.autoregressive import _sequential


class MaskedAutoregressiveFlow(_sequential.AutoregressiveBijector):
  """`x_i = tau(z_i; theta_i(x_{<i}))` with `theta = MADE(x)`.

  `inverse` (data to base, the density direction) is one MADE pass:
  `z = tau^-1(x; MADE(x))`, `log|det dz/dx| = sum_i log|tau^-1'(x_i)|`.
  `forward` (sampling) takes D passes in a `tf.while_loop`; the last pass gives its log-det.

  Transforms (`tfp_flows.transformers`): "affine", `tau(z) = z * exp(log_scale) + shift`
  with a soft-clipped log-scale (MADE params 2); "spline", a monotone rational-quadratic
  spline on `[-B, B]`, identity outside (Neural Spline Flows; params `3 * bins - 1`);
  "mixture_cdf", `tau(z) = F^-1(sigmoid(z))` for a K-component logistic mixture CDF `F`
  (the CS294-158 autoregressive flow; params `3 * K`); or any transformer object. For a
  name, the MADE's `params` decide the number of bins or components.

  Args:
    made: a `tfp_flows.nn.MADE`; `made.params` must match the transform.
    transform: a name above or a `tfp_flows.transformers.Transformer`.
    validate_args: check shapes and finiteness of inputs at run time.
    name: name of the bijector (`bijector_kwargs` in a `tfb.Chain` are keyed by it).

  A conditional MADE takes its context as `conditional_input`:
  `dist.log_prob(x, bijector_kwargs={"conditional_input": c})`.

  Example:
    >>> made = tff.nn.MADE(params=2, event_shape=[3], hidden_units=[8])
    >>> maf = tff.bijectors.MaskedAutoregressiveFlow(made)
    >>> x = tf.random.normal([4, 3])
    >>> z = maf.inverse(x)  # one MADE pass
    >>> z.shape, maf.inverse_log_det_jacobian(x, event_ndims=1).shape
    (TensorShape([4, 3]), TensorShape([4]))
    >>> bool(np.allclose(maf.forward(z), x, atol=1e-5))  # D passes
    True

  References:
    Papamakarios, Pavlakou, Murray. Masked Autoregressive Flow for Density Estimation.
    NeurIPS 2017. https://arxiv.org/abs/1705.07057
    Durkan, Bekasov, Murray, Papamakarios. Neural Spline Flows. NeurIPS 2019.
    https://arxiv.org/abs/1906.04032
  """

  def __init__(self, made, transform="affine", validate_args=False,
               name="masked_autoregressive_flow"):
    super().__init__(made, transform, validate_args, name)

  def _forward_and_log_det(self, z, conditional_input=None):
    return self._solve(self.transform.forward_and_log_det, self._checked(z, "z"),
                       conditional_input)

  def _inverse_and_log_det(self, x, conditional_input=None):
    return self._one_pass(self._checked(x, "x"), self.transform.inverse_and_log_det,
                          conditional_input)
