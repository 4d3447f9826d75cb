"""The table of builders, and each flow's recipe: the builder and its arguments as plain JSON.

Every function in `tff.models` that returns a flow is registered here by `@builder`, which
records its call (every argument, defaults included) on the distribution it returns as
`dist.recipe = {"builder": name, "arguments": {...}}`. `FlowModel.get_config` stores the
recipe, and `keras.models.load_model` rebuilds the distribution by calling the same builder
(`rebuild`): no lambdas, no pickles, so Keras's safe mode loads it, and only the builders of
this table can be called.

A flow built under a mixed global Keras policy (`"mixed_bfloat16"`, see
`tfp_flows.nn._precision`) records it as `recipe["dtype_policy"]`, and `rebuild` builds it
under that policy again, whatever the global policy is then: a reloaded model computes as
the saved one did.
"""

import functools
import inspect

import keras
import numpy as np
import tensorflow as tf

from tfp_flows.nn import _precision

BUILDERS = {}  # Builder name -> the registered builder, in registration order.


def builder(function):
  """Registers `function` under its name; its results carry their recipe."""
  signature = inspect.signature(function)

  @functools.wraps(function)
  def build(*args, **kwargs):
    call = signature.bind(*args, **kwargs)
    call.apply_defaults()
    distribution = function(*args, **kwargs)
    distribution.recipe = _recipe(function.__name__, call.arguments)
    policy = _precision.global_mixed_policy(call.arguments.get("dtype", tf.float32))
    if distribution.recipe is not None and policy is not None:
      distribution.recipe["dtype_policy"] = policy
    return distribution

  BUILDERS[function.__name__] = build
  return build


def rebuild(recipe):
  """The distribution `recipe` describes (a fresh one, with freshly initialised weights)."""
  if (not isinstance(recipe, dict) or recipe.get("builder") not in BUILDERS
      or not isinstance(recipe.get("arguments", {}), dict)):
    raise ValueError(f"Expected a recipe {{'builder': one of {tuple(BUILDERS)}, "
                     f"'arguments': {{...}}}}. Received: recipe={recipe!r}")
  policy = recipe.get("dtype_policy")
  if policy is None:
    return _call(recipe)
  before = keras.config.dtype_policy()
  keras.config.set_dtype_policy(policy)  # Keras's global policy is per thread.
  try:
    return _call(recipe)
  finally:
    keras.config.set_dtype_policy(before)


def _call(recipe):
  try:
    return BUILDERS[recipe["builder"]](**recipe.get("arguments", {}))
  except (TypeError, AttributeError) as error:  # Arguments the builder cannot take.
    raise ValueError(f"Expected arguments that {recipe['builder']} takes. Received: "
                     f"{recipe.get('arguments')!r}, which raised {error}") from error


def _recipe(name, arguments):
  """`{"builder", "arguments"}`, or `None` when an argument is not plain JSON."""
  try:
    return {"builder": name, "arguments": {k: _plain(v) for k, v in arguments.items()}}
  except TypeError:
    return None


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
