"""What every transformer is: an elementwise increasing map with parameters per element.

A transformer holds no variables. Its parameters arrive as raw network outputs
`params: [..., num_params]`, one row per element of the input `[...]`, and it maps
`z -> x = f(z; params)` (TFP's direction: `forward` goes from the base side `z` to the data
side `x`), with the elementwise log-derivative alongside:

    x, log_dx_dz = transformer.forward_and_log_det(z, params)
    z, log_dz_dx = transformer.inverse_and_log_det(x, params)

Bijectors (autoregressive, coupling) call these two; `forward` and `inverse` are the value
alone.
"""


class Transformer:
  """Base of the transformers: subclasses set `num_params` and the two `*_and_log_det`.

  Example:
    >>> class Shift(tff.transformers.Transformer):  # x = z + params[..., 0]
    ...   num_params = 1
    ...   def forward_and_log_det(self, z, params):
    ...     return z + params[..., 0], tf.zeros_like(z)
    ...   def inverse_and_log_det(self, x, params):
    ...     return x - params[..., 0], tf.zeros_like(x)
    >>> Shift().forward(tf.constant([1., 2.]), tf.constant([[1.], [1.]])).numpy()
    array([2., 3.], dtype=float32)
  """

  num_params = None

  def forward_and_log_det(self, z, params):
    """`(x, log|dx/dz|)`, both shaped like `z`."""
    raise NotImplementedError

  def inverse_and_log_det(self, x, params):
    """`(z, log|dz/dx|)`, both shaped like `x`."""
    raise NotImplementedError

  def forward(self, z, params):
    return self.forward_and_log_det(z, params)[0]

  def inverse(self, x, params):
    return self.inverse_and_log_det(x, params)[0]
