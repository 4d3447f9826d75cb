"""Pieces the vector-flow builders share: argument checks, seeded initialisers, the base."""

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from tfp_flows import distributions

tfb = tfp.bijectors
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


def vector_flow(layers, base, event_size, dtype, standardize, validate_args, name):
  """A `FlowDistribution` over `[event_size]` vectors: `base`, then `layers` (forward, base
  to data order), then `standardize`'s inverse when given.

  `standardize = (shift, scale)` (each D numbers, or one for all): the layers model
  `y = (x - shift) / scale` and `log_prob` is of `x`, `log p(x) = log p(y) - sum(log scale)`,
  so training, evaluation and Keras's logs are in the data's own units.
  """
  chain = list(layers)
  if standardize is not None:
    shift, scale = checked_standardize(standardize, event_size, dtype)
    chain.append(tfb.Chain([tfb.Shift(shift), tfb.Scale(scale)],
                           name=f"{name}_standardization"))
  return distributions.FlowDistribution(
      base_distribution(base, event_size, dtype),
      tfb.Chain(chain[::-1], name=f"{name}_chain"), validate_args=validate_args, name=name)


def checked_standardize(standardize, event_size, dtype):
  """`(shift, scale)` as `[event_size]` constants; `ValueError` unless `standardize` is a
  pair of finite numbers (one, or `event_size`), the scales > 0."""
  try:
    shift, scale = (np.asarray(part, dtype.as_numpy_dtype) for part in standardize)
  except (TypeError, ValueError) as error:
    raise ValueError(f"Expected standardize=(shift, scale), two numbers or sequences of "
                     f"numbers. Received: standardize={standardize!r}") from error
  for part in (shift, scale):
    if part.ndim > 1 or part.size not in (1, event_size):
      raise ValueError(f"Expected standardize=(shift, scale) of 1 or event_size="
                       f"{event_size} numbers each. Received: standardize={standardize!r}")
  if not (np.all(np.isfinite(shift)) and np.all(np.isfinite(scale)) and np.all(scale > 0)):
    raise ValueError(f"Expected a finite shift and finite scales > 0 in standardize=(shift, "
                     f"scale). Received: standardize={standardize!r}")
  ones = np.ones([event_size], dtype.as_numpy_dtype)
  return tf.constant(shift * ones), tf.constant(scale * ones)
