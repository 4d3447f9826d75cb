"""Coupling: shared checks for every transform and mask (spline inputs beyond its interval
included), the packed checkerboard's pixels and Jacobian, identity start, context reaching
the network, one network pass, recomputed gradients, errors."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import bijector_checks

tfd = tfp.distributions

SPLINE = tff.transformers.RationalQuadraticSpline(num_bins=4, bound=2.)
MIXTURE = tff.transformers.MixtureCDFLogit(3, affine=True)
CASES = [  # (event shape, mask, parity, transform)
    ([5], "half", 0, SPLINE),
    ([4], "checkerboard", 1, SPLINE),
    ([4, 4, 2], "channel", 1, SPLINE),
    ([4, 4, 2], "checkerboard", 0, SPLINE),
    ([4], "half", 1, MIXTURE),
    ([2, 2, 4], "channel", 0, MIXTURE),
    ([4], "half", 0, "spline"),
    ([4], "half", 0, "mixture_cdf"),
    ([4, 4, 2], "packed_checkerboard", 0, SPLINE),
    ([3, 4, 2], "packed_checkerboard", 1, MIXTURE),  # An odd height.
]
IDS = [f"{c[0]}-{c[1]}-{c[2]}-{c[3] if isinstance(c[3], str) else type(c[3]).__name__}"
       for c in CASES]


def perturbed(event_shape, mask, parity, transform, dtype, scale=0.3, **kwargs):
  bijector = tff.bijectors.Coupling(event_shape, mask, parity, transform=transform,
                                    hidden_units=(8,), hidden_channels=4, num_blocks=1,
                                    dtype=dtype, **kwargs)
  rng = np.random.default_rng(0)
  for v in bijector.network.weights:  # Away from the identity start.
    v.assign(rng.normal(size=v.shape) * scale)
  return bijector


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("event_shape,mask,parity,transform", CASES, ids=IDS)
def test_shared_bijector_checks(event_shape, mask, parity, transform, dtype):
  bijector = perturbed(event_shape, mask, parity, transform, dtype)
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + event_shape), dtype)
  bijector_checks.check_bijector(bijector, z, event_ndims=len(event_shape))


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
def test_spline_coupling_checks_hold_beyond_the_interval(dtype):
  """Inputs at 0.9-3x the bound: in, at and past the spline's edges (identity tails)."""
  bijector = perturbed([6], "half", 0, SPLINE, dtype)
  rng = np.random.default_rng(2)
  z = rng.uniform(0.9, 3., size=[2, 3, 6]) * rng.choice([-1., 1.], size=[2, 3, 6])
  z[0, 0] = [2., -2., 3., 2., -2., 0.]  # Exactly on the interval's edges.
  bijector_checks.check_bijector(bijector, tf.constant(z, dtype), event_ndims=1)


@pytest.mark.parametrize("parity", [0, 1])
def test_packed_checkerboard_transforms_the_checkerboard_pixels_from_half_width_packs(parity):
  """The packed checkerboard copies the checkerboard's pixels, feeds its network the copied
  pixels `[H, W/2, C]` and nothing else, and each transformed pixel depends on itself and
  the copied pixels only (a triangular Jacobian: the log-det's claim)."""
  event_shape = [3, 4, 1]
  bijector = perturbed(event_shape, "packed_checkerboard", parity, SPLINE, tf.float64)
  seen = []
  network = bijector.network
  network.call = (lambda call: lambda u, *a: seen.append(u.shape) or call(u, *a))(network.call)
  x = tf.constant(np.random.default_rng(5).uniform(-1.5, 1.5, size=[2] + event_shape))
  with tf.GradientTape() as tape:
    tape.watch(x)
    z = bijector.inverse(x)
  jacobian = tape.batch_jacobian(z, x).numpy().reshape(2, 12, 12)
  assert seen == [tf.TensorShape([2, 3, 2, 1])]
  copied = tff.bijectors.coupling.coupling_mask(event_shape, "checkerboard", parity)
  copied = copied.reshape(-1).astype(bool)
  np.testing.assert_array_equal(z.numpy().reshape(2, 12)[:, copied],
                                x.numpy().reshape(2, 12)[:, copied])
  assert np.all(z.numpy().reshape(2, 12)[:, ~copied] != x.numpy().reshape(2, 12)[:, ~copied])
  transformed_block = jacobian[:, ~copied][:, :, ~copied]
  np.testing.assert_array_equal(transformed_block * (1 - np.eye(6)), 0.)
  assert np.all(np.abs(jacobian[:, ~copied][:, :, copied]).sum(-1) > 0)  # It conditions.
  np.testing.assert_allclose(
      bijector.inverse_log_det_jacobian(x, event_ndims=3),
      np.log(np.abs(np.diagonal(transformed_block, axis1=1, axis2=2))).sum(-1), rtol=1e-10)


