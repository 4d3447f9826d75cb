"""Inverting an increasing elementwise function by safeguarded Newton-bisection.

Fixed iteration count inside `tf.while_loop`, so the solve has static shapes and compiles
under XLA. Every element keeps a bracket `[lo, hi]` that contains the root; each step tries
Newton and falls back to bisection when Newton leaves the bracket or is not finite.
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
    below = residual < 0.
    lo = tf.where(below, x, lo)
    hi = tf.where(below, hi, x)
    newton = x - residual / stop(slope)
    use_newton = (newton > lo) & (newton < hi) & tf.math.is_finite(newton)
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
