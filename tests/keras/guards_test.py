"""FlowModel's guards: a bad row is left out of the loss (its gradient cannot be NaN), a
non-finite step changes nothing and stops fit before any checkpoint, bad data is refused
in the user's terms, float64 flows fit float64 data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff

MODES = pytest.mark.parametrize("mode", ["tf_function", "jit_compile", "run_eagerly"])


def model_of(seed=0, dtype=tf.float32, learning_rate=1e-2, mode="tf_function"):
  model = tff.keras.FlowModel(tff.models.maf(2, num_layers=2, hidden_units=[8], seed=seed,
                                             dtype=dtype))
  model.compile(keras.optimizers.Adam(learning_rate), jit_compile=mode == "jit_compile",
                run_eagerly=mode == "run_eagerly")
  return model


def good_rows(n=16, dtype=np.float32):
  return np.random.default_rng(0).normal(size=(n, 2)).astype(dtype)


def weights(model):
  return [v.numpy().copy() for v in model.distribution.variables]


@MODES
@pytest.mark.parametrize("bad", [1e20, np.inf, np.nan], ids=["far_out", "inf", "nan"])
def test_a_bad_row_is_left_out_and_the_step_equals_one_on_the_good_rows(bad, mode):
  x = good_rows()
  with_bad = np.concatenate([x, [[bad, 0.5]]]).astype(np.float32)
  model, reference = model_of(mode=mode), model_of(mode=mode)
  logs = model.fit(with_bad, batch_size=len(with_bad), epochs=1, shuffle=False, verbose=0)
  reference.fit(x, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
  assert logs.history["nonfinite_examples"] == [1.]
  assert logs.history["nonfinite_steps"] == [0.]
  assert int(model.optimizer.iterations) == 1
  for a, b in zip(weights(model), weights(reference)):
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(logs.history["loss"], reference.history.history["loss"], rtol=1e-5)


def test_a_far_out_point_has_minus_infinite_log_density_and_validate_args_says_so():
  dist = tff.models.maf(2, num_layers=2, hidden_units=[8], seed=0, validate_args=True)
  with pytest.raises(tf.errors.InvalidArgumentError, match="Expected a finite log-density"):
    dist.log_prob(np.array([[1e20, 0.5]], np.float32))


@MODES
def test_a_non_finite_step_changes_nothing_and_stops_fit_before_any_checkpoint(mode, tmp_path):
  model = model_of(mode=mode)
  model.fit(good_rows(), batch_size=16, epochs=1, verbose=0)
  before = weights(model)
  optimizer_before = [v.numpy().copy() for v in model.optimizer.variables]
  nan_batch = np.full((16, 2), np.nan, np.float32)  # No usable row: the loss is NaN.
  checkpoint = str(tmp_path / "every_batch.weights.h5")
  with pytest.raises(FloatingPointError, match="Expected a finite loss and finite gradients"):
    model.fit(np.concatenate([nan_batch, good_rows()]), batch_size=16, epochs=2,
              shuffle=False, verbose=0, callbacks=[keras.callbacks.ModelCheckpoint(
                  checkpoint, save_weights_only=True, save_freq=1)])
  for a, b in zip(weights(model), before):
    np.testing.assert_array_equal(a, b)
  for a, b in zip(model.optimizer.variables, optimizer_before):
    np.testing.assert_array_equal(a.numpy(), b)  # Adam's moments and step count too.
  assert not (tmp_path / "every_batch.weights.h5").exists()


def test_a_second_fit_on_data_of_another_shape_gets_the_same_clear_error():
  model = model_of()
  model.fit(good_rows(), batch_size=8, epochs=1, verbose=0)
  # Keras retraces with the new size unknown, so the check runs in the graph.
  with pytest.raises((ValueError, tf.errors.InvalidArgumentError),
                     match=r"Expected data of shape \[batch, 2\] for this flow"):
    model.fit(np.zeros((16, 3), np.float32), batch_size=8, epochs=1, verbose=0)
  with pytest.raises(ValueError, match=r"Expected data of a floating dtype"):
    model.fit(np.zeros((16, 2), np.int32), batch_size=8, epochs=1, verbose=0)


@pytest.mark.parametrize("empty", [
    np.zeros((0, 2), np.float32),
    tf.data.Dataset.from_tensor_slices(np.zeros((0, 2), np.float32)).batch(4),
], ids=["array", "dataset"])
def test_fit_on_empty_data_raises_like_fit_distributed(empty):
  with pytest.raises(ValueError, match="Expected (at least one example|a dataset with at least)"):
    model_of().fit(empty, epochs=1, verbose=0)


def test_a_float64_flow_fits_float64_arrays_in_float64(monkeypatch):
  model = model_of(dtype=tf.float64)
  x = good_rows(dtype=np.float64)
  seen = []
  checked_x = tff.keras.inputs.checked_x
  monkeypatch.setattr(tff.keras.inputs, "checked_x", lambda x, *args: seen.append(
      tf.convert_to_tensor(x).dtype) or checked_x(x, *args))
  history = model.fit(x, batch_size=16, epochs=2, verbose=0)
  assert seen and set(seen) == {tf.float64}  # Keras's adapter did not round it to float32.
  assert np.all(np.isfinite(history.history["loss"]))
  assert all(v.dtype == tf.float64 for v in model.distribution.trainable_variables)
  evaluated = model.evaluate(x, batch_size=16, verbose=0, return_dict=True)["loss"]
  np.testing.assert_allclose(evaluated, -np.mean(model.log_prob(x).numpy()), rtol=1e-12)
  assert keras.config.floatx() == "float32"  # Restored after fit and evaluate.


def test_positional_fit_arguments_still_work():
  history = model_of().fit(good_rows(), None, 8, 2, 0)  # x, y, batch_size, epochs, verbose.
  assert len(history.history["loss"]) == 2