@pytest.mark.parametrize("transform", ["spline", tff.transformers.Affine()])
def test_identity_transforms_start_as_the_identity(transform):
  bijector = tff.bijectors.Coupling([4, 4, 2], "checkerboard", transform=transform,
                                    hidden_channels=4, num_blocks=1)
  x = tf.random.normal([3, 4, 4, 2]) * 3.
  np.testing.assert_allclose(bijector.inverse(x), x, atol=1e-6)
  np.testing.assert_allclose(bijector.inverse_log_det_jacobian(x, event_ndims=3), 0.,
                             atol=1e-5)


def test_affine_is_the_affine_coupling():
  coupling = tff.bijectors.Coupling([4], "half", transform="affine", hidden_units=(8,))
  affine = tff.bijectors.AffineCoupling([4], "half", network=coupling.network)
  x = tf.random.normal([5, 4])
  np.testing.assert_array_equal(coupling.inverse(x), affine.inverse(x))
  assert isinstance(coupling.transform, tff.transformers.GlowAffine)
  assert isinstance(affine.copy().transform, tff.transformers.GlowAffine)
  assert isinstance(tff.bijectors.AffineCoupling([4], shift_only=True).copy().transform,
                    tff.transformers.Additive)


@pytest.mark.parametrize("event_shape,mask,context_shape", [
    ([4], "half", [3]),
    ([4, 4, 2], "channel", [3]),
    ([4, 4, 2], "checkerboard", [4, 4, 1]),
    ([4, 4, 2], "packed_checkerboard", [4, 4, 1]),
    ([4, 4, 2], "packed_checkerboard", [3]),
])
def test_context_reaches_the_network(event_shape, mask, context_shape):
  bijector = perturbed(event_shape, mask, 0, SPLINE, tf.float64,
                       conditional_event_shape=context_shape)
  x = tf.constant(np.random.default_rng(3).normal(size=[2, 3] + event_shape))
  context = tf.constant(np.random.default_rng(4).normal(size=[2, 3] + context_shape))
  bijector_checks.check_bijector(bijector, x, event_ndims=len(event_shape),
                                 kwargs={"conditional_input": context})
  other = bijector.inverse(x, conditional_input=context + 1.)
  assert not np.allclose(other, bijector.inverse(x, conditional_input=context))


def test_context_is_required_exactly_when_declared_and_checked():
  conditional = perturbed([4], "half", 0, SPLINE, tf.float32, conditional_event_shape=[3])
  with pytest.raises(ValueError, match="Expected conditional_input exactly when"):
    conditional.inverse(tf.zeros([2, 4]))
  with pytest.raises(ValueError, match=r"Expected conditional_input of shape \[\.\.\., 3\]"):
    conditional.inverse(tf.zeros([2, 4]), conditional_input=tf.zeros([2, 1]))
  plain = perturbed([4], "half", 0, SPLINE, tf.float32)
  with pytest.raises(ValueError, match="Expected conditional_input exactly when"):
    plain.inverse(tf.zeros([2, 4]), conditional_input=tf.zeros([2, 3]))


