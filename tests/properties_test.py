"""Property tests (hypothesis): every transformer and bijector, at random shapes, dtypes,
parameter scales up to large values and inputs deep in the tails, stays finite and keeps
its round trip and log-det consistency where the numbers allow it.

"Where the numbers allow it": a map can be so flat (derivative ~1e-30) that no float can
recover its input; the checks then measure the round trip in the well-conditioned direction
(`forward(inverse(x)) == x`) and the inverse one scaled by the local derivative.
"""

import hypothesis
import keras
from hypothesis import strategies as st
import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff
from tests import tiny_models

def settings(examples):
  return hypothesis.settings(max_examples=examples, deadline=None, derandomize=True,
                             suppress_health_check=[hypothesis.HealthCheck.too_slow])
DTYPES = st.sampled_from([tf.float32, tf.float64])
TOLERANCE = {tf.float32: 2e-3, tf.float64: 1e-8}


def transformers():
  return st.one_of(
      st.builds(tff.transformers.Affine, st.sampled_from([3., None])),
      st.just(tff.transformers.GlowAffine()),
      st.builds(tff.transformers.RationalQuadraticSpline, st.integers(1, 10),
                st.floats(0.5, 8.)),
      st.builds(tff.transformers.MixtureCDFLogit, st.integers(1, 5),
                st.sampled_from(["logistic", "gaussian"]), affine=st.booleans()))


@settings(60)
@hypothesis.given(transform=transformers(), dtype=DTYPES, seed=st.integers(0, 2**16),
                  param_scale=st.sampled_from([0.1, 1., 5., 30.]),
                  input_scale=st.sampled_from([1., 10., 1e3, 1e6]))
def test_transformers_stay_finite_and_invert(transform, dtype, seed, param_scale, input_scale):
  rng = np.random.default_rng(seed)
  shape = [int(d) for d in rng.integers(1, 4, size=rng.integers(1, 3))]
  z = tf.constant(rng.normal(size=shape) * input_scale, dtype)
  params = tf.constant(rng.normal(size=shape + [transform.num_params]) * param_scale, dtype)
  x, forward_log_det = transform.forward_and_log_det(z, params)
  z_back, inverse_log_det = transform.inverse_and_log_det(x, params)
  for value in (x, forward_log_det, z_back, inverse_log_det):
    assert np.all(np.isfinite(value)), (transform, value)
  tol = TOLERANCE[dtype]
  # The round trip, scaled by the derivative where the map is flat (|dz| ~ |dx| / g').
  slope = np.minimum(1., np.exp(forward_log_det.numpy()))
  error = np.abs(z_back.numpy() - z.numpy()) * slope
  assert np.all(error <= tol * (1. + np.abs(z.numpy()))), (transform, error.max())
  # The log-dets agree where the inverse found z itself (on a flat piece it finds a point
  # whose image rounds to the same x, and the log-det there is another number).
  recovered = np.abs(z_back.numpy() - z.numpy()) <= tol * (1. + np.abs(z.numpy()))
  np.testing.assert_allclose(inverse_log_det.numpy()[recovered],
                             -forward_log_det.numpy()[recovered], atol=tol * 10, rtol=tol)


def perturbed(bijector, scale, rng):
  for v in bijector.trainable_variables:
    v.assign_add(rng.normal(size=v.shape) * scale)
  return bijector


def vector_bijectors(event_size, dtype, rng, validate_args=False):
  made = lambda params: tff.nn.MADE(params, [event_size], [8], activation="tanh",
                                    dtype=dtype.name, seed=int(rng.integers(100)),
                                    input_order="random")
  spline = tff.transformers.RationalQuadraticSpline(4, bound=3.)
  checked = dict(validate_args=validate_args)
  return {
      "maf_affine": lambda: tff.bijectors.MaskedAutoregressiveFlow(made(2), **checked),
      "maf_spline": lambda: tff.bijectors.MaskedAutoregressiveFlow(made(11), "spline", **checked),
      "iaf_affine": lambda: tff.bijectors.InverseAutoregressiveFlow(made(2), **checked),
      "mixture_cdf_maf": lambda: tff.bijectors.MaskedAutoregressiveFlow(made(9), "mixture_cdf",
                                                                        **checked),
      "coupling_spline": lambda: tff.bijectors.Coupling([event_size], "checkerboard",
                                                        transform=spline, hidden_units=(8,),
                                                        dtype=dtype, **checked),
      "coupling_affine": lambda: tff.bijectors.AffineCoupling([event_size], "checkerboard",
                                                              hidden_units=(8,), dtype=dtype,
                                                              **checked),
  }


