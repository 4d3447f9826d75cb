"""InverseAutoregressiveFlow: shared checks, one-pass sampling, relation to MAF."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tfp_flows.bijectors.autoregressive import _sequential
from tests import bijector_checks
from tests.bijectors.autoregressive.masked_autoregressive_test import assert_same_values_and_gradients
from tests.bijectors.autoregressive.masked_autoregressive_test import count_passes
from tests.bijectors.autoregressive.masked_autoregressive_test import dense_and_block_sparse
from tests.bijectors.autoregressive.masked_autoregressive_test import make_made
from tests.bijectors.autoregressive.masked_autoregressive_test import points

tfb, tfd = tfp.bijectors, tfp.distributions

CASES = [("affine", 2), ("mixture_cdf", 9), ("spline", 11)]


@pytest.mark.parametrize("dtype", [tf.float32, tf.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("transform,params", CASES, ids=[c[0] for c in CASES])
def test_shared_bijector_checks(transform, params, dtype):
  bijector = tff.bijectors.InverseAutoregressiveFlow(make_made(params, dtype=dtype, order="random"),
                                                     transform=transform)
  bijector_checks.check_bijector(bijector, points(dtype), event_ndims=1)


def test_conditional_shared_checks():
  bijector = tff.bijectors.InverseAutoregressiveFlow(make_made(2, conditional=[2]))
  context = tf.constant(np.random.default_rng(3).normal(size=(2, 3, 2)), tf.float32)
  bijector_checks.check_bijector(bijector, points(tf.float32), event_ndims=1,
                                 kwargs={"conditional_input": context})


@pytest.mark.parametrize("block_sparse", [False, True], ids=["dense", "block"])
def test_sampling_is_one_network_pass_and_density_is_d(block_sparse):
  made = make_made(2, block_sparse=block_sparse)
  calls = count_passes(made)
  bijector = tff.bijectors.InverseAutoregressiveFlow(made)
  dist = tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [3]), bijector)
  x = dist.sample(4, seed=1)
  dist.log_prob(x)  # Samples it drew: the forward pass already gave the log-det.
  assert len(calls) == 1
  calls.clear()
  bijector.inverse(points(tf.float32))
  assert len(calls) == 3


def test_is_the_inverse_of_a_maf_with_the_same_made():
  # IAF(made) and MAF(made) share the autoregressive structure: IAF.forward(z) solves the
  # same equation MAF.inverse does, in the other direction, when the transformer is inverted.
  made = make_made(2)
  iaf = tff.bijectors.InverseAutoregressiveFlow(made)
  z = points(tf.float32)
  x = iaf.forward(z)
  params = made(z)
  expected = tff.transformers.Affine().forward(z, params)
  np.testing.assert_allclose(x, expected, atol=1e-6)


def test_raises_on_wrong_event_size():
  bijector = tff.bijectors.InverseAutoregressiveFlow(make_made(2))
  with pytest.raises(ValueError, match=r"Expected z of shape \[\.\.\., 3\]"):
    bijector.forward(tf.zeros([4, 2]))
  with pytest.raises(ValueError, match=r"Expected x of shape \[\.\.\., 3\]"):
    bijector.inverse(tf.zeros([4, 1]))


def test_validate_args_rejects_non_finite_input():
  bijector = tff.bijectors.InverseAutoregressiveFlow(make_made(2), validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected finite values in z"):
    bijector.forward(tf.constant([[0., np.nan, 1.]]))


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "xla"])
def test_block_sparse_density_gives_the_dense_values_and_gradients(jit, monkeypatch):
  monkeypatch.setattr(_sequential, "MAX_CHUNKS", 3)  # Chunks [0, 2), [2, 3), [3, 5).
  dense, block = dense_and_block_sparse(dtype=tf.float64)
  x = tf.constant(np.random.default_rng(7).normal(size=(3, 5)))
  context = tf.constant(np.random.default_rng(8).normal(size=(3, 2)))
  flows = [tff.bijectors.InverseAutoregressiveFlow(m) for m in (dense, block)]
  assert_same_values_and_gradients(flows, "_inverse_and_log_det", x, context, jit, tf.float64)
