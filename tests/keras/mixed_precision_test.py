"""Mixed precision: under `keras.mixed_precision.set_dtype_policy("mixed_bfloat16")` the
networks compute in bfloat16 with float32 variables, and log_prob, loss and metrics stay
float32; fitting (with XLA too), sampling, saving and "mixed_float16" loss scaling work."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tfp_flows.bijectors import walk
from tests import bijector_checks
from tests import tiny_models

tfb = tfp.bijectors

CASES = ["maf", "nsf", "nsf_coupling", "realnvp", "glow", "flowpp"]
EVERY_CASE = sorted(tiny_models.CASES)
# Flows whose forward (sampling) is solved: MAF-type ones position by position, Flow++'s
# mixture-CDF couplings by Newton-bisection.
SOLVED_FORWARD = {"flowpp", "maf", "mixture_cdf_flow", "nsf", "nsf_standardized"}
SEED = {"seed": (1, 2)}  # Fixed dequantization noise: two calls see the same points.


def bfloat16_matmul_error():
  """This machine's bfloat16 matmul error in units of bfloat16's rounding (2^-9), at least 1.

  The tolerances below assume a matmul that accumulates in float32 and rounds its output
  once: an error of at most 2^-9 of `|a| @ |b|`. CPUs without native bfloat16 (AVX2 only)
  compute it otherwise, with up to ~4x that error (measured: an AMD EPYC with AVX2, eager
  3.7x, XLA 1.8x); a network output, and so log p, then moves that much more. Measured here
  on random bfloat16 matrices at the tiny models' widths, eager and under XLA."""
  rng = np.random.default_rng(0)
  worst = 1.
  for k in (8, 32, 128):
    a = tf.cast(rng.normal(size=[256, k]), tf.bfloat16)
    b = tf.cast(rng.normal(size=[k, 64]), tf.bfloat16)
    a32, b32 = tf.cast(a, tf.float32), tf.cast(b, tf.float32)
    exact, bound = tf.matmul(a32, b32), tf.matmul(tf.abs(a32), tf.abs(b32))
    for matmul in (tf.matmul, tf.function(tf.matmul, jit_compile=True)):
      error = tf.abs(tf.cast(matmul(a, b), tf.float32) - exact) / bound
      worst = max(worst, float(tf.reduce_max(error)) / 2.**-9)
  return worst


ARITHMETIC = bfloat16_matmul_error()


@pytest.fixture(autouse=True)
def _restore_policy():
  before = keras.config.dtype_policy()
  yield
  keras.config.set_dtype_policy(before)


def mixed(case, policy="mixed_bfloat16", **overrides):
  keras.utils.set_random_seed(0)  # The same start at every run.
  keras.config.set_dtype_policy(policy)
  return tiny_models.build(case, **overrides)


def networks(flow):
  """The Keras networks (with their sub-layers) of the flow's bijectors."""
  found = [getattr(leaf, name, None) for leaf in walk.leaves(flow)
           for name in ("made", "network")]
  return [sub for layer in found if isinstance(layer, keras.layers.Layer)
          for sub in layer._flatten_layers()]  # pylint: disable=protected-access


def log_prob(flow, x):
  kwargs = tff.models.bijector_kwargs(flow, seed=(1, 2))
  return flow.log_prob(x, bijector_kwargs=kwargs)


def perturbed(flow, seed=0):
  """The flow with its networks' weights moved off their (zero-output) start."""
  rng = np.random.default_rng(seed)
  for v in {id(v): v for layer in networks(flow) for v in layer.trainable_weights}.values():
    v.assign(v + 0.1 * rng.normal(size=v.shape).astype(np.float32))
  return flow


@pytest.mark.parametrize("case", EVERY_CASE)
def test_networks_compute_in_bfloat16_with_float32_variables(case):
  flow = mixed(case)
  layers = [layer for layer in networks(flow) if layer.weights]
  assert layers
  assert {layer.compute_dtype for layer in layers} == {"bfloat16"}
  assert {v.dtype for layer in layers for v in layer.weights} == {"float32"}
  assert flow.dtype == tf.float32
  assert flow.recipe["dtype_policy"] == "mixed_bfloat16"


@pytest.mark.parametrize("case", EVERY_CASE)
def test_log_prob_is_float32_finite_and_close_to_the_float32_flow(case):
  flow = perturbed(mixed(case))
  keras.config.set_dtype_policy("float32")
  reference = tiny_models.build(case)
  assert {layer.compute_dtype for layer in networks(reference)} == {"float32"}
  for target, source in zip(reference.variables, flow.variables):  # 1x1 conv permutations too.
    target.assign(source)
  x = tiny_models.data(case, 16)
  low, exact = log_prob(flow, x), log_prob(reference, x).numpy()
  assert low.dtype == tf.float32
  assert np.all(np.isfinite(low))
  assert not np.array_equal(low.numpy(), exact)  # The networks did run in bfloat16.
  # bfloat16 keeps 8 significant bits: each network output is rounded by up to 2^-8 of its
  # size; log p sums D terms made from them, whose errors partly cancel, so allow 2^-8 of
  # |log p| plus 0.01 nats for log p near 0 (seen over 6 seeds: at most 0.17%). Glow's
  # learned prior and Flow++'s mixtures put network outputs (a log-scale, mixture logits)
  # straight into log p, several per dimension: 2^-6 for them (seen: 0.44% and 1.1%).
  # Both scale with this machine's bfloat16 matmul error (`bfloat16_matmul_error`).
  rtol = 2.**-6 if case in ("glow_learned_prior", "flowpp") else 2.**-8
  np.testing.assert_allclose(low, exact, rtol=rtol * ARITHMETIC, atol=0.01 * ARITHMETIC)


