"""Saving FlowModels: `.keras` in safe mode for every builder, conditional ones too (same
log_prob bit for bit, ActNorm kept), weights files and tf.train.Checkpoint for any flow, clear errors for missing,
truncated and mismatched files, and resuming a killed `fit`."""

import errno
import os
import signal
import subprocess
import sys
import textwrap
import zipfile

import h5py
import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from tests import tiny_models

tfb = tfp.bijectors
tfd = tfp.distributions

IMAGE = tiny_models.IMAGE
BUILDERS = {case: (lambda case=case: tiny_models.build(case)) for case in tiny_models.CASES}
data = tiny_models.data


def log_prob(model, name, x):
  """With fixed dequantization noise, so two calls on the same images are comparable."""
  kwargs = tff.models.bijector_kwargs(model.distribution, seed=(1, 2))
  return model.distribution.log_prob(x, bijector_kwargs=kwargs).numpy()


def trained(name):
  model = tff.keras.FlowModel(BUILDERS[name]())
  model.compile(keras.optimizers.Adam(1e-2))
  model.fit(data(name), batch_size=16, epochs=1, verbose=0)
  return model


def act_norm_values(model):
  return [(m.initialized.numpy(), m.loc.numpy(), m.log_scale.numpy())
          for m in model.distribution.submodules if isinstance(m, tff.bijectors.ActNorm)]


@pytest.mark.parametrize("case", sorted(tiny_models.CONDITIONAL_CASES))
def test_a_conditional_model_reloads_in_safe_mode_with_the_same_conditional_log_prob(
    case, tmp_path):
  model = tff.keras.FlowModel(tiny_models.build_conditional(case))
  model.compile(keras.optimizers.Adam(1e-2))
  x, c = data(case, 16), tiny_models.context(case, 16)
  model.fit(x, c, batch_size=16, epochs=1, verbose=0)
  path = str(tmp_path / "flow.keras")
  model.save(path)
  loaded = keras.models.load_model(path)
  assert loaded.distribution.num_classes == model.distribution.num_classes
  seed = {"seed": tf.constant([1, 2])} if tiny_models.is_image(case) else {}
  np.testing.assert_array_equal(loaded.log_prob(x, c, **seed), model.log_prob(x, c, **seed))


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_file_loads_in_safe_mode_with_the_same_log_prob(name, tmp_path):
  model = trained(name)
  path = str(tmp_path / "flow.keras")
  model.save(path)
  loaded = keras.models.load_model(path)  # safe_mode=True is Keras's default.
  assert isinstance(loaded, tff.keras.FlowModel)
  x = data(name, 8)
  np.testing.assert_array_equal(log_prob(loaded, name, x), log_prob(model, name, x))
  assert loaded.optimizer.iterations.numpy() == model.optimizer.iterations.numpy() == 2
  for (i0, l0, s0), (i1, l1, s1) in zip(act_norm_values(model), act_norm_values(loaded)):
    assert i0 and i1
    np.testing.assert_array_equal(l0, l1)
    np.testing.assert_array_equal(s0, s1)
  if name == "glow":  # Loaded ActNorms are not started again by a further fit.
    before = act_norm_values(loaded)
    loaded.compile(keras.optimizers.SGD(0.))
    loaded.fit(data(name)[::-1].copy(), batch_size=16, epochs=1, verbose=0)
    for (_, l0, _), (_, l1, _) in zip(before, act_norm_values(loaded)):
      np.testing.assert_array_equal(l0, l1)


def test_tff_load_model_is_keras_load_model_with_checks(tmp_path):
  model = trained("glow")
  model.save(tmp_path / "flow.keras")
  loaded = tff.keras.load_model(tmp_path / "flow.keras")
  x = data("glow", 8)
  np.testing.assert_array_equal(log_prob(loaded, "glow", x), log_prob(model, "glow", x))


def mixed_flow():
  maf = tff.models.maf(2, num_layers=1, hidden_units=[8])
  return tfd.TransformedDistribution(maf, tfb.Shift(tf.Variable([0.5, -0.5])))


