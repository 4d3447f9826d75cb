"""Builders: densities integrate to 1, shapes, conditional kwargs, a short stable fit."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp
from sklearn import datasets

import tfp_flows as tff
from tests import fitting

tfd = tfp.distributions

BUILDERS = {
    "maf": lambda **kw: tff.models.maf(2, num_layers=2, hidden_units=(16,), **kw),
    "iaf": lambda **kw: tff.models.iaf(2, num_layers=2, hidden_units=(16,), **kw),
    "mixture_cdf_flow": lambda **kw: tff.models.mixture_cdf_flow(2, num_components=3,
                                                                 hidden_units=(16,), **kw),
    "maf_mixture_normal_base": lambda **kw: tff.models.maf(
        2, num_layers=2, hidden_units=(16,), transform="mixture_cdf", num_components=3, **kw),
    "maf_standardized": lambda **kw: tff.models.maf(
        2, num_layers=2, hidden_units=(16,), standardize=STANDARDIZE, **kw),
}
STANDARDIZE = ([0.5, -1.], [2., 0.5])


def perturb(dist, seed=0):
  """Random weights of a visible size, so the density is far from the base."""
  rng = np.random.default_rng(seed)
  for v in dist.trainable_variables:
    v.assign(rng.normal(size=v.shape) * 0.25)
  return dist


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_2d_density_integrates_to_one(name):
  dist = perturb(BUILDERS[name](dtype=tf.float64))
  grid = np.linspace(-30., 30., 901)
  xx, yy = np.meshgrid(grid, grid, indexing="ij")
  points = np.stack([xx.ravel(), yy.ravel()], -1)
  density = np.exp(dist.log_prob(points).numpy()).reshape(xx.shape)
  inside = np.trapezoid(np.trapezoid(density, grid, axis=1), grid)
  # Heavy (logistic) tails leave a little mass beyond the grid: estimate it by sampling.
  samples = dist.sample(50000, seed=3).numpy()
  outside = np.mean(np.any(np.abs(samples) > grid[-1], axis=-1))
  assert outside < 0.01
  np.testing.assert_allclose(inside + outside, 1., atol=1.5e-3)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_sample_and_log_prob_shapes_and_consistency(name):
  dist = perturb(BUILDERS[name]())
  assert isinstance(dist, tfd.Distribution) and dist.bijector is not None
  assert dist.event_shape == [2] and dist.batch_shape == []
  x = dist.sample([3, 4], seed=1)
  assert x.shape == (3, 4, 2)
  cached = dist.log_prob(x)
  fresh = dist.log_prob(tf.identity(x))  # No bijector cache: the density direction.
  np.testing.assert_allclose(cached, fresh, atol=2e-4)
  assert len(dist.trainable_variables) > 0


def test_layers_alternate_orders_and_have_names():
  dist = tff.models.maf(3, num_layers=3, hidden_units=(8,))
  names = [b.name for b in dist.bijector.bijectors]
  assert names == ["maf_2", "maf_reverse_2", "maf_1", "maf_reverse_1", "maf_0"]


def test_conditional_builder_with_bijector_kwargs():
  dist = perturb(tff.models.maf(2, num_layers=2, hidden_units=(8,), conditional_event_shape=[1]))
  x = tf.random.normal([5, 2])
  lp = [dist.log_prob(x, bijector_kwargs=tff.models.bijector_kwargs(dist, tf.fill([5, 1], c)))
        for c in (0., 1.)]
  assert not np.allclose(lp[0], lp[1])
  kwargs = tff.models.bijector_kwargs(dist, tf.ones([5, 1]))
  samples = dist.sample(5, seed=2, bijector_kwargs=kwargs)
  np.testing.assert_allclose(dist.log_prob(samples, bijector_kwargs=kwargs),
                             dist.log_prob(tf.identity(samples), bijector_kwargs=kwargs),
                             atol=1e-4)


def test_short_fit_on_two_moons_is_stable_and_learns():
  x = datasets.make_moons(512, noise=0.1, random_state=0)[0].astype(np.float32)
  for seed in (0, 1):
    tf.random.set_seed(seed)
    dist = tff.models.maf(2, num_layers=3, hidden_units=(32, 32), seed=seed)
    losses = fitting.full_batch_losses(dist, x, 150)
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0] - 0.5, (losses[0], losses[-1])


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_layers=0), "Expected num_layers to be an int >= 1"),
    (dict(base="cauchy"), "Expected base in"),
    (dict(hidden_units=()), "Expected hidden_units to be a non-empty list"),
    (dict(transform="cubic"), "Expected transform in"),
])
def test_raises_on_bad_arguments(kwargs, match):
  with pytest.raises(ValueError, match=match):
    tff.models.maf(2, **kwargs)


@pytest.mark.parametrize("builder,kwargs", [
    (tff.models.maf, {}), (tff.models.iaf, {}), (tff.models.mixture_cdf_flow, {}),
    (tff.models.nsf, {}), (tff.models.nsf, {"coupling": True})])
def test_standardize_models_the_standardised_data_with_the_log_prob_of_the_data(builder,
                                                                               kwargs):
  shift, scale = np.array(STANDARDIZE[0]), np.array(STANDARDIZE[1])
  plain = perturb(builder(2, seed=0, **kwargs))
  standardized = builder(2, seed=0, standardize=STANDARDIZE, **kwargs)
  for u, v in zip(plain.trainable_variables, standardized.trainable_variables):
    v.assign(u)
  x = np.random.default_rng(1).normal(size=(5, 2)) * 3.
  np.testing.assert_allclose(standardized.log_prob(x),
                             plain.log_prob((x - shift) / scale) - np.sum(np.log(scale)),
                             rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(standardized.sample(4, seed=[2, 3]),
                             plain.sample(4, seed=[2, 3]) * scale + shift, rtol=1e-5, atol=1e-5)
  assert len(standardized.trainable_variables) == len(plain.trainable_variables)  # Fixed.


@pytest.mark.parametrize("standardize,match", [
    ((0., 1., 2.), "Expected standardize=\\(shift, scale\\), two numbers"),
    (([0., 0., 0.], 1.), "of 1 or event_size=2 numbers each"),
    ((0., [1., 0.]), "finite scales > 0"),
    ((np.nan, 1.), "finite shift"),
])
def test_bad_standardize_raises(standardize, match):
  with pytest.raises(ValueError, match=match):
    tff.models.maf(2, standardize=standardize)


def test_mixture_cdf_flow_raises_on_bad_components():
  with pytest.raises(ValueError, match="Expected num_components to be an int >= 1"):
    tff.models.mixture_cdf_flow(2, num_components=0)


def test_seed_fixes_every_weight():
  a, b = (tff.models.maf(2, num_layers=2, hidden_units=[4], seed=3) for _ in range(2))
  for u, v in zip(a.trainable_variables, b.trainable_variables):
    np.testing.assert_array_equal(u.numpy(), v.numpy())
