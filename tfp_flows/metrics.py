"""Likelihood summaries used to compare flows across papers."""

import math

import numpy as np
import tensorflow as tf


def bits_per_dim(log_prob, event_shape, num_bins=None):
  """Bits per dimension of discrete data from a continuous log-density.

  `bpd = (-log_prob + D log K) / (D ln 2)` with `D = prod(event_shape)`, `K = num_bins`,
  where `log_prob` is the log-density of the dequantized data scaled to [0, 1)
  (`x_tilde = (x + u) / K`) including every preprocessing log-det.

  A model whose chain starts with `tff.bijectors.UniformDequantization(K)` (every image
  builder) already includes the `-D log K` in its `log_prob` of integer data: use
  `num_bins=None` then (passing K as well would count it twice). With `num_bins=None`,
  `log_prob` is taken as already discrete: `bpd = -log_prob / (D ln 2)`.

  Example:
    >>> # A uniform density on [0, 1)^D of 8-bit data: exactly 8 bits per dimension.
    >>> float(tff.metrics.bits_per_dim(tf.zeros([2]), [4, 4, 3], num_bins=256)[0])
    8.0
    >>> # The same log_prob with the -D log K already in it (models with a dequantization).
    >>> log_prob = -48 * np.log(256.) * tf.ones([2])
    >>> round(float(tff.metrics.bits_per_dim(log_prob, [4, 4, 3])[0]), 4)
    8.0
  """
  num_dims = _num_dims(event_shape)
  log_prob = tf.convert_to_tensor(log_prob)
  nats = -log_prob
  if num_bins is not None:
    nats += num_dims * math.log(num_bins)
  return nats / (num_dims * math.log(2.))


def nats_per_dim(log_prob, event_shape):
  """`-log_prob / D`, the unit of the 2-D toy benchmarks.

  Example:
    >>> float(tff.metrics.nats_per_dim(tf.constant(-3.), [2]))
    1.5
  """
  return -tf.convert_to_tensor(log_prob) / _num_dims(event_shape)


def _num_dims(event_shape):
  """D, the number of numbers in one event (1 for scalar events, `event_shape=[]`)."""
  shape = np.asarray(list(event_shape), dtype=np.int64).reshape(-1)
  if np.any(shape < 1):
    raise ValueError(f"Expected an event shape of positive sizes. "
                     f"Received: event_shape={list(event_shape)}")
  return float(np.prod(shape))


__all__ = ["bits_per_dim", "nats_per_dim"]


def __dir__():  # `dir(module)` lists the public names, not the imports (np, tf, ...).
  return __all__
