"""NumPy random draws made at build time (a random input order, a random rotation).

`numpy_generator(seed)` is `np.random.default_rng(seed)`, except that `seed=None` draws the
generator's seed from NumPy's global state instead of from the operating system: then
`keras.utils.set_random_seed(s)` (which seeds NumPy's global state too) makes an unseeded
build repeat exactly, as it does for the Keras initialisers of the same build.
"""

import numpy as np


def numpy_generator(seed=None):
  """A `np.random.Generator` from `seed`, or from NumPy's global state when `seed` is None."""
  if seed is None:
    seed = np.random.randint(2**31 - 1)
  return np.random.default_rng(seed)
