"""FlowModel: fit and evaluate minimise/report the NLL over every variable of the flow (ours
and TFP's), in tf.function, XLA and eager mode; ActNorm starts on the first batch;
conditional flows fit on (x, context) pairs and dicts, and refuse a missing or extra context."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import tiny_models

tfb = tfp.bijectors
tfd = tfp.distributions


def moons(n=256):
  rng = np.random.default_rng(0)
  t = rng.uniform(0., np.pi, n)
  upper = rng.uniform(size=n) < 0.5
  x = np.where(upper, np.cos(t), 1. - np.cos(t))
  y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
  return (np.stack([x, y], 1) + 0.05 * rng.normal(size=(n, 2))).astype(np.float32)


def mixed_flow():
  """A MAF with TFP's own variable-holding bijectors chained on the data side."""
  maf = tff.models.maf(2, num_layers=2, hidden_units=[8], seed=0)
  tfp_bijectors = tfb.Chain([
      tfb.Shift(tf.Variable([0.1, -0.1], name="shift")),
      tfb.ScaleMatvecLU(tf.Variable([[1., 0.], [0.2, 1.]], name="lower_upper"),
                        permutation=tf.Variable([1, 0], trainable=False, name="perm")),
      tfb.Permute([1, 0]),
  ])
  return tfd.TransformedDistribution(maf, tfp_bijectors)


def values(variables):
  return [v.numpy().copy() for v in variables]


def test_tracks_every_variable_of_the_flow_ours_and_tfps():
  dist = mixed_flow()
  model = tff.keras.FlowModel(dist)
  names = {v.name for v in dist.trainable_variables}
  assert {"shift:0", "lower_upper:0"} <= names
  assert len(dist.trainable_variables) == 2 * 4 + 2  # Two MADEs (2 dense layers each).
  assert len(model.trainable_variables) == len(dist.trainable_variables)
  assert len(model.non_trainable_variables) == 1  # The permutation.
  assert model.count_params() == sum(int(np.prod(v.shape)) for v in dist.variables)


@pytest.mark.parametrize("mode", ["tf_function", "jit_compile", "run_eagerly"])
def test_fit_trains_every_variable_and_lowers_the_nll(mode):
  dist = mixed_flow()
  x = moons()
  model = tff.keras.FlowModel(dist)
  model.compile(keras.optimizers.Adam(1e-2), jit_compile=mode == "jit_compile",
                run_eagerly=mode == "run_eagerly")
  before = values(dist.trainable_variables)
  start = model.evaluate(x, verbose=0, return_dict=True)["loss"]
  history = model.fit(x, batch_size=64, epochs=3, verbose=0).history
  for old, new in zip(before, values(dist.trainable_variables)):
    assert not np.allclose(old, new)
  assert history["loss"][-1] < start - 0.1
  np.testing.assert_array_equal(  # The non-trainable permutation is left alone.
      [v for v in dist.variables if v.name == "perm:0"][0].numpy(), [1, 0])


def test_one_fit_step_equals_one_hand_written_gradient_tape_step():
  x = moons(64)
  by_fit, by_tape = mixed_flow(), mixed_flow()
  model = tff.keras.FlowModel(by_fit)
  model.compile(keras.optimizers.SGD(0.1))
  model.fit(x, batch_size=64, epochs=1, shuffle=False, verbose=0)

  optimizer = keras.optimizers.SGD(0.1)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(by_tape.log_prob(x))
  variables = by_tape.trainable_variables
  optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
  for a, b in zip(by_fit.trainable_variables, by_tape.trainable_variables):
    np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


