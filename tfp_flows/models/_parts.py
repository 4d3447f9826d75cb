"""Pieces the vector-flow builders share: argument checks, seeded initialisers, the base."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

tfd = tfp.distributions

BASES = ("normal", "logistic")


def check_count(**counts):
  """`ValueError` unless every value is an int >= 1 (bools are not counts)."""
  for name, value in counts.items():
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
      raise ValueError(f"Expected {name} to be an int >= 1. Received: {name}={value!r}")


def float_dtype(dtype):
  dtype = tf.as_dtype(dtype)
  if not dtype.is_floating:
    raise ValueError(f"Expected a floating dtype. Received: dtype={dtype.name}")
  return dtype


def kernel_initializer(seed, layer):
  return keras.initializers.GlorotUniform(seed=None if seed is None else seed + layer)


def small_output_initializer(seed, layer):
  """MADE's default small output start, seeded too so `seed` fixes every weight."""
  return keras.initializers.VarianceScaling(
      1e-2, seed=None if seed is None else seed + 7919 + layer)


def base_distribution(base, event_size, dtype):
  """A standard normal or logistic over `[event_size]` vectors."""
  zeros, ones = tf.zeros([event_size], dtype), tf.ones([event_size], dtype)
  if base == "normal":
    return tfd.Independent(tfd.Normal(zeros, ones), 1)
  if base == "logistic":
    return tfd.Independent(tfd.Logistic(zeros, ones), 1)
  raise ValueError(f"Expected base in {BASES}. Received: base={base!r}")
