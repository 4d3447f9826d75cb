"""A builder's recipe: its name and arguments as plain JSON, enough to build the flow again.

`FlowModel.get_config` stores it, so `keras.models.load_model` rebuilds the distribution by
calling the same builder (safe mode: only the builders named here can be called).
"""

import numpy as np
import tensorflow as tf

BUILDERS = ("maf", "iaf", "mixture_cdf_flow", "realnvp", "glow")


def record(distribution, builder, arguments):
  """Sets `distribution.recipe` to `{"builder", "arguments"}`; `None` if not plain JSON."""
  try:
    plain = {key: _plain(value) for key, value in arguments.items()}
  except TypeError:
    plain = None
  distribution.recipe = None if plain is None else {"builder": builder, "arguments": plain}
  return distribution


def rebuild(recipe):
  """The distribution `recipe` describes (a fresh one, with freshly initialised weights)."""
  from tfp_flows import models  # pylint: disable=import-outside-toplevel
  if not isinstance(recipe, dict) or recipe.get("builder") not in BUILDERS:
    raise ValueError(f"Expected a recipe {{'builder': one of {BUILDERS}, 'arguments': {{...}}}}. "
                     f"Received: recipe={recipe!r}")
  return getattr(models, recipe["builder"])(**recipe.get("arguments", {}))


def _plain(value):
  if value is None or isinstance(value, (bool, str)):
    return value
  if isinstance(value, (int, np.integer)):
    return int(value)
  if isinstance(value, (float, np.floating)):
    return float(value)
  if isinstance(value, tf.DType):
    return value.name
  if isinstance(value, (list, tuple, np.ndarray)):
    return [_plain(v) for v in value]
  raise TypeError(f"Not plain JSON: {value!r}")
