"""FlowDistribution: temperature sampling, contexts of conditional flows, seeded log_prob;
nothing else changed."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import tiny_models

tfb = tfp.bijectors
tfd = tfp.distributions


def flow(base):
  return tff.distributions.FlowDistribution(base, tfb.Chain([tfb.Shift(3.), tfb.Scale(2.)]))


def test_temperature_scales_the_base_sample_about_its_mean():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  cold = dist.sample(20000, temperature=0.5, seed=(1, 2))
  full = dist.sample(20000, seed=(1, 2))
  np.testing.assert_allclose(cold - 3., 0.5 * (full - 3.), rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.std(cold, 0), 2. * 0.5, rtol=0.03)  # Scale 2, T 0.5.
  np.testing.assert_array_equal(dist.sample(3, temperature=0.), np.full([3, 2], 3.))


def test_temperature_is_about_the_base_mean_for_a_uniform_base():
  dist = flow(tfd.Sample(tfd.Uniform(0., 1.), [2]))
  np.testing.assert_allclose(dist.sample(4, temperature=0.), np.full([4, 2], 4.), rtol=1e-6)


def test_acts_as_a_transformed_distribution_and_works_in_tf_function():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  reference = tfd.TransformedDistribution(dist.distribution, dist.bijector)
  x = tf.random.normal([5, 2])
  np.testing.assert_array_equal(dist.log_prob(x), reference.log_prob(x))
  sample = tf.function(lambda t: dist.sample(7, temperature=t, seed=(3, 4)))
  assert sample(tf.constant(0.7)).shape == (7, 2)


def test_builders_return_it():
  assert isinstance(tff.models.maf(2, num_layers=1, hidden_units=[4]),
                    tff.distributions.FlowDistribution)


def test_negative_temperature_raises():
  with pytest.raises(ValueError, match="Expected temperature to be a number >= 0"):
    flow(tfd.Sample(tfd.Normal(0., 1.), [2])).sample(2, temperature=-1.)


@pytest.mark.parametrize("wrap", [
    lambda d, v: tfd.TransformedDistribution(d, tfb.Shift(v)),
    lambda d, v: tfd.Sample(tfd.TransformedDistribution(d, tfb.Shift(v)), 2),
    lambda d, v: tfd.Independent(tfd.TransformedDistribution(d, tfb.Shift(v)), 0),
], ids=["transformed", "sample", "independent"])
def test_distributions_built_on_a_flow_list_its_variables(wrap):
  dist = tff.models.maf(2, num_layers=2, hidden_units=[4])
  shift = tf.Variable([0., 0.])
  wrapped = wrap(dist, shift)
  expected = {id(v) for v in dist.trainable_variables} | {id(shift)}
  assert len(dist.trainable_variables) == 8
  assert {id(v) for v in wrapped.trainable_variables} == expected


def test_sample_and_log_prob_takes_the_temperature_and_gives_the_models_density():
  dist = tff.models.maf(2, num_layers=2, hidden_units=[4], seed=0)
  x, log_prob = dist.experimental_sample_and_log_prob(500, temperature=0.5, seed=(1, 2))
  np.testing.assert_allclose(x, dist.sample(500, temperature=0.5, seed=(1, 2)), rtol=1e-6)
  np.testing.assert_allclose(log_prob, dist.log_prob(tf.identity(x)), rtol=1e-4, atol=1e-4)
  full, _ = dist.experimental_sample_and_log_prob(500, seed=(1, 2))
  assert np.std(x) < 0.7 * np.std(full)


def test_unknown_sample_keywords_raise():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  with pytest.raises(TypeError, match="Received: temprature"):
    dist.sample(2, temprature=0.5)
  with pytest.raises(TypeError, match="Received: temprature"):
    dist.experimental_sample_and_log_prob(2, temprature=0.5)


@pytest.mark.parametrize("temperature", [np.float32(-1.), np.array(-0.5), np.nan, "cold", [1.]],
                         ids=["numpy_scalar", "numpy_0d", "nan", "string", "list"])
def test_bad_temperatures_raise(temperature):
  with pytest.raises(ValueError, match="Expected temperature to be a number >= 0"):
    flow(tfd.Sample(tfd.Normal(0., 1.), [2])).sample(2, temperature=temperature)


def test_a_negative_temperature_tensor_raises_at_run_time():
  dist = flow(tfd.Sample(tfd.Normal(0., 1.), [2]))
  sample = tf.function(lambda t: dist.sample(2, temperature=t, seed=(1, 2)))
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected temperature >= 0"):
    sample(tf.constant(-1.))


def test_log_prob_names_the_flows_event_shape_not_an_internal_one():
  dist = tff.models.glow([4, 4, 1], levels=2, depth=1, hidden_channels=4, num_bins=4)
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 4, 4, 1\]. "
                                       r"Received: x.shape=\(2, 4, 4, 2\)"):
    dist.log_prob(tf.zeros([2, 4, 4, 2]))


# Conditional flows: `log_prob(x, context=c)`, `sample(n, context=c)`.

CONDITIONAL = sorted(tiny_models.CONDITIONAL_CASES)
SEED = tf.constant([3, 4])


def seeded(case):
  """log_prob kwargs that fix an image flow's dequantization noise."""
  return {"seed": SEED} if tiny_models.is_image(case) else {}


