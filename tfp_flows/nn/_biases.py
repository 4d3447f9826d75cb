"""Hidden-layer bias initialisers of the conditioners."""

import math

import keras

FAN_IN_UNIFORM = "fan_in_uniform"


def hidden_bias_initializer(spec, fan_in, seed, layer):
  """The initialiser of a hidden layer's bias from `spec`.

  `"fan_in_uniform"`: `U(-1/sqrt(fan_in), 1/sqrt(fan_in))`, PyTorch `nn.Linear`'s default,
  seeded by `seed` (and the layer's index): with zero biases every first-layer ReLU kink
  starts at the same point, which a ring of Gaussians showed trains a MAF markedly slower.
  Anything else is a Keras initialiser identifier (e.g. "zeros").
  """
  if spec == FAN_IN_UNIFORM:
    bound = 1. / math.sqrt(fan_in)
    return keras.initializers.RandomUniform(
        -bound, bound, seed=None if seed is None else seed + 104729 * (layer + 1))
  return keras.initializers.get(spec)


def serialize(spec):
  """`spec` for a layer's config: the string as it is, an initialiser object serialised."""
  return spec if isinstance(spec, str) else keras.initializers.serialize(
      keras.initializers.get(spec))
