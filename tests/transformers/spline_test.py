"""Rational-quadratic spline transformer: TFP agreement, round trips, edges, XLA, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows.transformers import spline

DTYPES = pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
TOL = {tf.float32: 1e-5, tf.float64: 1e-10}


def representable(values, dtype):
  """`values` rounded to `dtype` and back to float64: exact inputs for both precisions."""
  return np.asarray(values, dtype.as_numpy_dtype).astype(np.float64)


def constrain(transform, raw):
  """Widths, heights and interior slopes from raw params, in numpy float64 (independent)."""
  k, bound, m = transform.num_bins, transform.bound, transform.min_bin_size
  raw_w, raw_h, raw_d = raw[..., :k], raw[..., k:2 * k], raw[..., 2 * k:]

  def sizes(r):
    e = np.exp(r - r.max(axis=-1, keepdims=True))
    return m + (2. * bound - k * m) * e / e.sum(axis=-1, keepdims=True)

  slopes = transform.min_slope + np.logaddexp(
      0., raw_d + np.log(np.expm1(1. - transform.min_slope)))
  return sizes(raw_w), sizes(raw_h), slopes


def tfp_spline(transform, raw):
  widths, heights, slopes = constrain(transform, raw)
  return tfp.bijectors.RationalQuadraticSpline(
      widths, heights, slopes, range_min=-transform.bound)


def log_det_sensitivity(transform, raw, z):
  """`|d log g'(z) / dz|` in float64 (TFP's spline): how much the log-det moves per unit of z."""
  z = tf.constant(z, tf.float64)
  with tf.GradientTape() as tape:
    tape.watch(z)
    log_det = tfp_spline(transform, raw).forward_log_det_jacobian(z, event_ndims=0)
  return np.abs(tape.gradient(log_det, z).numpy())


def position_error(transform, dtype):
  """A few ulps of the bound: the error of a knot position or of `x_k + xi w` in `dtype`."""
  return 8. * np.finfo(dtype.as_numpy_dtype).eps * transform.bound


def random_case(transform, n, dtype, scale=2., seed=0, outside=1.2):
  """Raw params `[n, num_params]` of the given scale and inputs `[n]` in `outside * [-B, B]`,
  both exactly representable in `dtype` (as float64 arrays)."""
  rng = np.random.default_rng(seed)
  raw = representable(scale * rng.normal(size=(n, transform.num_params)), dtype)
  v = representable(rng.uniform(-outside, outside, size=n) * transform.bound, dtype)
  return raw, v


def integer_knot_params(transform, rng, n, fixed):
  """Raw params whose `fixed` ("x" or "y") knots sit exactly on the integers -B..B.

  Zero raw widths (or heights) with `min_bin_size=0` and `num_bins = 2B` give bins of size
  exactly 1; the other knots and the slopes are random.
  """
  assert transform.min_bin_size == 0 and transform.num_bins == 2 * transform.bound
  raw = 2. * rng.normal(size=(n, transform.num_params))
  k = transform.num_bins
  if fixed == "x":
    raw[:, :k] = 0.
  else:
    raw[:, k:2 * k] = 0.
  return raw


def edge_points(bound, dtype):
  """Points at and around `+-bound` and far outside, in `dtype`."""
  np_dtype = dtype.as_numpy_dtype
  b = np_dtype(bound)
  big = 1e30 if dtype == tf.float32 else 1e300
  points = [0., b, -b, np.nextafter(b, np_dtype(0)), np.nextafter(-b, np_dtype(0)),
            np.nextafter(b, np_dtype(np.inf)), np.nextafter(-b, np_dtype(-np.inf)),
            1e4, -1e4, big, -big, np.inf, -np.inf]
  return np.array(points, np_dtype)


def test_num_params_and_repr():
  transform = spline.RationalQuadraticSpline(num_bins=5, bound=3., min_bin_size=1e-2,
                                             min_slope=1e-2)
  assert transform.num_params == 14
  assert repr(transform) == ("RationalQuadraticSpline(num_bins=5, bound=3.0, "
                             "min_bin_size=0.01, min_slope=0.01)")
  assert spline.RationalQuadraticSpline().num_params == 23


@DTYPES
@pytest.mark.parametrize("num_bins,bound,min_bin_size,min_slope",
                         [(8, 5., 1e-3, 1e-3), (1, 2., 0., 0.), (5, 3., 0.1, 0.5)])
def test_zero_params_are_the_identity(dtype, num_bins, bound, min_bin_size, min_slope):
  transform = spline.RationalQuadraticSpline(num_bins, bound, min_bin_size, min_slope)
  z = tf.constant(np.linspace(-1.5 * bound, 1.5 * bound, 301), dtype)
  params = tf.zeros([301, transform.num_params], dtype)
  x, log_det = transform.forward_and_log_det(z, params)
  z_back, inverse_log_det = transform.inverse_and_log_det(z, params)
  # Identity up to rounding: a few ulps of the bound in value, of 1 in the log-slope.
  eps = np.finfo(dtype.as_numpy_dtype).eps
  np.testing.assert_allclose(x, z, rtol=0, atol=8 * eps * bound)
  np.testing.assert_allclose(z_back, z, rtol=0, atol=8 * eps * bound)
  np.testing.assert_allclose(log_det, 0., atol=8 * eps)
  np.testing.assert_allclose(inverse_log_det, 0., atol=8 * eps)


@DTYPES
@pytest.mark.parametrize("num_bins,bound", [(8, 5.), (5, 3.)])
def test_matches_tfp_rational_quadratic_spline(dtype, num_bins, bound):
  """Against TFP in float64 at the same (dtype-representable) params and inputs.

  Tolerances follow the conditioning of each quantity: an input error `e` moves `x` by
  `g' e` and the inverse by `e / g'`; in float32 the knots and positions carry an absolute
  error of a few `eps * B`, which moves the log-det by that times its sensitivity
  `|d log g' / dz|`, plus a relative error `~eps * B / m` in the slope of a bin of size `m`.
  """
  transform = spline.RationalQuadraticSpline(num_bins, bound)
  raw, z = random_case(transform, 2000, dtype)
  reference = tfp_spline(transform, raw)
  x_ref = reference.forward(z).numpy()
  log_det_ref = reference.forward_log_det_jacobian(z, event_ndims=0).numpy()
  slope = np.exp(log_det_ref)
  x_in = representable(x_ref, dtype)
  z_ref = reference.inverse(x_in).numpy()
  inverse_log_det_ref = reference.inverse_log_det_jacobian(x_in, event_ndims=0).numpy()

  params = tf.constant(raw, dtype)
  x, log_det = transform.forward_and_log_det(tf.constant(z, dtype), params)
  z_back, inverse_log_det = transform.inverse_and_log_det(tf.constant(x_in, dtype), params)
  tol = TOL[dtype]
  np.testing.assert_array_less(np.abs(x - x_ref), tol * np.maximum(1., slope))
  np.testing.assert_array_less(np.abs(z_back - z_ref) * np.minimum(1., slope), tol)
  if dtype == tf.float64:
    np.testing.assert_allclose(log_det, log_det_ref, rtol=0, atol=tol)
    # TFP's inverse log-det is minus the forward one at its own inverse: compare where the
    # inverse is well conditioned (an input rounding of 1e-16 moves z by 1e-16 / g').
    good = slope > 1e-3
    np.testing.assert_allclose(inverse_log_det[good], inverse_log_det_ref[good], atol=tol)
  else:
    # Float32 knots and positions are off by ~eps * B: the log-det error is that shift times
    # the log-det's sensitivity to the input, plus the relative error eps * B / m of a bin
    # of size m in the slope h / w.
    widths, heights, _ = constrain(transform, raw)
    knots = np.concatenate([-bound * np.ones([len(z), 1]),
                            -bound + np.cumsum(widths, axis=-1)], axis=-1)
    index = np.clip((knots[:, 1:-1] <= z[:, None]).sum(-1), 0, num_bins - 1)
    rows = np.arange(len(z))
    bin_size = np.minimum(widths[rows, index], heights[rows, index])
    sensitivity = log_det_sensitivity(transform, raw, z)
    np.testing.assert_array_less(
        np.abs(log_det - log_det_ref),
        tol + position_error(transform, dtype) * (sensitivity + 1. / bin_size))
  # Outside the interval both are the identity.
  outside = np.abs(z) > bound
  assert outside.sum() > 100
  np.testing.assert_array_equal(x.numpy()[outside], z[outside])
  np.testing.assert_array_equal(log_det.numpy()[outside], 0.)


@DTYPES
def test_round_trip_inside_and_outside_the_interval(dtype):
  transform = spline.RationalQuadraticSpline()
  raw, z = random_case(transform, 1000, dtype, seed=1)
  z[:len(edge_points(5., dtype)) - 2] = edge_points(5., dtype)[:-2]  # Finite edge points.
  params = tf.constant(raw, dtype)
  x, log_det = transform.forward_and_log_det(tf.constant(z, dtype), params)
  z_back, inverse_log_det = transform.inverse_and_log_det(x, params)
  x_back, log_det_back = transform.forward_and_log_det(z_back, params)
  tol = TOL[dtype]
  slope = np.exp(log_det.numpy().astype(np.float64))
  # x -> z is amplified by 1 / g' where the spline is flat; z -> x is not.
  np.testing.assert_array_less(np.abs(z_back - z) * np.minimum(1., slope), tol)
  np.testing.assert_allclose(x_back, x, rtol=0, atol=tol)
  # log|dz/dx| at x is minus log|dx/dz| at the point the inverse found (up to the
  # log-det's sensitivity to a rounding of that point).
  z_back = z_back.numpy().astype(np.float64)
  np.testing.assert_array_less(
      np.abs(inverse_log_det + log_det_back),
      tol + position_error(transform, dtype) * log_det_sensitivity(transform, raw, z_back))
  outside = np.abs(z) >= transform.bound
  np.testing.assert_array_equal(z_back[outside], z[outside])
  np.testing.assert_array_equal(inverse_log_det.numpy()[outside], 0.)


@DTYPES
@pytest.mark.parametrize("fixed", ["x", "y"])
def test_round_trip_on_interior_bin_edges(dtype, fixed):
  transform = spline.RationalQuadraticSpline(num_bins=8, bound=4., min_bin_size=0.)
  rng = np.random.default_rng(2)
  raw = integer_knot_params(transform, rng, 9 * 20, fixed)
  knots = np.tile(np.arange(-4., 5.), 20)
  params = tf.constant(raw, dtype)
  v = tf.constant(knots, dtype)
  tol = TOL[dtype]
  if fixed == "x":  # z exactly on every x knot, including +-B.
    x, log_det = transform.forward_and_log_det(v, params)
    z_back, inverse_log_det = transform.inverse_and_log_det(x, params)
    _, heights, slopes = constrain(transform, raw)
    y_knots = np.concatenate([-4. * np.ones([len(knots), 1]),
                              -4. + np.cumsum(heights, -1)], -1)
    d_knots = np.concatenate([np.ones([len(knots), 1]), slopes, np.ones([len(knots), 1])], -1)
    at = (np.arange(len(knots)) % 9)
    np.testing.assert_allclose(x, y_knots[np.arange(len(knots)), at], rtol=0, atol=tol)
    # g' at a knot is the knot slope: log d_k.
    np.testing.assert_allclose(log_det, np.log(d_knots[np.arange(len(knots)), at]),
                               rtol=0, atol=tol)
    np.testing.assert_allclose(z_back, knots, rtol=0, atol=tol)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=0, atol=tol)
  else:  # x exactly on every y knot.
    z, inverse_log_det = transform.inverse_and_log_det(v, params)
    x_back, log_det = transform.forward_and_log_det(z, params)
    np.testing.assert_allclose(x_back, knots, rtol=0, atol=tol)
    np.testing.assert_allclose(inverse_log_det, -log_det, rtol=0, atol=tol)