@settings(30)
@hypothesis.given(name=st.sampled_from(["maf_affine", "maf_spline", "iaf_affine",
                                        "mixture_cdf_maf", "coupling_spline", "coupling_affine"]),
                  dtype=DTYPES, seed=st.integers(0, 2**16),
                  weight_scale=st.sampled_from([0.1, 1., 3.]),
                  input_scale=st.sampled_from([1., 10., 1e3]))
def test_vector_bijectors_stay_finite_and_consistent(name, dtype, seed, weight_scale,
                                                     input_scale):
  rng = np.random.default_rng(seed)
  keras.utils.set_random_seed(seed)
  event_size = int(rng.integers(2, 5))
  batch_shape = [int(d) for d in rng.integers(1, 4, size=rng.integers(0, 3))]
  bijector = perturbed(vector_bijectors(event_size, dtype, rng)[name](), weight_scale, rng)
  x = tf.constant(rng.normal(size=batch_shape + [event_size]) * input_scale, dtype)
  z = bijector.inverse(tf.identity(x))
  ildj = bijector.inverse_log_det_jacobian(tf.identity(x), event_ndims=1)
  assert z.shape == x.shape and ildj.shape == batch_shape
  assert np.all(np.isfinite(z)) and np.all(np.isfinite(ildj)), name
  x_back = bijector.forward(tf.identity(z))
  fldj = bijector.forward_log_det_jacobian(tf.identity(z), event_ndims=1)
  assert np.all(np.isfinite(x_back)) and np.all(np.isfinite(fldj)), name
  tol = TOLERANCE[dtype]
  # z = f(x) is the training direction; the sampling direction recovers x where the map's
  # Jacobian is not degenerate, and the log-dets agree.
  conditioned = np.abs(ildj.numpy()) < 20.
  np.testing.assert_allclose(np.asarray(x_back)[conditioned], np.asarray(x)[conditioned],
                             rtol=tol * 50, atol=tol * 50 * input_scale)
  np.testing.assert_allclose(np.asarray(fldj)[conditioned], -np.asarray(ildj)[conditioned],
                             rtol=tol * 50, atol=tol * 50)


@settings(15)
@hypothesis.given(name=st.sampled_from(["glow", "realnvp", "glow_learned_prior", "nsf", "maf",
                                        "flowpp"]),
                  seed=st.integers(0, 2**16), weight_scale=st.sampled_from([0.01, 0.3]),
                  batch=st.integers(0, 3))
def test_builders_give_finite_log_prob_on_their_data_and_integer_samples(name, seed,
                                                                         weight_scale, batch):
  case = name
  keras.utils.set_random_seed(seed)  # The networks' initial weights too: no flaky examples.
  dist = tiny_models.build(case)
  rng = np.random.default_rng(seed)
  if tiny_models.is_image(case):
    tff.bijectors.initialize_act_norms(dist, tiny_models.data(case, 16, seed))
  perturbed(dist, weight_scale, rng)
  x = tiny_models.data(case, batch, seed)
  log_prob = dist.log_prob(x)
  assert log_prob.shape == [batch] and np.all(np.isfinite(log_prob)), name
  samples = dist.sample(batch, seed=(seed, 1)).numpy()
  assert samples.shape == (batch, *dist.event_shape)
  assert np.all(np.isfinite(samples))
  if tiny_models.is_image(case):
    np.testing.assert_array_equal(samples, np.clip(np.round(samples), 0,
                                                   tiny_models.IMAGE_BINS - 1))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_validate_args_names_non_finite_inputs_of_every_vector_bijector(bad):
  rng = np.random.default_rng(0)
  for name, make in vector_bijectors(3, tf.float32, rng, validate_args=True).items():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Expected finite values in x"):
      make().inverse(tf.constant([[0., bad, 1.]]))
    del name
