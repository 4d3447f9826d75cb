"""The sequential direction of an autoregressive flow: D network passes in a `tf.while_loop`.

With `y = tau(u; theta(y))` and `theta_i` depending on `y_j` for `order[j] < order[i]` only,
iterating `y <- tau(u; theta(y))` from `y = 0` fixes one more coordinate per pass; after D
passes every coordinate is exact. The loop has a static trip count, so it compiles under XLA.
"""

import tensorflow as tf


def solve(step, u, event_size):
  """Iterates `y <- step(y)` `event_size` times from zeros; `step` maps `[..., D] -> [..., D]`."""
  y0 = tf.zeros_like(u)
  (y,) = tf.while_loop(
      cond=lambda _: True,
      body=lambda y: (tf.ensure_shape(step(y), u.shape),),
      loop_vars=(y0,),
      maximum_iterations=event_size)
  return y