@DTYPES
def test_log_det_matches_autodiff(dtype):
  transform = spline.RationalQuadraticSpline(num_bins=6, bound=3.)
  raw, z = random_case(transform, 500, dtype, scale=1., seed=3)
  params = tf.constant(raw, dtype)
  z = tf.constant(z, dtype)
  with tf.GradientTape(persistent=True) as tape:
    tape.watch(z)
    x, log_det = transform.forward_and_log_det(z, params)
    tape.watch(x)
    z_back, inverse_log_det = transform.inverse_and_log_det(x, params)
  # Each output depends on its own input only, so the gradient of the sum is elementwise.
  # The two differ by the rounding of two formulas for g' (params of scale 1: mild slopes).
  np.testing.assert_allclose(np.log(tape.gradient(x, z)), log_det, rtol=0,
                             atol=10 * TOL[dtype])
  np.testing.assert_allclose(np.log(tape.gradient(z_back, x)), inverse_log_det, rtol=0,
                             atol=10 * TOL[dtype])


def test_params_gradient_matches_finite_differences():
  transform = spline.RationalQuadraticSpline(num_bins=4, bound=3.)
  rng = np.random.default_rng(4)
  n, p = 6, transform.num_params
  raw = rng.normal(size=(n, p))
  v = np.array([-2.9, -1.3, -0.2, 0.4, 1.7, 2.8])
  delta = 1e-6
  # Element i depends on row i of the params only, so moving column j of every row at once
  # gives column j of every row's gradient: all 2p perturbations in one batch.
  steps = np.concatenate([np.eye(p), -np.eye(p)])[:, None, :] * delta  # [2p, 1, p]
  perturbed = tf.constant((raw[None] + steps).reshape(-1, p))
  v_tiled = tf.constant(np.tile(v, 2 * p))
  for fn in (transform.forward_and_log_det, transform.inverse_and_log_det):
    params = tf.constant(raw)
    with tf.GradientTape() as tape:
      tape.watch(params)
      value, log_det = fn(tf.constant(v), params)
      total = tf.reduce_sum(value + log_det)
    theoretical = tape.gradient(total, params).numpy()  # Row i: d(value_i + log_det_i).
    value, log_det = fn(v_tiled, perturbed)
    moved = (value + log_det).numpy().reshape(2, p, n)
    numerical = ((moved[0] - moved[1]) / (2. * delta)).T  # [n, p]
    np.testing.assert_allclose(theoretical, numerical, rtol=0, atol=1e-6)
    assert np.abs(theoretical).max() > 0.1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_monotone_increasing_on_a_fine_grid(seed):
  transform = spline.RationalQuadraticSpline(num_bins=10, bound=2.)
  rng = np.random.default_rng(seed)
  grid = np.linspace(-2.5, 2.5, 20001)
  params = tf.constant(np.tile(2. * rng.normal(size=(1, transform.num_params)), [len(grid), 1]))
  x = transform.forward(tf.constant(grid), params).numpy()
  assert np.all(np.diff(x) > 0)
  z = transform.inverse(tf.constant(grid), params).numpy()
  assert np.all(np.diff(z) > 0)


