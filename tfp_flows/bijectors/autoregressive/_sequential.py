"""What MAF and IAF share: a MADE, a transformer, the input check and the sequential solve.

The sequential direction solves `y = tau(u; theta(y))`, where `theta_i` depends on `y_j`
only for `order[j] < order[i]`: iterating `y <- tau(u; theta(y))` from `y = 0` fixes one
more coordinate per pass. After D - 1 passes every coordinate but the last in the order is
exact, so the D-th pass computes the exact parameters of every coordinate, and with them
the output and its log-det. The loop has a static trip count, so it compiles under XLA.

With a block-sparse MADE the passes compute only what they fix: the positions (in the
order) are taken in chunks `[a, b)` (one position each up to `MAX_CHUNKS` dimensions); a
chunk's `b - a` passes compute its outputs alone, from the positions `< b - 1`, through
the hidden units of degree `< b` (`MADE.prefix_networks`), about a third of the dense
multiply-adds over all passes. The context's products are computed once, outside the loop.
"""

import numpy as np
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
    # The flow's dtype: the MADE's variables' (float32 under a mixed Keras policy, whose
    # compute dtype is bfloat16 or float16; `_network_params` casts its outputs back).
    self._input_dtype = tf.as_dtype(made.variable_dtype)
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
    out, log_det = transform(
        u, self._network_params(self._made, u, conditional_input=conditional_input))
    return out, tf.reduce_sum(log_det, axis=-1)

  def _solve(self, transform, u, conditional_input):
    """Solves `y = transform(u, MADE(y))[0]` for `y: [..., D]`; returns `(y, log-det)`.

    The masked kernels are computed once, outside the loop.
    """
    conditional_input = self._checked_context(conditional_input, u.dtype)
    if self._made.block_sparse:
      return self._solve_in_chunks(transform, u, conditional_input)
    kernels = self._made.masked_kernels()

    def step(y):
      params = self._network_params(self._made, y, conditional_input=conditional_input,
                                    kernels=kernels)
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

  def _solve_in_chunks(self, transform, u, conditional_input):
    """`_solve` by chunks of positions, each from the exact positions before it."""
    made = self._made
    batch_shape, u_flat, context = made.flatten(u, conditional_input)
    identity = np.array_equal(made.order, np.arange(made.event_size))
    u_flat = u_flat if identity else tf.gather(u_flat, made.order, axis=-1)
    chunks = position_chunks(made.event_size, MAX_CHUNKS)
    y, log_det = u_flat[:, :0], 0.
    for (a, b), network in zip(chunks, made.prefix_networks(chunks, context)):
      u_chunk = u_flat[:, a:b]

      def step(y_chunk, y=y, a=a, b=b, u_chunk=u_chunk, network=network):
        return transform(u_chunk, self._network_params(
            network, tf.concat([y, y_chunk[:, :b - 1 - a]], -1)))

      y_chunk = tf.zeros_like(u_chunk)
      if b - a > 1:
        (y_chunk,) = tf.while_loop(
            cond=lambda _: True,
            body=lambda y_chunk, step=step, u_chunk=u_chunk: (
                tf.ensure_shape(step(y_chunk)[0], u_chunk.shape),),
            loop_vars=(y_chunk,), maximum_iterations=b - a - 1)
      y_chunk, log_det_chunk = step(y_chunk)
      y = tf.concat([y, y_chunk], -1)
      log_det += tf.reduce_sum(log_det_chunk, axis=-1)
    y = y if identity else tf.gather(y, np.argsort(made.order), axis=-1)
    return (tf.reshape(y, tf.concat([batch_shape, [made.event_size]], 0)),
            tf.reshape(log_det, batch_shape))


MAX_CHUNKS = 16


def position_chunks(event_size, max_chunks):
  """`[(a, b)]`: `min(D, max_chunks)` contiguous ranges of positions covering `0..D-1`."""
  edges = np.round(np.linspace(0, event_size, min(event_size, max_chunks) + 1)).astype(int)
  return [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]
