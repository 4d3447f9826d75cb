"""The one set of checks every bijector test runs.

`check_bijector(bijector, z)` verifies, for base-side points `z` of shape
`[N, M, *event_shape]`:
- round trips `inverse(forward(z)) == z` and `forward(inverse(x)) == x`;
- `forward_log_det_jacobian` and `inverse_log_det_jacobian` against `slogdet` of the autodiff
  Jacobian (`tf.GradientTape.batch_jacobian` on the flattened event);
- `fldj(z) == -ildj(forward(z))`;
- batch shapes `()`, `[N]`, `[N, M]` give the same numbers element by element;
- eager, `tf.function` and `tf.function(jit_compile=True)` give the same numbers;
- gradients of the log-density with respect to every trainable variable exist, are finite,
  and the variable list is not empty when `has_variables` (see DESIGN.md on Keras 3).
TFP caches forward/inverse pairs by tensor identity; every call here gets a fresh tensor
(`tf.identity`) so the checks compute and never read the cache.
"""

import numpy as np
import tensorflow as tf

TOLERANCES = {  # (round trip, log-det) absolute+relative tolerances per dtype.
    tf.float32: dict(roundtrip=1e-4, logdet=2e-4, compiled=1e-5),
    tf.float64: dict(roundtrip=1e-9, logdet=1e-9, compiled=1e-12),
}


def fresh(t):
  return tf.identity(tf.convert_to_tensor(t))


def assert_close(actual, expected, tol, what):
  np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=tol, atol=tol,
                             err_msg=what)


def check_bijector(bijector, z, event_ndims, has_variables=True, kwargs=None,
                   compile_checks=True, tolerances=None):
  """Runs every shared check on `bijector` at base-side points `z: [N, M, *event]`."""
  kwargs = kwargs or {}
  z = tf.convert_to_tensor(z)
  tol = dict(TOLERANCES[z.dtype], **(tolerances or {}))
  x = bijector.forward(fresh(z), **kwargs)
  assert x.dtype == z.dtype
  assert np.all(np.isfinite(x)), "forward produced non-finite values"

  _check_round_trips(bijector, z, x, kwargs, tol)
  _check_log_dets(bijector, z, x, event_ndims, kwargs, tol)
  _check_batch_shapes(bijector, z, x, event_ndims, kwargs, tol)
  if compile_checks:
    _check_compiled(bijector, z, x, event_ndims, kwargs, tol)
  _check_gradients(bijector, x, event_ndims, kwargs, has_variables)


def _check_round_trips(bijector, z, x, kwargs, tol):
  assert_close(bijector.inverse(fresh(x), **kwargs), z, tol["roundtrip"], "inverse(forward(z))")
  x_again = bijector.forward(bijector.inverse(fresh(x), **kwargs), **kwargs)
  assert_close(x_again, x, tol["roundtrip"], "forward(inverse(x))")


def _flat_jacobian_logdet(fn, inputs, event_ndims, kwargs):
  """slogdet of d fn(inputs) / d inputs, per batch member, on the flattened event."""
  batch_rank = inputs.shape.rank - event_ndims
  batch_shape, event_shape = inputs.shape[:batch_rank], inputs.shape[batch_rank:]
  flat = tf.reshape(inputs, [-1, event_shape.num_elements()])
  flat_kwargs = tf.nest.map_structure(
      lambda t: tf.reshape(t, [-1] + t.shape[batch_rank:].as_list()), kwargs)
  with tf.GradientTape() as tape:
    tape.watch(flat)
    out = fn(tf.reshape(flat, [-1] + event_shape.as_list()), flat_kwargs)
    out = tf.reshape(out, [tf.shape(flat)[0], -1])
  jacobian = tape.batch_jacobian(out, flat)
  sign, logdet = tf.linalg.slogdet(jacobian)
  assert np.all(sign.numpy() != 0), "singular Jacobian"
  return tf.reshape(logdet, batch_shape)