def test_float32_and_float64_agree():
  transform = spline.RationalQuadraticSpline()
  raw, z = random_case(transform, 500, tf.float32, scale=1., seed=5)
  results = {}
  for dtype in (tf.float32, tf.float64):
    params = tf.constant(raw, dtype)
    x, log_det = transform.forward_and_log_det(tf.constant(z, dtype), params)
    z_back, inverse_log_det = transform.inverse_and_log_det(tf.constant(z, dtype), params)
    results[dtype] = [t.numpy() for t in (x, log_det, z_back, inverse_log_det)]
    assert all(t.dtype == dtype for t in (x, log_det, z_back, inverse_log_det))
  for single, double in zip(results[tf.float32], results[tf.float64]):
    np.testing.assert_allclose(single, double, rtol=0, atol=1e-4)


def test_shapes_and_one_bin():
  transform = spline.RationalQuadraticSpline(num_bins=3)
  rng = np.random.default_rng(6)
  for shape in [(), (4,), (2, 3, 4)]:
    z = tf.constant(rng.normal(size=shape) * 3., tf.float32)
    params = tf.constant(rng.normal(size=shape + (8,)), tf.float32)
    for fn in (transform.forward_and_log_det, transform.inverse_and_log_det):
      value, log_det = fn(z, params)
      assert value.shape == shape and log_det.shape == shape
    np.testing.assert_allclose(transform.inverse(transform.forward(z, params), params), z,
                               atol=1e-5)
  # Unknown rank in a tf.function: the lookup needs no static rank.
  unknown = tf.function(transform.forward_and_log_det, input_signature=[
      tf.TensorSpec(None, tf.float32), tf.TensorSpec(None, tf.float32)])
  x, log_det = unknown(z, params)
  np.testing.assert_allclose(x, transform.forward(z, params), rtol=1e-6, atol=1e-6)
  # One bin with unit end slopes and equal width and height is the identity, whatever the
  # raw params.
  one = spline.RationalQuadraticSpline(num_bins=1)
  z = tf.constant([-6., -2., 0.5, 4.9])
  x, log_det = one.forward_and_log_det(z, tf.constant(rng.normal(size=(4, 2)), tf.float32))
  np.testing.assert_allclose(x, z, atol=1e-6)
  np.testing.assert_allclose(log_det, 0., atol=1e-6)


