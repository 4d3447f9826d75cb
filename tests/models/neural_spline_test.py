"""nsf: shared checks (inside and beyond the spline interval), density integrates to 1, the
identity start, conditional flows, a short fit, errors; autoregressive and coupling."""

import numpy as np
import pytest
import tensorflow as tf
from sklearn import datasets

import tfp_flows as tff
from tests import bijector_checks
from tests import fitting

VARIANTS = {"autoregressive": dict(coupling=False), "coupling": dict(coupling=True)}


def perturbed(variant, scale=0.3, **kwargs):
  dist = tff.models.nsf(**{"event_size": 3, "num_layers": 2, "hidden_units": (8,),
                           "num_bins": 4, "bound": 2., **VARIANTS[variant], **kwargs})
  rng = np.random.default_rng(0)
  for v in dist.trainable_variables:
    v.assign(rng.normal(size=v.shape) * scale)
  return dist


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_shared_bijector_checks_inside_and_beyond_the_interval(variant, dtype):
  dist = perturbed(variant, dtype=dtype)
  rng = np.random.default_rng(1)
  z = rng.normal(size=[2, 3, 3]) * 2.  # Some beyond the bound 2, some inside.
  z[0, 0] = [2., -2., 5.]
  bijector_checks.check_bijector(dist.bijector, tf.constant(z, dtype), event_ndims=1)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_2d_density_integrates_to_one(variant):
  dist = perturbed(variant, event_size=2, scale=0.5, dtype=tf.float64)
  grid = np.linspace(-6., 6., 1601)  # Fine: the perturbed splines have peaks of height ~12.
  xx, yy = np.meshgrid(grid, grid, indexing="ij")
  density = np.exp(dist.log_prob(np.stack([xx.ravel(), yy.ravel()], -1)).numpy())
  inside = np.trapezoid(np.trapezoid(density.reshape(xx.shape), grid, axis=1), grid)
  samples = dist.sample(20000, seed=(3, 4)).numpy()
  outside = np.mean(np.any(np.abs(samples) > grid[-1], axis=-1))
  assert outside < 1e-3
  np.testing.assert_allclose(inside + outside, 1., atol=1e-3)


def test_coupling_variant_starts_as_the_identity():
  """log p(x) = the base's: each coupling's network starts at zero output (no reversals)."""
  dist = tff.models.nsf(3, num_layers=2, hidden_units=(8,), seed=0, coupling=True)
  x = tf.random.normal([16, 3]) * 3.
  np.testing.assert_allclose(dist.bijector.inverse(x), x, atol=1e-5)
  np.testing.assert_allclose(dist.log_prob(x), dist.distribution.log_prob(x), atol=1e-5)


def test_autoregressive_variant_starts_with_small_spline_parameters():
  """MADE's small output layer: raw spline parameters near 0, the spline near the identity."""
  dist = tff.models.nsf(3, num_layers=2, hidden_units=(8,), seed=0)
  x = tf.random.normal([64, 3])
  for layer in [b for b in tff.bijectors.walk.leaves(dist) if hasattr(b, "made")]:
    assert np.max(np.abs(layer.made(x))) < 0.5


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_conditional_flow_takes_its_context_everywhere(variant):
  dist = perturbed(variant, conditional_event_shape=[2])
  context = tf.random.normal([5, 2])
  x = tf.random.normal([5, 3])
  kwargs = tff.models.bijector_kwargs(dist, context)
  assert len(kwargs) == 2  # Both spline layers.
  other = tff.models.bijector_kwargs(dist, context + 1.)
  assert not np.allclose(dist.log_prob(x, bijector_kwargs=kwargs),
                         dist.log_prob(x, bijector_kwargs=other))
  samples = dist.sample(5, seed=(1, 2), bijector_kwargs=kwargs)
  np.testing.assert_allclose(dist.log_prob(tf.identity(samples), bijector_kwargs=kwargs),
                             dist.log_prob(samples, bijector_kwargs=kwargs), atol=1e-4)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_a_short_fit_on_two_moons_learns(variant):
  x = datasets.make_moons(512, noise=0.1, random_state=0)[0].astype(np.float32)
  x = (x - x.mean(0)) / x.std(0)
  dist = tff.models.nsf(2, num_layers=2, hidden_units=(32, 32), seed=0, **VARIANTS[variant])
  losses = fitting.full_batch_losses(dist, x, 150)
  assert np.all(np.isfinite(losses))
  assert losses[-1] < losses[0] - 0.5, (losses[0], losses[-1])


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_bins=0), "Expected num_bins to be an int >= 1"),
    (dict(num_bins=2.5), "Expected num_bins to be an int >= 1"),
    (dict(bound=0.), "Expected bound to be a finite number > 0"),
    (dict(bound=float("inf")), "Expected bound to be a finite number > 0"),
    (dict(num_layers=0), "Expected num_layers to be an int >= 1"),
    (dict(event_size=1, coupling=True), "Expected event_size >= 2 for coupling=True"),
    (dict(dtype=tf.int32), "Expected a floating dtype"),
])
def test_raises_on_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tff.models.nsf(**{"event_size": 2, **kwargs})