def disk_full(*args, **kwargs):
  raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
  model = trained("maf")
  keras_path, weights_path = tmp_path / "flow.keras", tmp_path / "flow.weights.h5"
  model.save(keras_path)
  model.save_weights(weights_path)
  before = {p: p.read_bytes() for p in (keras_path, weights_path)}
  with monkeypatch.context() as patch:  # The disk fills up while the archive is written.
    patch.setattr(zipfile.ZipFile, "writestr", disk_full)
    with pytest.raises(OSError, match="No space left"):
      model.save(keras_path)
  with monkeypatch.context() as patch:
    patch.setattr(h5py.Group, "create_dataset", disk_full)
    with pytest.raises(OSError, match="No space left"):
      model.save_weights(weights_path)
  unsaveable = tff.keras.FlowModel(mixed_flow())
  with pytest.raises(NotImplementedError, match="Save its weights instead"):
    unsaveable.save(keras_path)
  for path, content in before.items():
    assert path.read_bytes() == content
  assert sorted(os.listdir(tmp_path)) == ["flow.keras", "flow.weights.h5"]  # No leftovers.
  loaded = tff.keras.load_model(keras_path)
  np.testing.assert_array_equal(loaded.log_prob(data("maf", 4)), model.log_prob(data("maf", 4)))


def test_save_with_overwrite_false_refuses_an_existing_file(tmp_path):
  model = trained("maf")
  model.save_weights(tmp_path / "flow.weights.h5")
  with pytest.raises(FileExistsError, match="overwrite=False"):
    model.save_weights(tmp_path / "flow.weights.h5", overwrite=False)


def test_any_flow_saves_its_weights_but_only_builder_flows_save_whole(tmp_path):
  model = tff.keras.FlowModel(mixed_flow())
  model.compile(keras.optimizers.Adam(1e-2))
  model.fit(data("maf"), batch_size=16, epochs=1, verbose=0)
  path = str(tmp_path / "flow.weights.h5")
  model.save_weights(path)
  fresh = tff.keras.FlowModel(mixed_flow())
  fresh.load_weights(path)
  x = data("maf", 8)
  np.testing.assert_array_equal(fresh.log_prob(x), model.log_prob(x))
  with pytest.raises(NotImplementedError, match="Save its weights instead"):
    model.save(tmp_path / "flow.keras")


@pytest.mark.parametrize("what", ["model", "distribution"])
def test_tf_train_checkpoint_round_trip(what, tmp_path):
  model = trained("glow")
  fresh = tff.keras.FlowModel(BUILDERS["glow"]())
  if what == "model":  # The model's checkpoint holds its optimizer too.
    fresh.compile(keras.optimizers.Adam(1e-2))
    fresh.optimizer.build(fresh.trainable_variables)
  save = {"model": model, "distribution": model.distribution}[what]
  restore = {"model": fresh, "distribution": fresh.distribution}[what]
  path = tf.train.Checkpoint(flow=save).write(str(tmp_path / "ckpt"))
  tf.train.Checkpoint(flow=restore).read(path).assert_consumed()
  x = data("glow", 8)
  np.testing.assert_array_equal(log_prob(fresh, "glow", x), log_prob(model, "glow", x))
  assert all(i for i, _, _ in act_norm_values(fresh))
  if what == "model":
    assert fresh.optimizer.iterations.numpy() == 2


