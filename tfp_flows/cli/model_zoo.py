"""Flows by name, with small defaults that train in minutes on a CPU.

Size settings (flags of the same names; `None` takes the model's default):
  hidden: width of the conditioner networks (MADE hidden units, coupling channels).
  depth: glow's and flowpp's steps per level; realnvp's ResNet blocks per coupling.
  levels: glow's and flowpp's levels; realnvp's scales.
  num_layers: maf, iaf, mixture_cdf and nsf layers.
  num_components: mixture_cdf's logistic components per coordinate, flowpp's per coupling.
"""

import numpy as np

import tfp_flows as tff

IMAGE_MODELS = ("realnvp", "glow", "flowpp")
VECTOR_MODELS = ("maf", "iaf", "mixture_cdf", "nsf")
MODELS = VECTOR_MODELS + IMAGE_MODELS
DEFAULTS = {
    "maf": {"num_layers": 5, "hidden": 64},
    "iaf": {"num_layers": 5, "hidden": 64},
    "mixture_cdf": {"num_layers": 2, "hidden": 64, "num_components": 10},
    "nsf": {"num_layers": 5, "hidden": 64},
    "realnvp": {"levels": 2, "depth": 2, "hidden": 16},
    "glow": {"levels": 2, "depth": 4, "hidden": 64},
    "flowpp": {"levels": 2, "depth": 4, "hidden": 32, "num_components": 8},
}
SIZE_SETTINGS = ("hidden", "depth", "levels", "num_layers", "num_components")
# On CPU, XLA makes glow's training step ~1.5x faster and realnvp's ~2x slower.
NO_JIT_COMPILE = ("realnvp",)


def settings(model, **given):
  """The model's defaults, overridden by the `given` size settings that are not None.

  Raises:
    ValueError: for an unknown model, or a setting the model does not have.
  """
  if model not in DEFAULTS:
    raise ValueError(f"Expected --model in {MODELS}. Received: --model={model!r}")
  given = {key: value for key, value in given.items() if value is not None}
  unused = sorted(set(given) - set(DEFAULTS[model]))
  if unused:
    raise ValueError(f"Expected only the size flags {sorted(DEFAULTS[model])} for "
                     f"--model={model}. Received: --{unused[0]}={given[unused[0]]}")
  return {**DEFAULTS[model], **given}


def defaults_of(setting):
  """E.g. "maf 64, iaf 64, ...": the models' defaults of a size setting, for --help."""
  return ", ".join(f"{model} {size[setting]}" for model, size in DEFAULTS.items()
                   if setting in size)


def check(model, data, conditional=False):
  """Raises ValueError when an image model is asked to fit points, or a class-conditional
  flow is asked of a vector model or of data without labels."""
  if model in IMAGE_MODELS and not data.is_image:
    raise ValueError(f"Expected image data (digits or npz:PATH) for --model={model}, or a "
                     f"vector model {VECTOR_MODELS}. Received: --data={data.describe()}")
  if conditional and model not in IMAGE_MODELS:
    raise ValueError(f"Expected an image model {IMAGE_MODELS} for --conditional (a class-"
                     f"conditional flow). Received: --model={model}")
  if conditional and data.num_classes is None:
    raise ValueError("Expected labelled data (digits) for --conditional. Received: "
                     f"--data={data.describe()}, which has no labels")


def build(model, size, event_shape, num_bins, seed, num_classes=None, standardize=None):
  """The flow `model` of `size` (from `settings`) over `event_shape` (`View.flow_event_shape`).

  `num_bins` is the data's number of levels, used by the image models' dequantization;
  `num_classes` makes an image model class-conditional; `standardize` (vector models) is
  the builders' `(shift, scale)`: the flow sees standardised points, its `log_prob` is of
  the points themselves.
  """
  if model == "glow":
    return tff.models.glow(event_shape, levels=size["levels"], depth=size["depth"],
                           hidden_channels=size["hidden"], num_bins=num_bins,
                           num_classes=num_classes, seed=seed)
  if model == "flowpp":
    return tff.models.flowpp(event_shape, num_bins=num_bins, levels=size["levels"],
                             depth=size["depth"], hidden_channels=size["hidden"],
                             num_components=size["num_components"], num_classes=num_classes,
                             seed=seed)
  if model == "realnvp":
    return tff.models.realnvp(event_shape, num_scales=size["levels"], num_blocks=size["depth"],
                              hidden_channels=size["hidden"], num_bins=num_bins,
                              num_classes=num_classes)
  event_size = int(np.prod(event_shape))
  hidden_units = (size["hidden"], size["hidden"])
  if model == "mixture_cdf":
    return tff.models.mixture_cdf_flow(event_size, num_components=size["num_components"],
                                       hidden_units=hidden_units, num_layers=size["num_layers"],
                                       base="normal", standardize=standardize, seed=seed)
  if model == "nsf":
    return tff.models.nsf(event_size, num_layers=size["num_layers"], hidden_units=hidden_units,
                          standardize=standardize, seed=seed)
  builder = tff.models.maf if model == "maf" else tff.models.iaf
  return builder(event_size, num_layers=size["num_layers"], hidden_units=hidden_units,
                 standardize=standardize, seed=seed)
