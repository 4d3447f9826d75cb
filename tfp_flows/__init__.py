"""tfp_flows: normalizing flows as TensorFlow Probability bijectors.

Modules: `bijectors` (the flow layers, grouped by family), `nn` (the Keras 3 networks that
hold their weights), `transformers` (the elementwise maps), `models` (ready-made flows, each
a `distributions.FlowDistribution`), `conditioning` (contexts of conditional flows),
`keras` (training with `FlowModel`), `data`, `metrics` and `files`.

The examples in the docstrings run as doctests (`tests/doctest_test.py`) after

    import keras
    import numpy as np
    import tensorflow as tf
    import tensorflow_probability as tfp
    import tfp_flows as tff
    tfd, tfb = tfp.distributions, tfp.bijectors

Example:
  >>> dist = tff.models.maf(event_size=2, num_layers=1, hidden_units=[8])
  >>> dist.log_prob(tf.zeros([3, 2])).shape  # a TFP distribution over [2] vectors
  TensorShape([3])
"""

import importlib
import sys

__version__ = "0.1.0"

_SUBMODULES = ("bijectors", "conditioning", "data", "distributions", "files", "keras",
               "metrics", "models", "nn", "transformers")
__all__ = list(_SUBMODULES)

# `python -m tfp_flows` imports this package before it runs the command line (Python sets
# `sys.argv[0]` to "-m" while it locates the module). There the submodules, and TensorFlow
# with them, load on first use (`__getattr__` below), so that `--help` and flag errors answer
# before TensorFlow has loaded. Every other import loads them all here.
if sys.argv[:1] != ["-m"]:
  from tfp_flows import bijectors
  from tfp_flows import conditioning
  from tfp_flows import data
  from tfp_flows import distributions
  from tfp_flows import files
  from tfp_flows import keras
  from tfp_flows import metrics
  from tfp_flows import models
  from tfp_flows import nn
  from tfp_flows import transformers


def __getattr__(name):
  """Loads a submodule on its first use (only reached under `python -m tfp_flows`)."""
  if name not in _SUBMODULES:
    raise AttributeError(f"module 'tfp_flows' has no attribute {name!r}")
  return importlib.import_module(f"tfp_flows.{name}")
