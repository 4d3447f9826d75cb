"""Inverting an increasing elementwise function by safeguarded Newton-bisection.

Fixed iteration count inside `tf.while_loop`, so the solve has static shapes and compiles
under XLA. Every element keeps a bracket `[lo, hi]` that contains the root, and the latest
iterate `x` is always one of its ends (both, once `fn(x)` hits the target exactly: the bracket
then collapses and `x` stays). Each step tries Newton and takes it only if it lands in the
half of the bracket next to `x` (Dekker's rule); otherwise, or when it is not finite, it
bisects. Newton landing anywhere in the bracket is not enough: it can then jump between two
points on either side of the root for ever (an attracting 2-cycle, e.g. a logit mixture CDF
with one wide component), the bracket shrinking onto the cycle instead of the root, and
which iteration rounding happens to break it out differs between eager, `tf.function` and
XLA. With the rule, every step that crosses the root halves the bracket.
Gradients come from the implicit function theorem (one differentiable Newton step at the
converged root), not from unrolling the loop.
"""

import tensorflow as tf


def solve_increasing(fn, target, lo, hi, num_iterations=50):
  """Solves `fn(x) == target` elementwise for increasing `fn`, with `lo <= x <= hi`.

  Args:
    fn: callable `x -> (value, derivative)`, elementwise, increasing in `x`. Must be
      differentiable with respect to whatever it closes over (for gradients).
    target: `Tensor`, the values to reach.
    lo, hi: `Tensor`s broadcastable with `target`, a bracket of the root.
    num_iterations: Python `int`, fixed number of Newton-bisection steps.

  Returns:
    `x` with `fn(x) ~= target`; differentiable with respect to `target` and to the
    variables/tensors `fn` closes over (`dx = -(d fn) / fn'(x)`).
  """
  target = tf.convert_to_tensor(target)
  stop = tf.stop_gradient
  target_sg = stop(target)
  lo = stop(tf.broadcast_to(tf.cast(lo, target.dtype), tf.shape(target)))
  hi = stop(tf.broadcast_to(tf.cast(hi, target.dtype), tf.shape(target)))

  def body(lo, hi, x):
    value, slope = fn(x)
    residual = stop(value) - target_sg
    lo = tf.where(residual <= 0., x, lo)
    hi = tf.where(residual >= 0., x, hi)  # Both at an exact root: x stays there.
    newton = x - residual / stop(slope)
    # x is an end of [lo, hi]: Newton must stay in the half next to it (False for NaN).
    use_newton = (newton >= lo) & (newton <= hi) & (tf.abs(newton - x) <= 0.5 * (hi - lo))
    x = tf.where(use_newton, newton, 0.5 * (lo + hi))
    return lo, hi, stop(x)

  _, _, x = tf.while_loop(
      cond=lambda *_: True,
      body=body,
      loop_vars=(lo, hi, 0.5 * (lo + hi)),
      maximum_iterations=num_iterations)
  x = stop(x)
  # One Newton step that carries the gradient: its value is the converged root (the step
  # is ~0), its gradient is the implicit-function one.
  value, slope = fn(x)
  slope = stop(slope)
  usable = slope > 0.
  safe_slope = tf.where(usable, slope, tf.ones_like(slope))
  return x - tf.where(usable, (value - target) / safe_slope, tf.zeros_like(value))
