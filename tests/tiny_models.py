"""Tiny configurations of every builder in `tff.models.BUILDERS`, for the tests that run them
all (saving, shared checks). `tests/models/recipe_test.py` checks that no builder is missing.

`CASES[case] = (builder name, arguments)`; several cases may use one builder.
"""

import numpy as np

import tfp_flows as tff

VECTOR_SIZE = 2
IMAGE = [4, 4, 2]
IMAGE_BINS = 4

CASES = {
    "maf": ("maf", dict(event_size=VECTOR_SIZE, num_layers=2, hidden_units=[8])),
    "iaf": ("iaf", dict(event_size=VECTOR_SIZE, num_layers=2, hidden_units=[8])),
    "mixture_cdf_flow": ("mixture_cdf_flow", dict(event_size=VECTOR_SIZE, num_components=3,
                                                  hidden_units=[8])),
    "nsf": ("nsf", dict(event_size=VECTOR_SIZE, num_layers=2, hidden_units=[8], num_bins=4,
                        bound=3.)),
    "nsf_coupling": ("nsf", dict(event_size=VECTOR_SIZE, num_layers=2, hidden_units=[8],
                                 num_bins=4, bound=3., coupling=True)),
    "nsf_standardized": ("nsf", dict(event_size=VECTOR_SIZE, num_layers=2, hidden_units=[8],
                                     num_bins=4, bound=3., standardize=([1., -2.], [2., .5]))),
    "realnvp": ("realnvp", dict(image_shape=IMAGE, num_scales=2, hidden_channels=4,
                                num_blocks=1, num_bins=IMAGE_BINS)),
    "glow": ("glow", dict(image_shape=IMAGE, levels=2, depth=2, hidden_channels=4,
                          num_bins=IMAGE_BINS)),
    "glow_learned_prior": ("glow", dict(image_shape=IMAGE, levels=2, depth=2,
                                        hidden_channels=4, num_bins=IMAGE_BINS,
                                        learned_prior=True)),
    "flowpp": ("flowpp", dict(image_shape=IMAGE, num_bins=IMAGE_BINS, levels=2, depth=2,
                              hidden_channels=4, num_components=3, dequantization_layers=2,
                              dequantization_hidden_channels=4)),
}


def build(case, **overrides):
  builder, arguments = CASES[case]
  return tff.models.BUILDERS[builder](**{**arguments, **overrides})


def is_image(case):
  return "image_shape" in CASES[case][1]


def data(case, n=32, seed=0):
  """Data the case's flow models: integer images, or standard normal vectors."""
  rng = np.random.default_rng(seed)
  if is_image(case):
    return rng.integers(0, IMAGE_BINS, [n] + IMAGE).astype(np.float32)
  return rng.normal(size=(n, VECTOR_SIZE)).astype(np.float32)


# Conditional flows: vector contexts of CONTEXT_SIZE, or labels of NUM_CLASSES classes.
CONTEXT_SIZE = 3
NUM_CLASSES = 3
CONDITIONAL_CASES = {
    "maf": ("maf", dict(CASES["maf"][1], conditional_event_shape=[CONTEXT_SIZE])),
    "iaf": ("iaf", dict(CASES["iaf"][1], conditional_event_shape=[CONTEXT_SIZE])),
    "nsf": ("nsf", dict(CASES["nsf"][1], conditional_event_shape=[CONTEXT_SIZE])),
    "nsf_coupling": ("nsf", dict(CASES["nsf_coupling"][1],
                                 conditional_event_shape=[CONTEXT_SIZE])),
    "realnvp": ("realnvp", dict(CASES["realnvp"][1], num_classes=NUM_CLASSES)),
    "glow_learned_prior": ("glow", dict(CASES["glow_learned_prior"][1],
                                        num_classes=NUM_CLASSES)),
    "flowpp": ("flowpp", dict(CASES["flowpp"][1], num_classes=NUM_CLASSES)),
}


def build_conditional(case, **overrides):
  builder, arguments = CONDITIONAL_CASES[case]
  return tff.models.BUILDERS[builder](**{**arguments, **overrides})


def context(case, n=32, seed=1):
  """Contexts for `n` examples of the conditional case: labels `[n]` or vectors `[n, C]`."""
  rng = np.random.default_rng(seed)
  if is_image(case):
    return rng.integers(0, NUM_CLASSES, [n]).astype(np.int32)
  return rng.normal(size=(n, CONTEXT_SIZE)).astype(np.float32)