@pytest.mark.parametrize("case", CONDITIONAL)
def test_log_prob_with_a_context_is_the_bijector_kwargs_route_and_depends_on_it(case):
  dist = tiny_models.build_conditional(case)
  x, c = tiny_models.data(case, 6), tiny_models.context(case, 6)
  log_prob = dist.log_prob(x, context=c, **seeded(case))
  assert log_prob.shape == [6]
  assert np.all(np.isfinite(log_prob))
  encoded = tff.conditioning.encode(dist, c, dist.dtype)
  kwargs = tff.models.bijector_kwargs(dist, encoded, SEED if tiny_models.is_image(case) else None)
  np.testing.assert_allclose(log_prob, dist.log_prob(x, bijector_kwargs=kwargs), atol=1e-5)
  perturb_weights(dist)
  other = tiny_models.context(case, 6, seed=7)
  assert not np.allclose(dist.log_prob(x, context=c, **seeded(case)),
                         dist.log_prob(x, context=other, **seeded(case)), atol=1e-4)


def perturb_weights(dist):
  """Non-zero weights everywhere (zero-initialised outputs would ignore the context)."""
  rng = np.random.default_rng(5)
  for v in dist.trainable_variables:
    v.assign(v + 0.05 * rng.normal(size=v.shape).astype(v.dtype.as_numpy_dtype))


@pytest.mark.parametrize("case", CONDITIONAL)
def test_one_context_for_all_equals_it_repeated(case):
  dist = tiny_models.build_conditional(case)
  perturb_weights(dist)
  x, c = tiny_models.data(case, 5), tiny_models.context(case, 1)[0]
  repeated = np.repeat(c[np.newaxis], 5, axis=0)
  np.testing.assert_allclose(dist.log_prob(x, context=c, **seeded(case)),
                             dist.log_prob(x, context=repeated, **seeded(case)), atol=1e-5)


@pytest.mark.parametrize("case", CONDITIONAL)
def test_sample_shapes_for_one_context_and_for_a_batch_of_them(case):
  dist = tiny_models.build_conditional(case)
  event = dist.event_shape.as_list()
  contexts = tiny_models.context(case, 4)
  assert dist.sample(3, context=contexts[0], seed=(1, 2)).shape == [3] + event
  batch = dist.sample(3, context=contexts, seed=(1, 2))
  assert batch.shape == [3, 4] + event
  assert np.all(np.isfinite(batch))
  assert dist.sample([2, 3], context=contexts[:2], seed=(1, 2)).shape == [2, 3, 2] + event