def test_missing_truncated_and_mismatched_files_raise_and_load_nothing(tmp_path):
  model = trained("glow")
  keras_path, weights_path = str(tmp_path / "a.keras"), str(tmp_path / "a.weights.h5")
  model.save(keras_path)
  model.save_weights(weights_path)
  for path in (keras_path, weights_path):
    with open(path, "rb") as f:
      head = f.read(os.path.getsize(path) // 2)
    with open(path.replace("a.", "cut."), "wb") as f:
      f.write(head)

  with pytest.raises(FileNotFoundError, match="Expected a .keras file"):
    tff.keras.load_model(tmp_path / "missing.keras")
  with pytest.raises(ValueError, match="truncated or corrupt"):
    tff.keras.load_model(tmp_path / "cut.keras")

  other = tff.keras.FlowModel(
      tff.models.glow(IMAGE, levels=2, depth=3, hidden_channels=4, num_bins=4))
  before = [v.numpy().copy() for v in other.distribution.variables]
  with pytest.raises(FileNotFoundError, match="Expected a weights file"):
    other.load_weights(str(tmp_path / "missing.weights.h5"))
  with pytest.raises(ValueError, match="truncated or corrupt"):
    other.load_weights(str(tmp_path / "cut.weights.h5"))
  with pytest.raises(ValueError, match=r"Expected \d+ variables for the flow 'glow'"):
    other.load_weights(weights_path)
  wider = tff.keras.FlowModel(
      tff.models.glow(IMAGE, levels=2, depth=2, hidden_channels=6, num_bins=4))
  with pytest.raises(ValueError, match=r"Expected shape .* Nothing was loaded"):
    wider.load_weights(weights_path)
  for old, new in zip(before, other.distribution.variables):
    np.testing.assert_array_equal(old, new.numpy())


TRAIN_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    import keras, numpy as np
    import tfp_flows as tff

    backup, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    x = np.random.default_rng(0).normal(size=(64, 2)).astype(np.float32)
    model = tff.keras.FlowModel(tff.models.maf(2, num_layers=2, hidden_units=[8], seed=0))
    model.compile(keras.optimizers.Adam(1e-2))

    class Kill(keras.callbacks.Callback):
      def on_epoch_begin(self, epoch, logs=None):
        print("epoch", epoch, flush=True)

      def on_train_batch_end(self, batch, logs=None):
        self.step = getattr(self, "step", 0) + 1
        if self.step == kill_at:  # Mid-epoch: batch 2 of 4 in the third epoch.
          os.kill(os.getpid(), signal.SIGKILL)

    model.fit(x, batch_size=16, epochs=4, shuffle=False, verbose=0, callbacks=[
        keras.callbacks.BackupAndRestore(backup, save_freq="epoch"), Kill()])
    np.savez(out, *[v.numpy() for v in model.distribution.variables])
""")


def test_killed_fit_resumes_from_its_last_checkpoint(tmp_path):
  script = tmp_path / "train.py"
  script.write_text(TRAIN_SCRIPT)
  env = dict(os.environ, PYTHONPATH=os.getcwd(), TF_CPP_MIN_LOG_LEVEL="2")

  def run(backup, out, kill_at):
    return subprocess.run([sys.executable, str(script), str(tmp_path / backup),
                           str(tmp_path / out), str(kill_at)], env=env, capture_output=True,
                          text=True, timeout=180)

  killed = run("backup", "resumed.npz", 10)
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  assert "epoch 2" in killed.stdout and not (tmp_path / "resumed.npz").exists()
  resumed = run("backup", "resumed.npz", 0)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert resumed.stdout.split() == ["epoch", "2", "epoch", "3"]  # Epochs 0, 1 not redone.
  straight = run("fresh_backup", "straight.npz", 0)
  assert straight.returncode == 0, straight.stderr[-2000:]
  resumed_values, straight_values = np.load(tmp_path / "resumed.npz"), np.load(
      tmp_path / "straight.npz")
  assert len(straight_values.files) == 8
  for key in straight_values.files:  # Same weights, Adam moments and data order.
    np.testing.assert_array_equal(resumed_values[key], straight_values[key])


def test_backup_and_restore_falls_back_to_the_previous_copy_of_a_cut_checkpoint(tmp_path):
  backup = str(tmp_path / "backup")
  x = data("maf", 32)
  make = lambda: tff.keras.FlowModel(tff.models.maf(2, num_layers=1, hidden_units=[4], seed=0))
  callback = lambda: keras.callbacks.BackupAndRestore(backup, double_checkpoint=True,
                                                      delete_checkpoint=False)
  model = make()
  model.compile(keras.optimizers.Adam(1e-2))
  model.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[callback()])
  latest = os.path.join(backup, "latest.weights.h5")
  with open(latest, "r+b") as f:  # A kill while writing: the latest copy is cut short.
    f.truncate(100)
  resumed = make()
  resumed.compile(keras.optimizers.Adam(1e-2))
  resumed.fit(x, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[callback()])
  assert resumed.optimizer.iterations.numpy() == 4  # Epoch 1 (from .bkp) again, then done.