@pytest.mark.parametrize("case", EVERY_CASE)
def test_the_mixed_flow_passes_the_shared_bijector_checks(case):
  """Its networks round in bfloat16, but the flow is still an exact bijection with an exact
  log-det: each network sees the same inputs going forward and back."""
  image = tiny_models.is_image(case)
  flow = perturbed(mixed(case))
  bijector = flow.bijector
  if image:  # The continuous part: what follows the dequantization.
    bijector = tfb.Chain(bijector.bijectors[1:])
  rng = np.random.default_rng(1)
  z = rng.normal(size=[2, 3] + (tiny_models.IMAGE if image else [tiny_models.VECTOR_SIZE]))
  # Graph mode and XLA fuse the networks' ops differently from eager (a bias added before
  # the bfloat16 rounding, not after): their outputs agree to two bfloat16 steps (2^-7), not
  # to float32's. A MAF's forward (sampling) runs the MADE restricted to each chunk of
  # positions, whose bfloat16 roundings differ from the whole MADE's that give its log-det;
  # Flow++'s forward solves each coupling numerically, so the next layer's networks see
  # inputs off by the solver's float32 error, which can flip a bfloat16 rounding: the
  # autodiff Jacobian of such a forward matches the log-det to bfloat16's 2^-8. Each scales
  # with this machine's bfloat16 matmul error (`bfloat16_matmul_error`).
  tolerances = dict(compiled=2.**-7 * ARITHMETIC)
  if case in SOLVED_FORWARD:
    tolerances["logdet"] = 2.**-8 * ARITHMETIC
  bijector_checks.check_bijector(bijector, tf.constant(z * 0.5, tf.float32),
                                 event_ndims=3 if image else 1, tolerances=tolerances)


# XLA for a MADE and an MLP flow only: compiling the convolutional ones takes 30 s here.
@pytest.mark.parametrize("case, jit_compile", [(case, False) for case in CASES] + [
    ("maf", True), ("nsf_coupling", True)])
def test_fit_lowers_the_loss(case, jit_compile):
  model = tff.keras.FlowModel(mixed(case), seed=0)
  model.compile(keras.optimizers.Adam(1e-2), jit_compile=jit_compile)
  x = tiny_models.data(case, 64)
  before = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"]
  history = model.fit(x, batch_size=16, epochs=2, verbose=0).history
  after = model.evaluate(x, batch_size=64, verbose=0, return_dict=True)["loss"]
  assert np.isfinite(before) and after < before
  assert history["nonfinite_steps"][-1] == 0.
  assert model.distribution.log_prob(x).dtype == tf.float32


def test_maf_samples_in_bfloat16_and_their_log_prob_is_finite():
  flow = perturbed(mixed("maf"))
  samples = flow.sample(32, seed=(4, 5))
  assert samples.dtype == tf.float32
  assert np.all(np.isfinite(samples)) and np.all(np.isfinite(flow.log_prob(samples)))
  # The round trip: the inverse of the samples gives back the base draws.
  z = flow.bijector.inverse(samples)
  np.testing.assert_allclose(flow.bijector.forward(z), samples, rtol=0.05, atol=0.05)


@pytest.mark.parametrize("case", ["maf", "realnvp"])
def test_a_mixed_model_reloads_mixed_with_the_same_log_prob(case, tmp_path):
  model = tff.keras.FlowModel(perturbed(mixed(case)))
  path = str(tmp_path / "flow.keras")
  model.save(path)
  keras.config.set_dtype_policy("float32")  # The recipe, not the global policy, decides.
  loaded = keras.models.load_model(path)
  assert {layer.compute_dtype for layer in networks(loaded.distribution)} == {"bfloat16"}
  x = tiny_models.data(case, 8)
  np.testing.assert_array_equal(log_prob(loaded.distribution, x),
                                log_prob(model.distribution, x))


def test_mixed_float16_scales_the_loss_and_skips_overflowing_steps_without_stopping():
  model = tff.keras.FlowModel(mixed("maf", "mixed_float16"))
  assert {layer.compute_dtype for layer in networks(model.distribution)} == {"float16"}
  # A scale so large that float16 gradients overflow: the LossScaleOptimizer skips those
  # steps and halves its scale, and `fit` neither counts them as bad steps nor stops.
  model.compile(keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2),
                                                    initial_scale=2.**40))
  history = model.fit(tiny_models.data("maf", 64), batch_size=16, epochs=1, verbose=0).history
  assert model.optimizer.dynamic_scale.numpy() < 2.**40
  assert history["nonfinite_steps"] == [0.] and np.isfinite(history["loss"][0])


def test_mixed_float16_compile_wraps_the_optimizer_and_a_step_trains():
  model = tff.keras.FlowModel(mixed("maf", "mixed_float16"))
  model.compile(keras.optimizers.Adam(1e-2))
  assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
  before = [v.numpy() for v in model.distribution.trainable_variables]
  history = model.fit(tiny_models.data("maf", 16), batch_size=16, epochs=1, verbose=0).history
  assert np.isfinite(history["loss"][0])
  assert any(not np.array_equal(b, v.numpy())
             for b, v in zip(before, model.distribution.trainable_variables))


def test_an_explicit_dtype_ignores_a_mixed_global_policy():
  keras.config.set_dtype_policy("mixed_bfloat16")
  flow = tff.models.maf(2, num_layers=1, hidden_units=[4], dtype=tf.float64)
  assert {layer.compute_dtype for layer in networks(flow)} == {"float64"}
  assert "dtype_policy" not in flow.recipe
  assert flow.log_prob(np.zeros([1, 2])).dtype == tf.float64