def _check_log_dets(bijector, z, x, event_ndims, kwargs, tol):
  fldj = bijector.forward_log_det_jacobian(fresh(z), event_ndims=event_ndims, **kwargs)
  ildj = bijector.inverse_log_det_jacobian(fresh(x), event_ndims=event_ndims, **kwargs)
  forward = lambda t, kw: bijector.forward(t, **kw)
  inverse = lambda t, kw: bijector.inverse(t, **kw)
  assert_close(fldj, _flat_jacobian_logdet(forward, z, event_ndims, kwargs), tol["logdet"],
               "fldj vs autodiff slogdet")
  assert_close(ildj, _flat_jacobian_logdet(inverse, x, event_ndims, kwargs), tol["logdet"],
               "ildj vs autodiff slogdet")
  assert_close(fldj, -ildj, tol["logdet"], "fldj(z) == -ildj(forward(z))")


def _check_batch_shapes(bijector, z, x, event_ndims, kwargs, tol):
  batch_rank = z.shape.rank - event_ndims
  assert batch_rank == 2, "pass z of shape [N, M, *event_shape]"
  single = {k: _first(v, 2) for k, v in kwargs.items()}
  row = {k: _first(v, 1) for k, v in kwargs.items()}
  for points, data, kw, shape in ((z[0, 0], x[0, 0], single, []),
                                  (z[0], x[0], row, z.shape[1:2]),
                                  (z, x, kwargs, z.shape[:2])):
    y = bijector.forward(fresh(points), **kw)
    fldj = bijector.forward_log_det_jacobian(fresh(points), event_ndims=event_ndims, **kw)
    ildj = bijector.inverse_log_det_jacobian(fresh(data), event_ndims=event_ndims, **kw)
    assert y.shape == data.shape, (y.shape, data.shape)
    for ldj in (fldj, ildj):  # Constant Jacobians may come back unbroadcast, as in TFP.
      assert tf.broadcast_static_shape(ldj.shape, tf.TensorShape(shape)) == shape, (
          ldj.shape, shape)
    assert_close(y, data, tol["roundtrip"], f"forward on batch shape {shape}")
    assert_close(fldj, -ildj, tol["logdet"], f"log-dets on batch shape {shape}")


def _first(kwarg, times):
  """Slices a `conditional_input`-style kwarg like the points (leading batch dims)."""
  if isinstance(kwarg, dict):
    return {k: _first(v, times) for k, v in kwarg.items()}
  for _ in range(times):
    kwarg = kwarg[0]
  return kwarg


def _check_compiled(bijector, z, x, event_ndims, kwargs, tol):
  def all_directions(z, x):
    return (bijector.forward(z, **kwargs), bijector.inverse(x, **kwargs),
            bijector.forward_log_det_jacobian(z, event_ndims=event_ndims, **kwargs),
            bijector.inverse_log_det_jacobian(x, event_ndims=event_ndims, **kwargs))

  eager = all_directions(fresh(z), fresh(x))
  for jit in (False, True):
    compiled = tf.function(all_directions, jit_compile=jit)(fresh(z), fresh(x))
    for name, a, b in zip(("forward", "inverse", "fldj", "ildj"), compiled, eager):
      assert_close(a, b, max(tol["compiled"], tol["roundtrip"] if jit else 0.),
                   f"{name}: tf.function(jit_compile={jit}) vs eager")


def _check_gradients(bijector, x, event_ndims, kwargs, has_variables):
  variables = bijector.trainable_variables
  if not has_variables:
    assert not variables
    return
  assert variables, "a bijector with weights must list them in trainable_variables"
  with tf.GradientTape() as tape:
    z = bijector.inverse(fresh(x), **kwargs)
    ildj = bijector.inverse_log_det_jacobian(fresh(x), event_ndims=event_ndims, **kwargs)
    log_prob = -0.5 * tf.reduce_sum(tf.square(z)) + tf.reduce_sum(ildj)
  grads = tape.gradient(log_prob, variables)
  missing = [v.name for v, g in zip(variables, grads) if g is None]
  assert not missing, f"no gradient for {missing}"
  assert all(np.all(np.isfinite(g)) for g in grads), "non-finite gradient"
  assert any(np.any(g.numpy() != 0) for g in grads), "all gradients are zero"