# One transformer and one input shape ([40], params [40, 23]) for the mode tests, so each
# tf.function below traces and compiles once per dtype for the whole module.
MODE_TRANSFORM = spline.RationalQuadraticSpline(num_bins=8, bound=4., min_bin_size=0.)
MODE_SIZE = 40


def _values_and_gradients(v, params):
  transform = MODE_TRANSFORM
  with tf.GradientTape(persistent=True) as tape:
    tape.watch([v, params])
    x, log_det = transform.forward_and_log_det(v, params)
    z, inverse_log_det = transform.inverse_and_log_det(v, params)
    forward_loss = tf.reduce_sum(x) + tf.reduce_sum(log_det)
    inverse_loss = tf.reduce_sum(z) + tf.reduce_sum(inverse_log_det)
  return (x, log_det, z, inverse_log_det,
          *tape.gradient(forward_loss, [v, params]), *tape.gradient(inverse_loss, [v, params]))


MODES = {
    "eager": _values_and_gradients,
    "function": tf.function(_values_and_gradients),
    "xla": tf.function(_values_and_gradients, jit_compile=True),
}


@DTYPES
@pytest.mark.parametrize("mode", list(MODES))
def test_finite_values_and_gradients_at_edges_and_far_outside(dtype, mode):
  bound = MODE_TRANSFORM.bound
  rng = np.random.default_rng(7)
  edges = edge_points(bound, dtype)
  knots = np.arange(-bound + 1., bound)  # Interior knots: exact in x and y for the halves.
  period = len(edges) + len(knots)
  assert 2 * period == MODE_SIZE
  v = np.concatenate([edges, knots, edges, knots])
  raw = np.concatenate([integer_knot_params(MODE_TRANSFORM, rng, period, "x"),
                        integer_knot_params(MODE_TRANSFORM, rng, period, "y")])
  v, params = tf.constant(v, dtype), tf.constant(raw, dtype)
  x, log_det, z, inverse_log_det, dv, dparams, dv_inv, dparams_inv = MODES[mode](v, params)
  infinite = np.isinf(v.numpy())
  assert infinite.sum() == 4
  for value in (x, z):
    assert np.all(np.isfinite(value.numpy()[~infinite]))
    np.testing.assert_array_equal(value.numpy()[infinite], v.numpy()[infinite])
  for t in (log_det, inverse_log_det, dv, dparams, dv_inv, dparams_inv):
    assert np.all(np.isfinite(t.numpy())), t
  # At and beyond +-B: the identity, log-det exactly 0, no gradient into the params.
  beyond = np.abs(v.numpy()) >= bound
  assert beyond.sum() == 4 * 5
  for value in (x, z):
    np.testing.assert_array_equal(value.numpy()[beyond], v.numpy()[beyond])
  for t in (log_det, inverse_log_det, dparams, dparams_inv):
    np.testing.assert_array_equal(t.numpy()[beyond], 0.)
  for t in (dv, dv_inv):
    np.testing.assert_array_equal(t.numpy()[beyond], 1.)
  # Just inside +-B the slope is 1 (C^1 join with the identity) and the spline is near +-B.
  just_inside = np.isin(np.arange(MODE_SIZE) % period, [3, 4])
  for t in (log_det, inverse_log_det):
    np.testing.assert_allclose(t.numpy()[just_inside], 0., atol=1e-4)
  for value in (x, z):
    np.testing.assert_allclose(value.numpy()[just_inside], v.numpy()[just_inside], atol=1e-5)
  assert np.abs(dparams.numpy()[~beyond]).max() > 0.1  # The gradient is not just zero.
  assert np.abs(dparams_inv.numpy()[~beyond]).max() > 0.1