def test_training_noise_is_seeded_per_step_so_xla_runs_repeat_exactly():
  """XLA ignores the seeds of stateful random ops: the dequantization noise of a training
  step comes from the stateless seed `[FlowModel seed, step]` instead."""
  x = tiny_models.data("realnvp", n=16)

  def trained_weights(noise_seed):
    keras.utils.set_random_seed(0)  # The same initial weights each time.
    model = tff.keras.FlowModel(tiny_models.build("realnvp"), seed=noise_seed)
    model.compile(keras.optimizers.Adam(1e-2), jit_compile=True)
    model.fit(x, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return values(model.distribution.trainable_variables)

  first, again, other = trained_weights(7), trained_weights(7), trained_weights(8)
  for a, b in zip(first, again):
    np.testing.assert_array_equal(a, b)
  assert not all(np.array_equal(a, b) for a, b in zip(first, other))
  config = tff.keras.FlowModel(tiny_models.build("realnvp"), seed=7).get_config()
  assert config["seed"] == 7


def test_evaluate_reports_the_nll_and_bits_per_dim():
  dist = tff.models.maf(2, num_layers=1, hidden_units=[8], seed=0)
  x = moons(128)
  for num_bins in (None, 256):
    model = tff.keras.FlowModel(dist, num_bins=num_bins)
    model.compile("adam")
    result = model.evaluate(x, batch_size=128, verbose=0, return_dict=True)
    log_prob = dist.log_prob(x)
    np.testing.assert_allclose(result["loss"], -np.mean(log_prob), rtol=1e-6)
    np.testing.assert_allclose(
        result["bits_per_dim"],
        tff.metrics.bits_per_dim(tf.reduce_mean(log_prob), [2], num_bins), rtol=1e-6)


def test_call_log_prob_and_sample():
  dist = tff.models.maf(2, num_layers=1, hidden_units=[8], seed=0)
  model = tff.keras.FlowModel(dist)
  x = moons(5)
  np.testing.assert_array_equal(model(x), dist.log_prob(x))
  np.testing.assert_array_equal(model.log_prob(x), dist.log_prob(x))
  # predict runs a tf.function graph: same math, float32 rounding may differ in the last bit.
  np.testing.assert_allclose(model.predict(x, verbose=0), dist.log_prob(x), rtol=1e-6)
  assert model.sample(7).shape == (7, 2)
  np.testing.assert_allclose(model.sample(3, temperature=0., seed=(1, 2)),
                             dist.sample(3, temperature=0., seed=(1, 2)))


def test_glow_fit_starts_act_norm_on_the_first_batch_once():
  dist = tff.models.glow([4, 4, 2], levels=1, depth=2, hidden_channels=4, num_bins=4, seed=0)
  act_norms = [m for m in dist.submodules if isinstance(m, tff.bijectors.ActNorm)]
  x = np.random.default_rng(0).integers(0, 4, [64, 4, 4, 2]).astype(np.float32)
  model = tff.keras.FlowModel(dist)
  model.compile(keras.optimizers.Adam(1e-3), jit_compile=True)
  model.fit(x, batch_size=32, epochs=1, verbose=0)
  assert all(bool(a.initialized.numpy()) for a in act_norms)
  loc = values(a.loc for a in act_norms)
  model.compile(keras.optimizers.SGD(0.))  # A second fit must not start them again.
  model.fit(x[::-1].copy(), batch_size=32, epochs=1, verbose=0)
  for old, a in zip(loc, act_norms):
    np.testing.assert_array_equal(old, a.loc.numpy())


def test_explicit_initialize_matches_the_bijector_function():
  make = lambda: tff.models.glow([4, 4, 2], levels=1, depth=1, hidden_channels=4,
                                 num_bins=None, logit_alpha=None, seed=0)
  x = np.random.default_rng(1).uniform(size=(16, 4, 4, 2)).astype(np.float32)
  a, b = make(), make()
  assert tff.keras.FlowModel(a).initialize(x) == 1
  tff.bijectors.initialize_act_norms(b, x)
  act_norm = lambda d: [m for m in d.submodules if isinstance(m, tff.bijectors.ActNorm)][0]
  for u, v in zip(act_norm(a).variables, act_norm(b).variables):
    np.testing.assert_array_equal(u.numpy(), v.numpy())


def test_bad_arguments_raise_clear_errors():
  with pytest.raises(TypeError, match="Expected distribution to be a tfp.distributions"):
    tff.keras.FlowModel(tfb.Shift(1.))
  model = tff.keras.FlowModel(tfd.MultivariateNormalDiag(tf.zeros(2)))
  with pytest.raises(ValueError, match="Expected temperature=1.0"):
    model.sample(2, temperature=0.5)


# Conditional flows.

CONDITIONAL = sorted(tiny_models.CONDITIONAL_CASES)


def conditional_model(case, learning_rate=1e-2, **overrides):
  model = tff.keras.FlowModel(tiny_models.build_conditional(case, **overrides))
  model.compile(keras.optimizers.Adam(learning_rate))
  return model


@pytest.mark.parametrize("case", CONDITIONAL)
def test_a_conditional_flow_fits_on_x_context_pairs_and_evaluates_given_the_context(case):
  # Without dequantization noise, so evaluate's NLL can be compared exactly; Flow++ has its
  # variational dequantization always, and only its fit is checked here.
  continuous = ({"num_bins": None, "logit_alpha": None}
                if case in ("realnvp", "glow_learned_prior") else {})
  model = conditional_model(case, **continuous)
  x, c = tiny_models.data(case, 32), tiny_models.context(case, 32)
  history = model.fit(x, c, batch_size=16, epochs=2, verbose=0)
  assert np.all(np.isfinite(history.history["loss"]))
  assert int(model.optimizer.iterations) == 4
  assert model((x[:3], c[:3])).shape == [3]
  assert model({"x": x[:3], "context": c[:3]}).shape == [3]
  if case == "flowpp":
    return
  result = model.evaluate(x, c, batch_size=32, verbose=0, return_dict=True)
  np.testing.assert_allclose(result["loss"], -np.mean(model.log_prob(x, c)), rtol=1e-5)


def test_a_conditional_fit_learns_the_dependence_on_the_context():
  rng = np.random.default_rng(0)
  c = rng.uniform(-1., 1., size=(512, 1)).astype(np.float32)
  x = (np.concatenate([2. * c, -2. * c], 1) + 0.1 * rng.normal(size=(512, 2))).astype(np.float32)
  model = tff.keras.FlowModel(tff.models.maf(2, num_layers=2, hidden_units=[16],
                                             conditional_event_shape=[1], seed=0))
  model.compile(keras.optimizers.Adam(1e-2))
  model.fit(x, c, batch_size=64, epochs=20, verbose=0)
  right = model.log_prob(x, c).numpy().mean()
  wrong = model.log_prob(x, -c).numpy().mean()
  assert right > wrong + 5.  # x is predictable from c (sd 0.1): the wrong c is far off.
  samples = model.sample(200, context=[0.5], seed=(1, 2)).numpy()
  np.testing.assert_allclose(samples.mean(0), [1., -1.], atol=0.15)


def test_a_conditional_flow_fits_a_dataset_of_dicts_and_of_pairs():
  case = "nsf"
  x, c = tiny_models.data(case, 32), tiny_models.context(case, 32)
  for dataset in (tf.data.Dataset.from_tensor_slices({"x": x, "context": c}).batch(16),
                  tf.data.Dataset.from_tensor_slices((x, c)).batch(16)):
    model = conditional_model(case)
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert int(model.optimizer.iterations) == 2


def test_fit_refuses_a_conditional_flow_without_context_and_an_unconditional_one_with_it():
  x = tiny_models.data("maf", 32)
  with pytest.raises(ValueError, match="Expected a context for the conditional flow 'maf'"):
    conditional_model("maf").fit(x, batch_size=16, epochs=1, verbose=0)
  with pytest.raises(ValueError, match="Expected a context for the conditional flow 'maf'"):
    conditional_model("maf").evaluate(x, verbose=0)
  plain = tff.keras.FlowModel(tiny_models.build("maf"))
  plain.compile(keras.optimizers.Adam(1e-3))
  with pytest.raises(ValueError, match="Expected no context: the flow 'maf' is unconditional"):
    plain.fit(x, tiny_models.context("maf", 32), batch_size=16, epochs=1, verbose=0)


def test_fit_refuses_sample_weights_and_unknown_dict_keys():
  model = conditional_model("maf")
  x, c = tiny_models.data("maf", 32), tiny_models.context("maf", 32)
  with pytest.raises(ValueError, match="Received: sample weights"):
    model.fit(x, c, sample_weight=np.ones(32), batch_size=16, epochs=1, verbose=0)
  with pytest.raises(ValueError, match=r"Received: keys \['condition', 'x'\]"):
    model.fit({"x": x, "condition": c}, batch_size=16, epochs=1, verbose=0)


def test_a_non_finite_context_row_is_left_out_like_a_non_finite_x_row():
  model = conditional_model("nsf")
  x, c = tiny_models.data("nsf", 32), tiny_models.context("nsf", 32)
  c[3, 1] = np.nan
  history = model.fit(x, c, batch_size=32, epochs=1, verbose=0)
  assert history.history["nonfinite_examples"] == [1.]
  assert all(np.all(np.isfinite(v.numpy())) for v in model.distribution.trainable_variables)


def test_conditional_glow_starts_act_norm_given_the_labels_of_the_first_batch():
  model = conditional_model("glow_learned_prior")
  x, labels = tiny_models.data("glow", 32), tiny_models.context("glow_learned_prior", 32)
  model.fit(tff.data.image_dataset(x, 16, labels=labels), epochs=1, verbose=0)
  assert not tff.keras.flow_model.has_uninitialized_act_norm(model.distribution)


def test_sample_takes_one_context_or_a_batch_of_them():
  model = conditional_model("glow_learned_prior")
  model.initialize(tiny_models.data("glow", 8), tiny_models.context("glow_learned_prior", 8))
  assert model.sample(2, context=1, seed=(1, 2)).shape == [2] + tiny_models.IMAGE
  assert model.sample(2, context=[0, 1, 2], seed=(1, 2)).shape == [2, 3] + tiny_models.IMAGE
  assert model.log_prob_per_class(tiny_models.data("glow", 4)).shape == [4, 3]
