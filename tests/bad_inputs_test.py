"""Bad inputs and what each gets: one test per row of `docs/bad_inputs.md`.

Every case is something a user can get wrong, with the error it must raise (class and the
start of the message, which names what the user passed). `test_the_docs_table_is_this_table`
keeps the page and these cases in step.
"""

import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb, tfd = tfp.bijectors, tfp.distributions
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs",
                    "bad_inputs.md")
IAE = tf.errors.InvalidArgumentError


def maf(**kwargs):
  return tff.models.maf(2, num_layers=1, hidden_units=[4], **kwargs)


def glow(**kwargs):
  return tff.models.glow([4, 4, 1], levels=2, depth=1, hidden_channels=4, num_bins=4, **kwargs)


def made(**kwargs):
  return tff.nn.MADE(2, [3], [4], **kwargs)


def fitted(data, **kwargs):
  model = tff.keras.FlowModel(maf())
  model.compile(keras.optimizers.Adam(1e-3))
  return model.fit(data, batch_size=8, epochs=1, verbose=0, **kwargs)


def conditional_fit(context, **kwargs):
  model = tff.keras.FlowModel(maf(conditional_event_shape=[3]))
  model.compile(keras.optimizers.Adam(1e-3))
  model.fit(np.zeros([16, 2], np.float32), context, batch_size=8, epochs=1, verbose=0, **kwargs)


def refit_with_another_shape():
  model = tff.keras.FlowModel(maf())
  model.compile(keras.optimizers.Adam(1e-3))
  model.fit(np.zeros([16, 2], np.float32), batch_size=8, epochs=1, verbose=0)
  model.fit(np.zeros([16, 3], np.float32), batch_size=8, epochs=1, verbose=0)