@pytest.mark.parametrize("case", ["maf", "iaf", "nsf", "nsf_coupling"])
def test_sample_and_log_prob_with_contexts_gives_the_models_density(case):
  dist = tiny_models.build_conditional(case)
  perturb_weights(dist)
  contexts = tiny_models.context(case, 4)
  x, log_prob = dist.experimental_sample_and_log_prob(3, context=contexts, seed=(1, 2))
  assert x.shape == [3, 4, 2] and log_prob.shape == [3, 4]
  for i in range(4):  # Sample i of each row was drawn given contexts[i].
    np.testing.assert_allclose(log_prob[:, i], dist.log_prob(x[:, i], context=contexts[i]),
                               atol=1e-4)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_contexts_work_in_tf_function_and_xla(jit_compile):
  dist = tiny_models.build_conditional("nsf")
  x, c = tiny_models.data("nsf", 5), tiny_models.context("nsf", 5)
  log_prob = tf.function(lambda x, c: dist.log_prob(x, context=c), jit_compile=jit_compile)
  np.testing.assert_allclose(log_prob(x, c), dist.log_prob(x, context=c), atol=1e-5)
  sample = tf.function(lambda c: dist.sample(2, context=c, seed=(1, 2)), jit_compile=jit_compile)
  assert sample(c).shape == [2, 5, 2]


@pytest.mark.parametrize("call", [
    lambda d, x, c: d.log_prob(x),
    lambda d, x, c: d.sample(2),
], ids=["log_prob", "sample"])
def test_a_conditional_flow_given_no_context_raises(call):
  dist = tiny_models.build_conditional("maf")
  with pytest.raises(ValueError, match=r"Expected a context for the conditional flow 'maf' "
                     r"\(a context \[\.\.\., 3\]\)\. Received: context=None"):
    call(dist, tiny_models.data("maf", 4), None)


def test_an_unconditional_flow_given_a_context_raises():
  dist = tiny_models.build("maf")
  with pytest.raises(ValueError, match=r"Expected no context: the flow 'maf' is unconditional"):
    dist.log_prob(tiny_models.data("maf", 4), context=np.zeros([4, 3], np.float32))
  with pytest.raises(ValueError, match="is unconditional"):
    dist.sample(2, context=np.zeros([3], np.float32))


@pytest.mark.parametrize("context,message", [
    (np.zeros([4, 2], np.float32), r"Expected a context of shape \[\.\.\., 3\] for the flow "
                                   r"'maf'\. Received: context\.shape=\(4, 2\)"),
    (np.zeros([3, 3], np.float32), r"Expected one context per example \(batch shape \[4\]\) or "
                                   r"one for all\. Received: contexts of batch shape \[3\]"),
    (np.array(["a"] * 4), "Expected a real-valued context"),
], ids=["event_shape", "batch_shape", "dtype"])
def test_a_context_of_the_wrong_shape_or_dtype_raises(context, message):
  dist = tiny_models.build_conditional("maf")
  with pytest.raises(ValueError, match=message):
    dist.log_prob(tiny_models.data("maf", 4), context=context)


def test_bijector_kwargs_alone_still_reach_a_conditional_flow_as_in_tfp():
  dist = tiny_models.build_conditional("maf")
  c = tiny_models.context("maf", 4)
  kwargs = tff.models.bijector_kwargs(dist, c)
  x = dist.sample(4, seed=(1, 2), bijector_kwargs=kwargs)  # One sample per context row.
  assert x.shape == [4, 2]
  np.testing.assert_allclose(dist.log_prob(x, bijector_kwargs=kwargs),
                             dist.log_prob(x, context=c), atol=1e-5)


