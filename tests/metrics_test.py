"""bits_per_dim and nats_per_dim against hand-computed values."""

import math

import numpy as np
import tensorflow as tf

import tfp_flows as tff


def test_bits_per_dim_with_dequantization_term():
  # A uniform density on [0, 1)^D gives log_prob 0: exactly log2(K) bits per dimension.
  bpd = tff.metrics.bits_per_dim(tf.zeros([3]), event_shape=[8, 8, 1], num_bins=256)
  np.testing.assert_allclose(bpd, 8.)


def test_bits_per_dim_formula():
  log_prob = tf.constant([-100., -50.], tf.float64)
  expected = (-log_prob.numpy() + 12 * math.log(17)) / (12 * math.log(2))
  np.testing.assert_allclose(tff.metrics.bits_per_dim(log_prob, [2, 2, 3], 17), expected)
  np.testing.assert_allclose(tff.metrics.bits_per_dim(log_prob, [12]),
                             -log_prob.numpy() / (12 * math.log(2)))


def test_nats_per_dim():
  np.testing.assert_allclose(tff.metrics.nats_per_dim(tf.constant([-2.2]), [2]), [1.1])