def truncated(tmp, name):
  model = tff.keras.FlowModel(maf())
  path = os.path.join(tmp, name)
  model.save(path) if name.endswith(".keras") else model.save_weights(path)
  with open(path, "r+b") as f:
    f.truncate(os.path.getsize(path) // 2)
  return path


# (id, what the user does, call, exception, start of the message)
CASES = [
    # Builders.
    ("maf_event_size_0", "`maf(0)`", lambda t: tff.models.maf(0), ValueError,
     "Expected event_size to be an int >= 1"),
    ("maf_layers_0", "`maf(2, num_layers=0)`", lambda t: tff.models.maf(2, num_layers=0),
     ValueError, "Expected num_layers to be an int >= 1"),
    ("maf_hidden_int", "`maf(2, hidden_units=64)` (not a list)",
     lambda t: tff.models.maf(2, hidden_units=64), ValueError,
     "Expected hidden_units to be a non-empty list of positive ints"),
    ("maf_hidden_empty", "`maf(2, hidden_units=())`", lambda t: tff.models.maf(2, hidden_units=()),
     ValueError, "Expected hidden_units to be a non-empty list of positive ints"),
    ("maf_int_dtype", "`maf(2, dtype=tf.int32)`", lambda t: tff.models.maf(2, dtype=tf.int32),
     ValueError, "Expected a floating dtype"),
    ("maf_base", "`maf(2, base='cauchy')`", lambda t: maf(base="cauchy"), ValueError,
     "Expected base in"),
    ("maf_transform", "`maf(2, transform='cubic')`", lambda t: maf(transform="cubic"),
     ValueError, "Expected transform in"),
    ("mixture_components_0", "`mixture_cdf_flow(2, num_components=0)`",
     lambda t: tff.models.mixture_cdf_flow(2, num_components=0), ValueError,
     "Expected num_components to be an int >= 1"),
    ("nsf_bins_0", "`nsf(2, num_bins=0)`", lambda t: tff.models.nsf(2, num_bins=0), ValueError,
     "Expected num_bins to be an int >= 1"),
    ("nsf_bound_0", "`nsf(2, bound=0.)`", lambda t: tff.models.nsf(2, bound=0.), ValueError,
     "Expected bound to be a finite number > 0"),
    ("nsf_coupling_1d", "`nsf(1, coupling=True)`", lambda t: tff.models.nsf(1, coupling=True),
     ValueError, "Expected event_size >= 2 for coupling=True"),
    ("glow_image_rank", "`glow([8, 8])`", lambda t: tff.models.glow([8, 8]), ValueError,
     r"Expected image_shape \[H, W, C\]"),
    ("glow_levels_divide", "`glow([4, 4, 1], levels=3)`",
     lambda t: tff.models.glow([4, 4, 1], levels=3), ValueError,
     "Expected H and W divisible by 8 for this levels"),
    ("glow_hidden_0", "`glow([4, 4, 1], levels=1, hidden_channels=0)`",
     lambda t: tff.models.glow([4, 4, 1], levels=1, hidden_channels=0), ValueError,
     "Expected hidden_channels to be an int >= 1"),
    ("realnvp_scales_too_many", "`realnvp([4, 4, 1], num_scales=3)` (last scale 1x1)",
     lambda t: tff.models.realnvp([4, 4, 1], num_scales=3), ValueError,
     "Expected an image large enough for num_scales=3"),
    ("realnvp_blocks_negative", "`realnvp([4, 4, 1], num_blocks=-1)`",
     lambda t: tff.models.realnvp([4, 4, 1], num_blocks=-1), ValueError,
     "Expected num_blocks to be an int >= 0"),
    ("realnvp_packed_odd_width", "`realnvp([12, 12, 1], num_scales=3, checkerboard='packed')`",
     lambda t: tff.models.realnvp([12, 12, 1], num_scales=3, checkerboard="packed"), ValueError,
     r"Expected an image width divisible by 2 \*\* num_scales = 8 for checkerboard='packed'"),
    ("flowpp_bins_1", "`flowpp([4, 4, 1], num_bins=1)`",
     lambda t: tff.models.flowpp([4, 4, 1], num_bins=1), ValueError,
     "Expected num_bins to be an int >= 2"),
    ("flowpp_checkerboard_unknown", "`flowpp([4, 4, 1], checkerboard='diagonal')`",
     lambda t: tff.models.flowpp([4, 4, 1], checkerboard="diagonal"), ValueError,
     "Expected checkerboard='masked' or 'packed'. Received: checkerboard='diagonal'"),
    # Bijectors and layers.
    ("made_params_0", "`MADE(0, [3], [4])`", lambda t: tff.nn.MADE(0, [3], [4]), ValueError,
     "Expected params to be an int >= 1"),
    ("made_order", "`MADE(2, [3], [4], input_order=[1, 1, 2])`",
     lambda t: made(input_order=[1, 1, 2]), ValueError,
     "Expected input_order to be a permutation of 1..3"),
    ("maf_wrong_made", "`MaskedAutoregressiveFlow(MADE(9, ...), 'affine')`",
     lambda t: tff.bijectors.MaskedAutoregressiveFlow(tff.nn.MADE(9, [3], [4])), ValueError,
     "Expected a MADE with params=2"),
    ("maf_wrong_event", "MAF of `[3]` on `x` of shape `[4, 2]`",
     lambda t: tff.bijectors.MaskedAutoregressiveFlow(made()).inverse(tf.zeros([4, 2])),
     ValueError, r"Expected x of shape \[\.\.\., 3\]"),
    ("maf_wrong_event_traced", "the same inside a `tf.function` whose sizes are unknown",
     lambda t: tf.function(tff.bijectors.MaskedAutoregressiveFlow(made()).inverse,
                           input_signature=[tf.TensorSpec([None, None])])(tf.zeros([6, 2])),
     IAE, r"Expected x of shape \[\.\.\., 3\]"),
    ("maf_int_input", "MAF on an `int32` tensor",
     lambda t: tff.bijectors.MaskedAutoregressiveFlow(made()).inverse(tf.zeros([4, 3], tf.int32)),
     ValueError, "Expected x of dtype float32"),
    ("maf_nan_validate", "NaN into a MAF with `validate_args=True`",
     lambda t: tff.bijectors.MaskedAutoregressiveFlow(made(), validate_args=True).inverse(
         tf.constant([[0., np.nan, 1.]])), IAE, "Expected finite values in x"),
    ("context_missing", "a conditional MAF without its context",
     lambda t: tff.bijectors.MaskedAutoregressiveFlow(made(conditional_event_shape=[3])).inverse(
         tf.zeros([4, 3])), ValueError, "Expected conditional_input exactly when"),
    ("context_wrong_shape", "context `[N, 1]` for `conditional_event_shape=[3]` (was broadcast)",
     lambda t: tff.bijectors.MaskedAutoregressiveFlow(made(conditional_event_shape=[3])).inverse(
         tf.zeros([4, 3]), conditional_input=tf.zeros([4, 1])), ValueError,
     r"Expected conditional_input of shape \[\.\.\., 3\]"),
    ("coupling_mask", "`Coupling([4], mask='stripes')`",
     lambda t: tff.bijectors.Coupling([4], "stripes"), ValueError, "Expected mask in"),
    ("coupling_image_mask", "`Coupling([4, 4, 2], mask='half')`",
     lambda t: tff.bijectors.Coupling([4, 4, 2], "half"), ValueError,
     "Expected mask='half' or 'checkerboard' for vectors"),
    ("dequantization_packed_odd_width",
     "`VariationalDequantization(4, [2, 3, 1], checkerboard='packed')`",
     lambda t: tff.bijectors.VariationalDequantization(4, [2, 3, 1], checkerboard="packed"),
     ValueError, "Expected an even image width for checkerboard='packed'"),
    ("coupling_packed_odd_width", "`Coupling([4, 5, 2], mask='packed_checkerboard')`",
     lambda t: tff.bijectors.Coupling([4, 5, 2], "packed_checkerboard"), ValueError,
     "Expected an image of even width for mask='packed_checkerboard'"),
    ("coupling_network", "a Keras network of the wrong output shape",
     lambda t: tff.bijectors.Coupling([4], "half", network=keras.layers.Dense(4)), ValueError,
     r"Expected the network to map \[\.\.\., 2\]"),
    ("spline_bins_0", "`RationalQuadraticSpline(0)`",
     lambda t: tff.transformers.RationalQuadraticSpline(0), ValueError,
     "Expected num_bins to be an int >= 1"),
    ("mixture_cdf_iterations", "`MixtureCDF(3, num_iterations=-5)`",
     lambda t: tff.bijectors.MixtureCDF(3, num_iterations=-5), ValueError,
     "Expected num_iterations to be an int >= 1"),
    ("mixture_cdf_y_range", "`MixtureCDF.inverse(1.5)` with `validate_args=True`",
     lambda t: tff.bijectors.MixtureCDF(2, validate_args=True).inverse(tf.constant(1.5)), IAE,
     "Expected y <= 1"),
    ("conv_wrong_channels", "1x1 conv of 3 channels, log-det of 4 (was 0.0)",
     lambda t: tff.bijectors.Invertible1x1Conv(3).inverse_log_det_jacobian(
         tf.zeros([1, 2, 2, 4]), event_ndims=3), ValueError,
     r"Expected x of shape \[\.\.\., \?, \?, 3\]"),
    ("act_norm_empty", "`ActNorm.initialize` on an empty batch (was NaN)",
     lambda t: tff.bijectors.ActNorm([2, 2, 1]).initialize(tf.zeros([0, 2, 2, 1])), ValueError,
     "Expected a non-empty batch"),
    ("squeeze_odd", "`Squeeze(2)` of a 3x4 image",
     lambda t: tff.bijectors.Squeeze(2).forward(tf.zeros([1, 3, 4, 1])), ValueError,
     "Expected height and width divisible by factor=2"),
    ("dequantization_levels", "levels outside `[0, K - 1]` with `validate_args=True`",
     lambda t: tff.bijectors.UniformDequantization(4, validate_args=True).inverse(
         tf.constant([5.])), IAE, r"Expected x in \[0, 3\]"),
    ("logit_alpha", "`LogitPreprocessing(alpha=0.7)`",
     lambda t: tff.bijectors.LogitPreprocessing(0.7), ValueError,
     r"Expected alpha to be a float in \[0, 0.5\)"),
    # Distributions.
    ("image_shape_of_data", "glow of `[4, 4, 1]` on images `[2, 4, 4, 2]` (named the squeezed shape)",
     lambda t: glow().log_prob(tf.zeros([2, 4, 4, 2])), ValueError,
     r"Expected x of shape \[\.\.\., 4, 4, 1\]"),
    ("temperature_negative", "`sample(2, temperature=np.float32(-1))`",
     lambda t: maf().sample(2, temperature=np.float32(-1.)), ValueError,
     "Expected temperature to be a number >= 0"),
    ("temperature_nan", "`sample(2, temperature=np.nan)`",
     lambda t: maf().sample(2, temperature=np.nan), ValueError,
     "Expected temperature to be a number >= 0"),
    ("sample_typo", "`sample(2, temprature=0.5)` (was ignored)",
     lambda t: maf().sample(2, temprature=0.5), TypeError, "Expected keyword arguments among"),
    ("far_out_validate", "`log_prob` of a point at 1e20 with `validate_args=True`",
     lambda t: maf(validate_args=True).log_prob(tf.constant([[1e20, 0.]])), IAE,
     "Expected a finite log-density"),
    ("bits_per_dim_empty", "`bits_per_dim(lp, [0])`",
     lambda t: tff.metrics.bits_per_dim(tf.zeros([3]), [0]), ValueError,
     "Expected an event shape of positive sizes"),
    # Keras.
    ("flow_model_not_a_distribution", "`FlowModel(tfb.Shift(1.))`",
     lambda t: tff.keras.FlowModel(tfb.Shift(1.)), TypeError,
     "Expected distribution to be a tfp.distributions.Distribution"),
    ("fit_empty_array", "`fit` on an empty array (returned silently)",
     lambda t: fitted(np.zeros([0, 2], np.float32)), ValueError, "Expected at least one example"),
    ("fit_empty_dataset", "`fit` on an empty dataset",
     lambda t: fitted(tf.data.Dataset.from_tensor_slices(np.zeros([0, 2], np.float32)).batch(4)),
     ValueError, "Expected a dataset with at least one batch"),
    ("fit_wrong_shape", "`fit` on `[N, 3]` data for a flow of `[2]`",
     lambda t: fitted(np.zeros([16, 3], np.float32)), ValueError,
     r"Expected data of shape \[batch, 2\] for this flow"),
    ("refit_wrong_shape", "a second `fit` on data of another shape (Keras retraces)",
     lambda t: refit_with_another_shape(), IAE, r"Expected data of shape \[batch, 2\]"),
    ("fit_int_data", "`fit` on integer data",
     lambda t: fitted(np.zeros([16, 2], np.int32)), ValueError,
     "Expected data of a floating dtype"),
    ("fit_nan_batch", "`fit` on a batch with no finite row",
     lambda t: fitted(np.full([8, 2], np.nan, np.float32)), FloatingPointError,
     "Expected a finite loss and finite gradients"),
    ("save_unbuilt_flow", "`save('x.keras')` of a flow no builder made",
     lambda t: tff.keras.FlowModel(tfd.TransformedDistribution(maf(), tfb.Shift(1.))).save(
         os.path.join(t, "x.keras")), NotImplementedError, "Expected a distribution built by"),
    ("save_overwrite_false", "`save_weights(path, overwrite=False)` onto an existing file",
     lambda t: tff.keras.FlowModel(maf()).save_weights(truncated(t, "a.weights.h5"),
                                                       overwrite=False),
     FileExistsError, "Expected no file at"),
    ("load_missing", "`tff.keras.load_model` of a missing file",
     lambda t: tff.keras.load_model(os.path.join(t, "missing.keras")), FileNotFoundError,
     "Expected a .keras file at"),
    ("load_truncated", "`tff.keras.load_model` of a truncated `.keras`",
     lambda t: tff.keras.load_model(truncated(t, "a.keras")), ValueError, "Expected a complete"),
    ("load_weights_truncated", "`load_weights` of a truncated `.weights.h5`",
     lambda t: tff.keras.FlowModel(maf()).load_weights(truncated(t, "a.weights.h5")), ValueError,
     "Expected a readable Keras weights file"),
    ("recipe_unknown_argument", "a `.keras` whose recipe has an argument the builder lacks",
     lambda t: tff.models.recipe.rebuild({"builder": "maf", "arguments": {"foo": 1}}),
     ValueError, "Expected arguments that maf takes"),
    ("recipe_unknown_builder", "a recipe naming a function that is not a builder",
     lambda t: tff.models.recipe.rebuild({"builder": "eval", "arguments": {}}), ValueError,
     "Expected a recipe"),
    # Data.
    ("digits_split", "`tff.data.digits('validation')`", lambda t: tff.data.digits("validation"),
     ValueError, "Expected split in"),
    ("image_dataset_batch", "`image_dataset(images, batch_size=0)`",
     lambda t: tff.data.image_dataset(np.zeros([4, 2, 2, 1]), 0), ValueError,
     "Expected batch_size to be an int >= 1"),
    ("load_images_missing", "`load_images('missing.npz')`",
     lambda t: tff.data.load_images(os.path.join(t, "missing.npz")), FileNotFoundError,
     "Expected an existing .npy or .npz file"),
    # Conditional flows.
    ("flow_context_missing", "`log_prob(x)` of a flow built with `conditional_event_shape=[3]`",
     lambda t: maf(conditional_event_shape=[3]).log_prob(np.zeros([4, 2], np.float32)),
     ValueError, "Expected a context for the conditional flow 'maf'"),
    ("flow_context_unexpected", "`log_prob(x, context=c)` of an unconditional flow",
     lambda t: maf().log_prob(np.zeros([4, 2], np.float32), context=np.zeros([4, 3])),
     ValueError, "Expected no context: the flow 'maf' is unconditional"),
    ("flow_context_event_shape", "a context `[4, 1]` for `conditional_event_shape=[3]`",
     lambda t: maf(conditional_event_shape=[3]).log_prob(np.zeros([4, 2], np.float32),
                                                         context=np.zeros([4, 1])),
     ValueError, r"Expected a context of shape \[\.\.\., 3\] for the flow 'maf'\. Received: "
     r"context\.shape=\(4, 1\)"),
    ("flow_context_batch_shape", "3 contexts for 4 examples",
     lambda t: maf(conditional_event_shape=[3]).log_prob(np.zeros([4, 2], np.float32),
                                                         context=np.zeros([3, 3])),
     ValueError, r"Expected one context per example \(batch shape \[4\]\) or one for all"),
    ("label_out_of_range", "label 10 for a `glow(..., num_classes=10)`",
     lambda t: glow(num_classes=10).log_prob(np.zeros([2, 4, 4, 1], np.float32),
                                            context=[3, 10]),
     ValueError, r"Expected class labels in \[0, 10\) \(num_classes=10\). Received: context "
     "holding 10"),
    ("fit_without_context", "`fit(x)` of a conditional flow (no context)",
     lambda t: conditional_fit(None), ValueError,
     "Expected a context for the conditional flow 'maf'"),
    ("fit_sample_weight", "`fit(x, c, sample_weight=w)`",
     lambda t: conditional_fit(np.zeros([16, 3], np.float32), sample_weight=np.ones(16)),
     ValueError, r"Expected batches \(x,\) or \(x, context\)\. Received: sample weights"),
    ("seed_without_dequantization", "`log_prob(x, seed=s)` of a flow with no dequantization",
     lambda t: maf().log_prob(np.zeros([4, 2], np.float32), seed=[1, 2]), ValueError,
     "Expected seed only for a flow with a dequantization"),
    ("per_class_unlabelled", "`log_prob_per_class(x)` of a flow without `num_classes`",
     lambda t: maf().log_prob_per_class(np.zeros([4, 2], np.float32)), ValueError,
     r"Expected a class-conditional flow \(built with num_classes\)"),
]


def doc_rows():
  with open(DOCS) as f:
    rows = [line for line in f if re.match(r"\| `[a-z0-9_]+` \|", line)]
  return {re.match(r"\| `([a-z0-9_]+)` \|", row).group(1): row for row in rows}


def test_there_are_at_least_forty_cases_with_distinct_ids():
  ids = [case[0] for case in CASES]
  assert len(ids) >= 40 and len(set(ids)) == len(ids)


def test_the_docs_table_is_this_table():
  rows = doc_rows()
  assert list(rows) == [case[0] for case in CASES]
  for case_id, _, _, error, match in CASES:
    assert f"`{error.__name__}`" in rows[case_id], case_id
    assert match.replace("\\", "") in rows[case_id].replace("\\|", "|"), case_id


@pytest.mark.parametrize("case_id,action,call,error,match", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(case_id, action, call, error, match, tmp_path):
  del case_id, action
  with pytest.raises(error, match=match):
    call(str(tmp_path))


def markdown():
  """The table of `docs/bad_inputs.md` (`python -m tests.bad_inputs_test > ...`)."""
  lines = ["| id | what the user does | what they get |", "| --- | --- | --- |"]
  for case_id, action, _, error, match in CASES:
    message = match.replace("\\", "").replace("|", "\\|")
    lines.append(f"| `{case_id}` | {action} | `{error.__name__}`: {message} ... |")
  return "\n".join(lines)


if __name__ == "__main__":
  print(markdown())