@pytest.mark.parametrize("transform", ["spline", "mixture_cdf"])
def test_log_prob_runs_the_network_once(transform):
  bijector = tff.bijectors.Coupling([4], "half", transform=transform, hidden_units=(8,))
  calls = []
  network = bijector.network
  network.call = (lambda call: lambda *a: calls.append(1) or call(*a))(network.call)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [4]), bijector)
  dist.log_prob(tf.random.normal([3, 4]))
  assert len(calls) == 1
  x = dist.sample(3, seed=(1, 2))
  dist.log_prob(x)  # The sample's log-det came with it.
  assert len(calls) == 2


@pytest.mark.parametrize("event_shape,mask,parity,transform",
                         [CASES[2], CASES[4], CASES[5]], ids=[IDS[2], IDS[4], IDS[5]])
def test_recompute_gradients_keeps_outputs_and_gradients_and_passes_the_shared_checks(
    event_shape, mask, parity, transform):
  plain = perturbed(event_shape, mask, parity, transform, tf.float32)
  recomputed = perturbed(event_shape, mask, parity, transform, tf.float32,
                         recompute_gradients=True)
  assert isinstance(recomputed.network, tff.nn._recompute.Recomputed)
  z = tf.constant(np.random.default_rng(1).normal(size=[2, 3] + event_shape), tf.float32)
  bijector_checks.check_bijector(recomputed, z, event_ndims=len(event_shape))
  x = plain.forward(z)

  def log_det_and_gradients(bijector):
    with tf.GradientTape() as tape:
      log_det = bijector.inverse_log_det_jacobian(tf.identity(x), len(event_shape))
      loss = tf.reduce_sum(log_det) + tf.reduce_sum(bijector.inverse(tf.identity(x)) ** 2)
    return log_det, tape.gradient(loss, bijector.trainable_variables)

  (log_det, gradients), (log_det_again, gradients_again) = map(log_det_and_gradients,
                                                              (plain, recomputed))
  np.testing.assert_array_equal(log_det_again, log_det)
  assert len(gradients_again) == len(gradients) > 0
  for g, g_again in zip(gradients, gradients_again):
    np.testing.assert_allclose(g_again, g, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(transform="cubic"), "Expected transform in"),
    (dict(transform="spline", network=tf.keras.layers.Dense(4)),
     r"Expected the network to map \[\.\.\., 2\] to \[\.\.\., 2, 23\]"),
    (dict(mask="stripes"), "Expected mask in"),
    (dict(recompute_gradients="yes"), "Expected recompute_gradients to be True or False. "
     "Received: recompute_gradients='yes'"),
])
def test_raises_on_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tff.bijectors.Coupling([4], **{"mask": "half", **kwargs})


@pytest.mark.parametrize("event_shape,kwargs,match", [
    ([4, 5, 2], {}, r"Expected an image of even width for mask='packed_checkerboard' \(each "
     r"row packs half its pixels\)\. Received: event_shape=\[4, 5, 2\]"),
    ([4], {}, r"Expected mask='half' or 'checkerboard' for vectors \[D\].*Received: "
     r"mask='packed_checkerboard', event_shape=\[4\]"),
    ([4, 4, 2], dict(conditional_event_shape=[2, 2, 1]),
     r"Expected a vector context \[C\] or an image context of the image's height and width "
     r"\[4, 4, C'\] for mask='packed_checkerboard'\. Received: "
     r"conditional_event_shape=\[2, 2, 1\]"),
])
def test_packed_checkerboard_raises_on_shapes_it_cannot_pack(event_shape, kwargs, match):
  with pytest.raises(ValueError, match=match):
    tff.bijectors.Coupling(event_shape, "packed_checkerboard", **kwargs)
