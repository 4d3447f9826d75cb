"""Mixture-CDF transformer: closed forms against TFP, logit-space inverse tolerance, tails."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows.transformers import mixture_cdf

tfd = tfp.distributions


def mixture_params(dtype, size=(200, 4), seed=0):
  rng = np.random.default_rng(seed)
  return (tf.constant(rng.normal(size=size), dtype), tf.constant(2. * rng.normal(size=size), dtype),
          tf.constant(0.5 * rng.normal(size=size), dtype))


@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_cdf_and_pdf_match_tfp_mixture(kind):
  logits, locs, log_scales = mixture_params(tf.float64)
  component = (tfd.Logistic if kind == "logistic" else tfd.Normal)(locs, tf.exp(log_scales))
  mixture = tfd.MixtureSameFamily(tfd.Categorical(logits=logits), component)
  x = tf.constant(np.random.default_rng(1).normal(size=200) * 3., tf.float64)
  log_cdf, log_sf = mixture_cdf.log_cdf_and_log_survival(x, logits, locs, log_scales, kind)
  np.testing.assert_allclose(np.exp(log_cdf), mixture.cdf(x), rtol=1e-12)
  np.testing.assert_allclose(np.exp(log_cdf) + np.exp(log_sf), 1., rtol=1e-12)
  np.testing.assert_allclose(mixture_cdf.log_pdf(x, logits, locs, log_scales, kind),
                             mixture.log_prob(x), rtol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(tf.float32, 1e-5), (tf.float64, 1e-12)],
                         ids=["f32", "f64"])
@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_logit_space_inverse_tolerance(kind, dtype, tol):
  # The documented tolerance: |x_hat - x| <= tol * (1 + |x|), tol 1e-5 (f32) / 1e-12 (f64).
  params = mixture_params(dtype)
  x = tf.constant(np.random.default_rng(2).uniform(-10., 10., size=200), dtype)
  z = mixture_cdf.logit_cdf(x, *params, kind)
  x_hat = mixture_cdf.inverse_logit_cdf(z, *params, kind)
  np.testing.assert_array_less(np.abs(x_hat - x), tol * (1. + np.abs(x)))


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
def test_inverse_is_exact_where_newton_cycles(jit):
  # Two coordinates of benchmarks/mixture_cdf_inverse.py (raw parameters, float64) where
  # Newton cycled between two points of the bracket (the first, until iteration ~45) or left
  # an exact root for bisection (the second): errors up to 1e-2 under XLA, 1e-6 eager.
  params = tf.constant([
      [-1.9293079866286245, 1.2431094045228188, 0.3719239254701887, -1.0112664066030408,
       -0.6330779629693264, 0.7377645731623829, 1.5372577649766692, -0.9041224285562012,
       0.4738243031482955, -0.5315698568165262, -0.028142374185274446, 2.9646999504235496,
       -1.866067266699744, -0.42165335443373086, -3.173958374779756],
      [0.457413121266904, 1.7028095146449325, -1.0820307900914938, 1.3131498342790429,
       -0.35353167941835123, -0.10631558743392504, -1.195359521083525, -1.5918191612462276,
       -0.22004834266139747, 0.6104480130266003, -1.9583657216930408, 1.1943113950283137,
       0.5026160137892063, 0.6364808144082964, -0.2480523985957399]], tf.float64)
  x = tf.constant([2.184724396553394, -2.141687270675795], tf.float64)
  transform = mixture_cdf.MixtureCDFLogit(5)
  z, _ = transform.inverse_and_log_det(x, params)
  x_hat, _ = tf.function(transform.forward_and_log_det, jit_compile=jit)(z, params)
  np.testing.assert_allclose(x_hat, x, rtol=1e-12)


@pytest.mark.parametrize("kind", ["logistic", "gaussian"])
def test_far_tails_are_finite(kind):
  params = mixture_params(tf.float32, size=(4, 4))
  x = tf.constant([-1e3, -60., 60., 1e3])
  z = mixture_cdf.logit_cdf(x, *params, kind)
  log_det = mixture_cdf.logit_cdf_log_det(x, *params, kind)
  assert np.all(np.isfinite(z)) and np.all(np.isfinite(log_det))
  back = mixture_cdf.inverse_logit_cdf(tf.constant([-1e6, -100., 100., 1e6]), *params, kind)
  assert np.all(np.isfinite(back))


def test_components_differ_when_the_network_output_is_constant():
  # The first coordinate in a MADE order sees only biases: at a zero output its K components
  # must still differ, or they get identical gradients and never separate.
  transform = mixture_cdf.MixtureCDFLogit(4)
  params = tf.Variable(tf.zeros([1, 3 * 4]))
  x = tf.constant([0.3])
  with tf.GradientTape() as tape:
    log_det = transform.inverse_and_log_det(x, params)[1]
  grad = tape.gradient(log_det, params).numpy().reshape(3, 4)
  assert len(np.unique(np.round(grad[1], 6))) == 4  # One distinct location gradient each.
