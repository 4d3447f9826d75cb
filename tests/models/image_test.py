"""RealNVP (masked and packed checkerboards) and Glow builders: shared checks on tiny images,
the dequantized bound, sampling, one network pass per coupling, ActNorm start, a short fit,
class-conditional flows, gradient checkpointing, errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfb = tfp.bijectors
tfd = tfp.distributions

SHAPE = [4, 4, 2]
BUILDERS = {
    "realnvp": lambda **kw: tff.models.realnvp(SHAPE, num_scales=2, hidden_channels=4,
                                               num_blocks=1, **kw),
    "realnvp_packed": lambda **kw: tff.models.realnvp(SHAPE, num_scales=2, hidden_channels=4,
                                                      num_blocks=1, checkerboard="packed", **kw),
    "glow": lambda **kw: tff.models.glow(SHAPE, levels=2, depth=2, hidden_channels=4, seed=0,
                                         **kw),
    "glow_learned_prior": lambda **kw: tff.models.glow(SHAPE, levels=2, depth=2,
                                                       hidden_channels=4, seed=0,
                                                       learned_prior=True, **kw),
}
# Gradient checkpointing and the label do not depend on the checkerboard's form (a label
# reaches a packed coupling's network as the vector it is: coupling_test checks that
# context): the packed RealNVP runs the other tests only.
MASK_BLIND = sorted(name for name in BUILDERS if name != "realnvp_packed")


def perturbed(name, **kwargs):
  """Every variable moved off its identity-like start, the same at every run."""
  keras.utils.set_random_seed(0)
  dist = BUILDERS[name](**kwargs)
  rng = np.random.default_rng(0)
  for v in dist.trainable_variables:
    v.assign_add(rng.normal(size=v.shape) * 0.1)
  return dist


def integer_images(n, num_bins, shape=SHAPE, seed=0):
  return tf.constant(np.random.default_rng(seed).integers(0, num_bins, [n] + shape),
                     tf.float32)


# The packed checkerboard's couplings pass the shared checks in both dtypes and with both
# context kinds in coupling_test; here its whole flow once, in float64 with the logit.
WHOLE_FLOW_CASES = [(name, dtype, alpha) for name in sorted(BUILDERS)
                    for dtype, alpha in ((tf.float32, None), (tf.float64, 0.05))
                    if not (name == "realnvp_packed" and dtype == tf.float32)]


@pytest.mark.parametrize("name,dtype,logit_alpha", WHOLE_FLOW_CASES,
                         ids=[f"{n}-{'f32' if d == tf.float32 else 'f64-logit'}"
                              for n, d, _ in WHOLE_FLOW_CASES])
def test_shared_bijector_checks_on_the_whole_flow(name, dtype, logit_alpha):
  dist = perturbed(name, num_bins=None, logit_alpha=logit_alpha, dtype=dtype)
  scale = 1. if logit_alpha is None else 0.5  # Keeps x inside (0, 1) away from the edges.
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + SHAPE) * scale, dtype)
  bijector_checks.check_bijector(dist.bijector, z, event_ndims=3)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_log_prob_of_integer_images_is_the_dequantized_bound(name):
  dist = perturbed(name, num_bins=17)
  x = integer_images(6, 17)
  seed = tf.constant([4, 5])
  log_prob = dist.log_prob(x, bijector_kwargs=tff.models.bijector_kwargs(dist, seed=seed))
  dequantization, *continuous = dist.bijector.bijectors
  x_tilde = dequantization.inverse(tf.identity(x), seed=seed)
  assert np.all((x_tilde >= x / 17.) & (x_tilde < (x + 1.) / 17.))
  continuous = tfd.TransformedDistribution(dist.distribution, tfb.Chain(continuous))
  np.testing.assert_allclose(
      tff.metrics.bits_per_dim(log_prob, SHAPE),
      tff.metrics.bits_per_dim(continuous.log_prob(x_tilde), SHAPE, num_bins=17), rtol=1e-6)
  np.testing.assert_allclose(log_prob, continuous.log_prob(x_tilde) - 32 * np.log(17.),
                             rtol=1e-6)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_samples_are_integer_images_in_range_at_any_temperature(name):
  dist = perturbed(name, num_bins=17)
  for temperature in (1.0, 0.7):
    x = dist.sample(50, temperature=temperature, seed=(1, 2)).numpy()
    assert x.shape == (50, *SHAPE)
    np.testing.assert_array_equal(x, np.round(x))
    assert x.min() >= 0 and x.max() <= 16
  assert np.all(np.isfinite(dist.log_prob(x)))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_log_prob_runs_each_coupling_network_once(name):
  dist = BUILDERS[name](num_bins=17)
  couplings = [m for m in dist.bijector.submodules
               if isinstance(m, tff.bijectors.AffineCoupling)]
  assert len(couplings) == {"realnvp": 10, "realnvp_packed": 10, "glow": 4,
                            "glow_learned_prior": 4}[name]
  calls = []
  for coupling in couplings:
    network = coupling.network
    network.call = (lambda call: lambda x: calls.append(1) or call(x))(network.call)
  dist.log_prob(integer_images(3, 17))
  assert len(calls) == len(couplings)


def test_glow_act_norms_start_from_the_first_batch():
  dist = BUILDERS["glow"](num_bins=17)
  act_norms = [m for m in dist.bijector.submodules if isinstance(m, tff.bijectors.ActNorm)]
  assert len(act_norms) == 4
  x = integer_images(64, 17)
  assert tff.bijectors.initialize_act_norms(dist, x) == 4
  assert all(a.initialized.numpy() for a in act_norms)
  # The last ActNorm normalised its input: the 1x1 conv after it sees unit variance.
  assert all(np.all(a.log_scale.numpy() != 0.) for a in act_norms)
  assert tff.bijectors.initialize_act_norms(dist, x) == 0


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_short_fit_lowers_the_test_bits_per_dim(name):
  train = tff.data.digits("train")[:256]
  test = tff.data.digits("test")[:128]
  dist = (tff.models.realnvp([8, 8, 1], num_scales=2, hidden_channels=8, num_blocks=1,
                             num_bins=17, checkerboard="packed" if "packed" in name else "masked")
          if name.startswith("realnvp") else
          tff.models.glow([8, 8, 1], levels=2, depth=2, hidden_channels=16, num_bins=17,
                          seed=0, learned_prior=name == "glow_learned_prior"))
  tff.bijectors.initialize_act_norms(dist, train[:128])
  bpd = lambda x: tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x), [8, 8, 1]))
  before = bpd(test).numpy()
  optimizer = tf.keras.optimizers.Adam(3e-3)

  @tf.function
  def step(x):
    with tf.GradientTape() as tape:
      loss = bpd(x)
    optimizer.apply_gradients(zip(tape.gradient(loss, dist.trainable_variables),
                                  dist.trainable_variables))
    return loss

  for i in range(60):
    step(train[(i % 4) * 64:(i % 4 + 1) * 64])
  after = bpd(test).numpy()
  assert np.isfinite(after) and after < before - 0.3, (before, after)


def test_learned_prior_starts_standard_and_is_glows_conditional_normal():
  shape = [2, 2, 4]
  prior = tff.models.image.split_prior(shape, tf.float64, False, "prior")
  x = tf.constant(np.random.default_rng(0).normal(size=[5] + shape))
  np.testing.assert_array_equal(prior.inverse(x), x)  # Zero start: the standard prior.
  np.testing.assert_array_equal(prior.inverse_log_det_jacobian(x, event_ndims=3), 0.)
  rng = np.random.default_rng(1)
  for v in prior.trainable_variables:
    v.assign(rng.normal(size=v.shape) * 0.3)
  factored, rest = x[..., :2], x[..., 2:]  # FactorOut's split: the first C // 2 channels.
  params = prior.network(rest)
  mean, log_scale = params[..., 0], 3. * tf.tanh(params[..., 1] / 3.)
  expected = tf.reduce_sum(tfd.Normal(mean, tf.exp(log_scale)).log_prob(factored), [1, 2, 3])
  standard = tfd.Normal(tf.constant(0., tf.float64), 1.)
  z = prior.inverse(tf.identity(x))
  actual = (tf.reduce_sum(standard.log_prob(z[..., :2]), [1, 2, 3])
            + prior.inverse_log_det_jacobian(tf.identity(x), event_ndims=3))
  np.testing.assert_allclose(actual, expected, rtol=1e-12)
  np.testing.assert_array_equal(z[..., 2:], rest)


def test_learned_prior_adds_one_prior_per_split():
  for levels in (2, 3):
    dist = tff.models.glow([8, 8, 1], levels=levels, depth=1, hidden_channels=4,
                           learned_prior=True)
    priors = [m for m in dist.bijector.submodules if isinstance(m, tff.bijectors.Coupling)
              and not isinstance(m, tff.bijectors.AffineCoupling)]
    assert len(priors) == levels - 1


@pytest.mark.parametrize("builder,kwargs,match", [
    (tff.models.realnvp, dict(image_shape=[8, 8]), r"Expected image_shape \[H, W, C\]"),
    (tff.models.realnvp, dict(image_shape=[6, 6, 1], num_scales=3),
     "Expected H and W divisible by 4 for this num_scales"),
    (tff.models.glow, dict(image_shape=[4, 4, 1], levels=3),
     "Expected H and W divisible by 8 for this levels"),
    (tff.models.realnvp, dict(image_shape=[4, 4, 1], num_scales=0),
     "Expected num_scales to be an int >= 1"),
    (tff.models.glow, dict(image_shape=[4, 4, 1], levels=1, depth=0),
     "Expected depth to be an int >= 1"),
    (tff.models.glow, dict(image_shape=[4, 4, 1], levels=1, num_classes=0),
     "Expected num_classes to be an int >= 1. Received: num_classes=0"),
    (tff.models.realnvp, dict(image_shape=[4, 4, 1], num_classes=2.5),
     "Expected num_classes to be an int >= 1. Received: num_classes=2.5"),
    (tff.models.flowpp, dict(image_shape=[4, 4, 1], levels=1, num_classes=True),
     "Expected num_classes to be an int >= 1. Received: num_classes=True"),
    (tff.models.glow, dict(image_shape=[4, 4, 1], levels=1, recompute_gradients="yes"),
     "Expected recompute_gradients to be True or False. Received: recompute_gradients='yes'"),
    (tff.models.realnvp, dict(image_shape=[4, 4, 1], recompute_gradients=1),
     "Expected recompute_gradients to be True or False. Received: recompute_gradients=1"),
    (tff.models.realnvp, dict(image_shape=[4, 4, 1], checkerboard="dense"),
     "Expected checkerboard='masked' or 'packed'. Received: checkerboard='dense'"),
    (tff.models.realnvp, dict(image_shape=[12, 12, 1], num_scales=3, checkerboard="packed"),
     r"Expected an image width divisible by 2 \*\* num_scales = 8 for checkerboard='packed' "
     r"\(the checkerboard couplings of every scale pack half of each row\)\. Received: "
     r"image_shape=\[12, 12, 1\], num_scales=3"),
])
def test_raises_on_bad_shapes_and_counts(builder, kwargs, match):
  with pytest.raises(ValueError, match=match):
    builder(**kwargs)


def test_validate_args_rejects_non_integer_and_out_of_range_images():
  dist = BUILDERS["glow"](num_bins=17, validate_args=True)
  tff.bijectors.initialize_act_norms(dist, integer_images(8, 17))
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected integer levels"):
    dist.log_prob(integer_images(2, 17) + 0.5)
  with pytest.raises(tf.errors.InvalidArgumentError, match=r"Expected x in \[0, 16\]"):
    dist.log_prob(integer_images(2, 17) + 17.)


@pytest.mark.parametrize("name", MASK_BLIND)
def test_shared_bijector_checks_of_a_class_conditional_flow(name):
  dist = perturbed(name, num_bins=None, logit_alpha=None, num_classes=3)
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + SHAPE), tf.float32)
  labels = np.random.default_rng(2).integers(0, 3, [2, 3])
  context = tff.conditioning.encode(dist, labels, tf.float32)
  bijector_checks.check_bijector(dist.bijector, z, event_ndims=3,
                                 kwargs=tff.models.bijector_kwargs(dist, context))


@pytest.mark.parametrize("name", MASK_BLIND)
def test_a_class_conditional_flow_starts_label_blind_and_then_depends_on_the_label(name):
  dist = BUILDERS[name](num_bins=4, num_classes=3)
  x, seed = integer_images(6, 4), tf.constant([1, 2])
  tff.bijectors.initialize_act_norms(dist, x, conditional_input=tf.one_hot([0] * 6, 3))
  start = [dist.log_prob(x, context=k, seed=seed) for k in range(3)]
  np.testing.assert_allclose(start[1], start[0], atol=1e-5)  # Zero-initialised outputs.
  np.testing.assert_allclose(start[2], start[0], atol=1e-5)
  rng = np.random.default_rng(0)
  for v in dist.trainable_variables:
    v.assign_add(rng.normal(size=v.shape) * 0.1)
  assert not np.allclose(dist.log_prob(x, context=0, seed=seed),
                         dist.log_prob(x, context=1, seed=seed), atol=1e-3)


def test_the_learned_prior_of_a_class_conditional_glow_sees_the_label():
  dist = BUILDERS["glow_learned_prior"](num_bins=None, logit_alpha=None, num_classes=3)
  priors = [b for b in tff.bijectors.walk.leaves(dist) if b.name.endswith("_prior")]
  assert priors and all(p.conditional_event_shape == [3] for p in priors)


# recompute_gradients=True: the coupling networks run under tf.recompute_grad.


def plain_and_recomputed(name, **kwargs):
  """The flow built without and with `recompute_gradients`, both holding the same values
  (the first's, ActNorms started on a batch, copied into the second)."""
  plain = perturbed(name, recompute_gradients=False, **kwargs)
  recomputed = perturbed(name, recompute_gradients=True, **kwargs)
  tff.bijectors.initialize_act_norms(plain, integer_images(8, 17),
                                     **labels_kwargs(plain, 8, "conditional_input"))
  for source, target in zip(plain.variables, recomputed.variables, strict=True):
    assert source.shape == target.shape
    target.assign(source)
  return plain, recomputed


def labels_kwargs(dist, n, key="context"):
  """`{"context": class labels}` (or `{"conditional_input": one-hot labels}`) for a
  class-conditional flow, `{}` for another."""
  if dist.num_classes is None:
    return {}
  labels = np.random.default_rng(3).integers(0, dist.num_classes, [n])
  return {key: labels if key == "context" else tf.one_hot(labels, dist.num_classes)}


def loss_and_gradients(dist, x, mode="eager"):
  """Mean negative log-likelihood (fixed dequantization noise) and its gradient with
  respect to every trainable variable, run eagerly, as a tf.function or compiled by XLA."""
  context = labels_kwargs(dist, x.shape[0])

  def run(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(x, seed=tf.constant([1, 2]), **context))
    return loss, tape.gradient(loss, dist.trainable_variables)

  if mode != "eager":
    run = tf.function(run, jit_compile=mode == "xla")
  return run(x)


def network_variables(dist):
  return [v.value for m in dist.bijector.submodules if isinstance(m, tff.bijectors.Coupling)
          for v in m.network.trainable_weights]


def assert_same_loss_and_gradients(plain, recomputed, mode):
  x = integer_images(6, 17)
  loss, gradients = loss_and_gradients(plain, x, mode)
  recomputed_loss, recomputed_gradients = loss_and_gradients(recomputed, x, mode)
  np.testing.assert_allclose(recomputed_loss, loss, rtol=1e-6)
  assert len(recomputed_gradients) == len(gradients) == len(plain.trainable_variables)
  for variable, g0, g1 in zip(plain.trainable_variables, gradients, recomputed_gradients):
    assert g0 is not None and g1 is not None, variable.name
    np.testing.assert_allclose(g1, g0, rtol=1e-5, atol=1e-6, err_msg=variable.name)


@pytest.mark.parametrize("mode", ["eager", "function"])
@pytest.mark.parametrize("name", MASK_BLIND)
def test_recompute_gradients_keeps_log_prob_and_every_gradient(name, mode):
  plain, recomputed = plain_and_recomputed(name, num_bins=17)
  x = integer_images(6, 17)
  seed = tf.constant([1, 2])
  np.testing.assert_array_equal(recomputed.log_prob(x, seed=seed), plain.log_prob(x, seed=seed))
  assert_same_loss_and_gradients(plain, recomputed, mode)


@pytest.mark.parametrize("name", ["glow_learned_prior", "realnvp"])
def test_recompute_gradients_keeps_every_gradient_of_a_class_conditional_flow_under_xla(name):
  plain, recomputed = plain_and_recomputed(name, num_bins=17, num_classes=3)
  assert_same_loss_and_gradients(plain, recomputed, "xla")


@pytest.mark.parametrize("name", MASK_BLIND)
def test_recompute_gradients_gives_every_network_variable_a_gradient(name):
  _, recomputed = plain_and_recomputed(name, num_bins=17)
  networks = [m.network for m in recomputed.bijector.submodules
              if isinstance(m, tff.bijectors.AffineCoupling)]
  assert networks and all(isinstance(n, tff.nn._recompute.Recomputed) for n in networks)
  variables = network_variables(recomputed)
  listed = {v.ref() for v in recomputed.trainable_variables}
  assert variables and all(v.ref() in listed for v in variables)
  _, gradients = loss_and_gradients(recomputed, integer_images(6, 17), "function")
  by_variable = {v.ref(): g for v, g in zip(recomputed.trainable_variables, gradients)}
  for v in variables:  # Perturbed weights: every gradient is nonzero.
    assert by_variable[v.ref()] is not None and np.any(by_variable[v.ref()] != 0.), v.name


def test_recompute_gradients_runs_each_network_again_in_the_backward_pass():
  dist = BUILDERS["glow"](num_bins=17, recompute_gradients=True)
  networks = [m.network.network for m in dist.bijector.submodules
              if isinstance(m, tff.bijectors.AffineCoupling)]
  calls = []
  for network in networks:
    network.call = (lambda call: lambda x: calls.append(1) or call(x))(network.call)
  with tf.GradientTape() as tape:
    loss = -tf.reduce_mean(dist.log_prob(integer_images(3, 17)))
  assert len(calls) == len(networks) == 4
  tape.gradient(loss, dist.trainable_variables)
  assert len(calls) == 2 * len(networks)


@pytest.mark.parametrize("name", ["glow", "realnvp"])
def test_a_short_fit_with_recompute_gradients_trains_as_the_plain_flow(name):
  models = [tff.keras.FlowModel(dist, seed=0) for dist in plain_and_recomputed(name, num_bins=17)]
  x = integer_images(32, 17).numpy()
  for model in models:
    model.compile(keras.optimizers.Adam(1e-2))
    history = model.fit(x, batch_size=16, epochs=2, verbose=0).history
    assert np.all(np.isfinite(history["loss"]))
  plain, recomputed = (model.distribution for model in models)
  moved = 0
  for v0, v1, start in zip(plain.trainable_variables, recomputed.trainable_variables,
                           perturbed(name, num_bins=17).trainable_variables):
    np.testing.assert_allclose(v1, v0, rtol=1e-4, atol=1e-5, err_msg=v0.name)
    moved += not np.allclose(v1, start)
  assert moved == len(plain.trainable_variables) > 0


def test_recompute_gradients_is_in_the_recipe_and_survives_a_save_and_reload(tmp_path):
  dist = BUILDERS["glow"](num_bins=17, num_classes=3, recompute_gradients=True)
  assert dist.recipe["arguments"]["recompute_gradients"] is True
  assert BUILDERS["realnvp"]().recipe["arguments"]["recompute_gradients"] is False
  model = tff.keras.FlowModel(dist, seed=0)
  model.compile(keras.optimizers.Adam(1e-2))
  x, c = integer_images(16, 17).numpy(), np.arange(16) % 3
  model.fit(x, c, batch_size=16, epochs=1, verbose=0)
  path = str(tmp_path / "flow.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  assert loaded.distribution.recipe == dist.recipe
  assert all(isinstance(m.network, tff.nn._recompute.Recomputed)
             for m in loaded.distribution.bijector.submodules
             if isinstance(m, tff.bijectors.AffineCoupling))
  seed = tf.constant([1, 2])
  np.testing.assert_array_equal(loaded.log_prob(x, c, seed=seed), model.log_prob(x, c, seed=seed))


def test_packed_realnvp_is_the_masked_layout_with_half_width_checkerboard_networks():
  """Same couplings, masks and parameters; the checkerboard networks see `[H, W/2, C]`."""

  def couplings_and_network_inputs(dist):
    couplings = [m for m in dist.bijector.submodules
                 if isinstance(m, tff.bijectors.AffineCoupling)]
    inputs = {}
    for coupling in couplings:
      network = coupling.network
      network.call = (lambda call, name: lambda u: inputs.__setitem__(name, u.shape[1:])
                      or call(u))(network.call, coupling.name)
    dist.log_prob(integer_images(2, 17))
    return couplings, inputs

  masked, masked_inputs = couplings_and_network_inputs(BUILDERS["realnvp"](num_bins=17))
  packed, packed_inputs = couplings_and_network_inputs(BUILDERS["realnvp_packed"](num_bins=17))
  assert [c.name for c in packed] == [c.name for c in masked] == list(packed_inputs)
  assert sum("checkerboard" in c.name for c in packed) == 7
  for plain, half in zip(masked, packed):
    np.testing.assert_array_equal(half.mask, plain.mask)
    height, width, channels = masked_inputs[plain.name]
    expected = [height, width // 2 if "checkerboard" in plain.name else width, channels]
    assert packed_inputs[half.name].as_list() == expected, half.name
  assert ([v.shape for v in BUILDERS["realnvp_packed"]().trainable_variables]
          == [v.shape for v in BUILDERS["realnvp"]().trainable_variables])


def test_packed_checkerboard_is_in_the_recipe_and_survives_a_save_and_reload(tmp_path):
  dist = perturbed("realnvp_packed", num_bins=17)
  assert dist.recipe["arguments"]["checkerboard"] == "packed"
  assert BUILDERS["realnvp"]().recipe["arguments"]["checkerboard"] == "masked"
  model = tff.keras.FlowModel(dist, seed=0)
  path = str(tmp_path / "flow.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  assert loaded.distribution.recipe == dist.recipe
  x, seed = integer_images(4, 17), tf.constant([3, 4])
  np.testing.assert_array_equal(loaded.distribution.log_prob(x, seed=seed),
                                dist.log_prob(x, seed=seed))