def test_a_context_and_bijector_kwargs_together_raise():
  dist = tiny_models.build_conditional("maf")
  c = tiny_models.context("maf", 4)
  kwargs = tff.models.bijector_kwargs(dist, c)
  both = "Expected a context or seed, or bijector_kwargs, not both. Received: bijector_kwargs"
  with pytest.raises(ValueError, match=f"{both} and context"):
    dist.log_prob(tiny_models.data("maf", 4), context=c, bijector_kwargs=kwargs)
  with pytest.raises(ValueError, match=f"{both} and context"):
    dist.sample(4, context=c, bijector_kwargs=kwargs)
  glow = tiny_models.build("glow")
  with pytest.raises(ValueError, match=f"{both} and seed"):
    glow.log_prob(tiny_models.data("glow", 4), seed=SEED,
                  bijector_kwargs=tff.models.bijector_kwargs(glow, seed=SEED))


def test_seeded_log_prob_repeats_the_dequantization_noise_and_needs_one():
  dist = tiny_models.build("glow")
  x = tiny_models.data("glow", 4)
  np.testing.assert_array_equal(dist.log_prob(x, seed=SEED), dist.log_prob(x, seed=SEED))
  assert not np.allclose(dist.log_prob(x, seed=SEED), dist.log_prob(x, seed=SEED + 1))
  with pytest.raises(ValueError, match="Expected seed only for a flow with a dequantization"):
    tiny_models.build("maf").log_prob(tiny_models.data("maf", 4), seed=SEED)


@pytest.mark.parametrize("labels,message", [
    ([0, 1, 2, 3], r"Expected class labels in \[0, 3\) \(num_classes=3\)\. Received: context "
                   "holding 3"),
    ([0, 1, -1, 2], "holding -1"),
    ([0.5, 1, 2, 0], "holding 0.5"),
    (np.array(["a"] * 4), "Expected integer class labels"),
])
def test_bad_class_labels_raise(labels, message):
  dist = tiny_models.build_conditional("glow_learned_prior")
  with pytest.raises(ValueError, match=message):
    dist.log_prob(tiny_models.data("glow", 4), context=labels)


def test_a_bad_label_tensor_raises_at_run_time():
  dist = tiny_models.build_conditional("glow_learned_prior")
  log_prob = tf.function(lambda x, k: dist.log_prob(x, context=k))
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected class labels in \[0, 3\)"):
    log_prob(tiny_models.data("glow", 4), tf.constant([0, 1, 2, 5]))


def test_float_labels_holding_integers_are_labels():
  dist = tiny_models.build_conditional("glow_learned_prior")
  x = tiny_models.data("glow", 4)
  np.testing.assert_allclose(dist.log_prob(x, context=np.float32([0, 1, 2, 1]), seed=SEED),
                             dist.log_prob(x, context=[0, 1, 2, 1], seed=SEED), atol=1e-6)


def test_log_prob_per_class_is_log_prob_given_each_label_with_one_noise_draw():
  dist = tiny_models.build_conditional("glow_learned_prior")
  perturb_weights(dist)
  x = tiny_models.data("glow", 5)
  per_class = dist.log_prob_per_class(x, seed=SEED)
  assert per_class.shape == [5, 3]
  for k in range(3):
    np.testing.assert_allclose(per_class[:, k], dist.log_prob(x, context=k, seed=SEED), atol=1e-5)
  assert not np.allclose(per_class[:, 0], per_class[:, 1])
  with pytest.raises(ValueError, match="Expected a class-conditional flow"):
    tiny_models.build_conditional("maf").log_prob_per_class(tiny_models.data("maf", 2))


def test_conditional_event_shape_and_num_classes_describe_the_context():
  assert tiny_models.build("maf").conditional_event_shape is None
  assert tiny_models.build_conditional("nsf").conditional_event_shape == [3]
  assert tiny_models.build_conditional("nsf").num_classes is None
  labelled = tiny_models.build_conditional("flowpp")
  assert labelled.conditional_event_shape == [3] and labelled.num_classes == 3