@pytest.mark.parametrize("dtype,scale", [(tf.float32, 1.), (tf.float64, 2.)], ids=["f32", "f64"])
def test_compiles_under_xla_and_agrees_with_eager(dtype, scale):
  raw, z = random_case(MODE_TRANSFORM, MODE_SIZE, dtype, scale=scale, seed=8)
  v, params = tf.constant(z, dtype), tf.constant(raw, dtype)
  eager = MODES["eager"](v, params)
  # XLA's exp, log and division differ from Eigen's by an ulp or so, which the steep parts
  # of a spline amplify; in float32, eager itself is only within ~6e-5 of the scale of each
  # output (largest |value|) of the float64 result, so the modes are compared at 1e-4.
  tol = 1e-4 if dtype == tf.float32 else TOL[dtype]
  for mode in ("function", "xla"):
    for got, want in zip(MODES[mode](v, params), eager):
      np.testing.assert_allclose(got, want, rtol=0, atol=tol * (1. + np.abs(want).max()))
  graph_ops = {op.type for op in
               MODES["function"].get_concrete_function(v, params).graph.get_operations()}
  assert "OneHot" in graph_ops and not graph_ops & {"LowerBound", "UpperBound"}  # No searchsorted.


@pytest.mark.parametrize("kwargs,name", [
    (dict(num_bins=0), "num_bins"),
    (dict(num_bins=2.5), "num_bins"),
    (dict(num_bins=True), "num_bins"),
    (dict(num_bins="8"), "num_bins"),
    (dict(bound=0.), "bound"),
    (dict(bound=-1.), "bound"),
    (dict(bound=float("inf")), "bound"),
    (dict(bound=float("nan")), "bound"),
    (dict(min_bin_size=-1e-3), "min_bin_size"),
    (dict(min_bin_size=float("nan")), "min_bin_size"),
    (dict(num_bins=10, bound=5., min_bin_size=1.), "min_bin_size"),
    (dict(min_slope=-0.1), "min_slope"),
    (dict(min_slope=1.), "min_slope"),
    (dict(min_slope=float("nan")), "min_slope"),
])
def test_raises_on_bad_arguments(kwargs, name):
  with pytest.raises(ValueError, match=rf"Expected .*{name}.*Received: .*{name}="):
    spline.RationalQuadraticSpline(**kwargs)


def test_raises_on_bad_params_shape():
  transform = spline.RationalQuadraticSpline(num_bins=4)
  with pytest.raises(ValueError, match="num_params=11"):
    transform.forward(tf.zeros([3]), tf.zeros([3, 12]))
  with pytest.raises(ValueError, match=r"Expected params of shape .*Received: input.shape"):
    transform.inverse(tf.zeros([3]), tf.zeros([2, 11]))
