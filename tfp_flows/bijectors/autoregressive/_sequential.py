"""What MAF and IAF share: a MADE, a transformer, the input check and the sequential solve.

The sequential direction solves `y = tau(u; theta(y))`, where `theta_i` depends on `y_j`
only for `order[j] < order[i]`: iterating `y <- tau(u; theta(y))` from `y = 0` fixes one
more coordinate per pass. After D - 1 passes every coordinate but the last in the order is
exact, so the D-th pass computes the exact parameters of every coordinate, and with them
the output and its log-det. The loop has a static trip count, so it compiles under XLA.
"""

import tensorflow as tf

from tfp_flows import transformers
from tfp_flows.bijectors import _checks
from tfp_flows.bijectors import _one_pass


class AutoregressiveBijector(_one_pass.OnePassBijector):
  """Holds the MADE and the transformer; MAF and IAF say which direction is one pass."""

  def __init__(self, made, transform, validate_args, name):
    parameters = dict(made=made, transform=transform, validate_args=validate_args, name=name)
    self._made = made
    self._transform = transformers.get(transform, made.params)
    if made.params != self._transform.num_params:
      raise ValueError(
          f"Expected a MADE with params={self._transform.num_params} for "
          f"{self._transform!r}. Received: made.params={made.params}")
    self._made_variables = _checks.variables_of(made)
    self._input_dtype = tf.as_dtype(made.compute_dtype)
    # dtype=None: TFP would raise a bare TypeError on an integer input; the input check
    # says which argument and which dtype instead.
    super().__init__(forward_min_event_ndims=1, dtype=None,
                     validate_args=validate_args, parameters=parameters, name=name)

  @property
  def made(self):
    return self._made

  @property
  def transform(self):
    return self._transform

  @property
  def conditional_event_shape(self):
    """`[C]` of the context `conditional_input` the MADE takes, or `None`."""
    size = self._made.conditional_size
    return None if size is None else [size]

  def _checked(self, u, name):
    return _checks.checked_input(u, self._input_dtype, self._made.event_shape,
                                 self.validate_args, name)

  def _checked_context(self, conditional_input, dtype):
    if conditional_input is None or self._made.conditional_size is None:
      return conditional_input  # MADE says which of the two is missing.
    return _checks.checked_input(tf.convert_to_tensor(conditional_input, dtype), dtype,
                                 [self._made.conditional_size], self.validate_args,
                                 "conditional_input")

  def _one_pass(self, u, transform, conditional_input):
    """`transform(u, MADE(u))`: the output and the log-det summed over the event."""
    conditional_input = self._checked_context(conditional_input, u.dtype)
    out, log_det = transform(u, self._made(u, conditional_input=conditional_input))
    return out, tf.reduce_sum(log_det, axis=-1)

  def _solve(self, transform, u, conditional_input):
    """Solves `y = transform(u, MADE(y))[0]` for `y: [..., D]`; returns `(y, log-det)`.

    The masked kernels are computed once, outside the loop.
    """
    conditional_input = self._checked_context(conditional_input, u.dtype)
    kernels = self._made.masked_kernels()

    def step(y):
      params = self._made(y, conditional_input=conditional_input, kernels=kernels)
      return transform(u, params)

    y = tf.zeros_like(u)
    if self._made.event_size > 1:
      (y,) = tf.while_loop(
          cond=lambda _: True,
          body=lambda y: (tf.ensure_shape(step(y)[0], u.shape),),
          loop_vars=(y,),
          maximum_iterations=self._made.event_size - 1)
    y, log_det = step(y)
    return y, tf.reduce_sum(log_det, axis=-1)
