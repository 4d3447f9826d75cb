"""solve_increasing: accuracy, bracketing fallback, Newton cycles, exact roots, implicit
gradients, XLA."""

import numpy as np
import pytest
import tensorflow as tf

from tfp_flows.transformers import root_finding


def cubic(a):
  # f(x) = a x^3 + x: increasing for a >= 0, with a flat-ish region where Newton overshoots.
  return lambda x: (a * x ** 3 + x, 3. * a * x ** 2 + 1.)


@pytest.mark.parametrize("dtype,tol", [(tf.float32, 1e-5), (tf.float64, 1e-12)],
                         ids=["f32", "f64"])
def test_solves_to_tolerance(dtype, tol):
  a = tf.constant(0.5, dtype)
  target = tf.constant(np.linspace(-50., 50., 101), dtype)
  x = root_finding.solve_increasing(cubic(a), target, -10., 10.)
  value, _ = cubic(a)(x)
  np.testing.assert_allclose(value, target, rtol=tol, atol=tol)


def test_bisection_fallback_on_a_function_newton_cannot_handle():
  # tanh-like steep step: Newton from the midpoint shoots out of the bracket.
  fn = lambda x: (tf.math.atan(50. * (x - 0.3)), 50. / (1. + (50. * (x - 0.3)) ** 2))
  target = tf.constant([-1.5, 0., 1.5], tf.float64)
  x = root_finding.solve_increasing(fn, target, -5., 5.)
  np.testing.assert_allclose(fn(x)[0], target, atol=1e-10)


def test_breaks_out_of_a_newton_two_cycle():
  # f(x) = x / 5 + atan(x): Newton is attracted to the 2-cycle +-4.87 around the root 0 and
  # stays inside any bracket that holds it; only bisection gets out.
  fn = lambda x: (0.2 * x + tf.math.atan(x), 0.2 + 1. / (1. + x ** 2))
  x = root_finding.solve_increasing(fn, tf.constant([0.], tf.float64), -10., 30.)
  np.testing.assert_allclose(x, [0.], atol=1e-12)


def test_stays_at_an_exact_root_once_reached():
  # Newton reaches x = 1 exactly after a few steps; later steps must not move away from it.
  target = tf.constant([2.], tf.float64)
  for num_iterations in range(6, 16):
    x = root_finding.solve_increasing(cubic(1.), target, -10., 10., num_iterations)
    np.testing.assert_allclose(x, [1.], rtol=1e-12, err_msg=f"{num_iterations} iterations")


def test_gradients_are_the_implicit_ones():
  a = tf.Variable(0.5, dtype=tf.float64)
  target = tf.Variable([2., -3.], dtype=tf.float64)
  with tf.GradientTape() as tape:
    x = root_finding.solve_increasing(cubic(a), target, -10., 10.)
  dx_da, dx_dt = tape.gradient(x, [a, target])
  slope = 3. * a * x ** 2 + 1.
  np.testing.assert_allclose(dx_dt, 1. / slope, rtol=1e-10)
  np.testing.assert_allclose(dx_da, -tf.reduce_sum(x ** 3 / slope), rtol=1e-10)


def test_compiles_with_xla():
  a = tf.constant(0.5)
  solve = lambda t: root_finding.solve_increasing(cubic(a), t, -10., 10.)
  target = tf.constant([1., 5., -7.])
  np.testing.assert_allclose(tf.function(solve, jit_compile=True)(target), solve(target),
                             atol=1e-6)
