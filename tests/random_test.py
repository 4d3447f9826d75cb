"""numpy_generator: a seed fixes the draws; without one, NumPy's global state does."""

import keras
import numpy as np

from tfp_flows import _random


def test_a_seed_gives_the_generator_of_that_seed():
  np.testing.assert_array_equal(_random.numpy_generator(7).normal(size=5),
                                np.random.default_rng(7).normal(size=5))


def test_without_a_seed_the_global_state_fixes_the_draws():
  keras.utils.set_random_seed(3)
  first = _random.numpy_generator().normal(size=5)
  keras.utils.set_random_seed(3)
  np.testing.assert_array_equal(_random.numpy_generator().normal(size=5), first)


def test_without_a_seed_successive_generators_differ():
  keras.utils.set_random_seed(3)
  a, b = _random.numpy_generator().normal(size=5), _random.numpy_generator().normal(size=5)
  assert not np.array_equal(a, b)
