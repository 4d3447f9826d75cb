"""Resumable training: Keras `fit` in chunks of steps, checkpointed by BackupAndRestore.

`fit` runs `steps / steps_per_checkpoint` "epochs" of `steps_per_checkpoint` steps over a
repeated data set. `keras.callbacks.BackupAndRestore` saves the weights, the optimizer
(hence its step count and the learning-rate schedule) and the epoch after every epoch, and
restores them at the start of the next `fit` over the same backup directory, so a killed
run goes on from its last checkpoint when the same command is run again.

`FlowModel.fit` initialises Glow's ActNorms on a first batch before the callback restores
a checkpoint; the restore then overwrites them (their `initialized` flags included).
"""

import json
import os

import keras
import tensorflow as tf

import tfp_flows as tff

# The file in which BackupAndRestore records the last completed epoch.
_METADATA = "training_metadata.json"


def checkpointed_epoch(backup_dir):
  """The number of epochs the checkpoint in `backup_dir` has done; 0 without one."""
  try:
    with open(os.path.join(backup_dir, _METADATA)) as f:
      return int(json.load(f)["epoch"])
  except (OSError, ValueError, KeyError, TypeError):
    return 0


def dataset(data, view, batch_size, seed, conditional=False):
  """Endless shuffled batches of `data.train` as the flow sees them (`view.encode`);
  `(images, labels)` pairs for a class-conditional flow."""
  if data.is_image:
    batches = tff.data.image_dataset(data.train, batch_size, seed=seed, repeat=True,
                                     drop_remainder=True,
                                     labels=data.train_labels if conditional else None)
  else:
    batches = (tf.data.Dataset.from_tensor_slices(data.train)
               .shuffle(len(data.train), seed=seed).repeat().batch(batch_size, True))
  if not view.image_model:
    batches = batches.map(view.encode)
  return batches.prefetch(tf.data.AUTOTUNE)


def compile_model(model, steps, learning_rate, jit_compile):
  """Adam whose learning rate decays to 0 along a cosine over `steps`."""
  schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
  model.compile(keras.optimizers.Adam(schedule), jit_compile=jit_compile)


class _CsvLog(keras.callbacks.Callback):
  """One row per epoch (`epoch`, `loss`, `bits_per_dim`) in the CSV `path`, kept across
  resumes. The whole file is rewritten to a temporary name and renamed after each epoch
  (`tff.files.write_text`), so a kill never leaves half a row."""

  COLUMNS = ("epoch", "loss", "bits_per_dim")

  def __init__(self, path):
    super().__init__()
    self.path = path

  def on_epoch_end(self, epoch, logs=None):
    text = ",".join(self.COLUMNS) + "\n"
    if os.path.exists(self.path):
      with open(self.path) as f:
        text = f.read()
    logs = logs or {}
    row = [str(epoch)] + [repr(float(logs[k])) for k in self.COLUMNS[1:]]
    tff.files.write_text(self.path, text + ",".join(row) + "\n")


def fit(model, batches, steps, steps_per_checkpoint, backup_dir, verbose, log_path,
        tensorboard_log):
  """Trains `model` up to `steps` optimizer steps in all; returns the Keras history.

  After every `steps_per_checkpoint` steps the loss and bits/dim are added to the CSV
  `log_path` (a resumed run adds to it) and to `tensorboard_log` (a
  `summaries.TensorBoardLog`), just before the checkpoint: a kill between them repeats that
  epoch's row after the resume rather than losing it.
  """
  backup = keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True,
                                            delete_checkpoint=False)
  log = _CsvLog(log_path)
  return model.fit(batches, epochs=steps // steps_per_checkpoint,
                   steps_per_epoch=steps_per_checkpoint,
                   callbacks=[log, tensorboard_log, backup], shuffle=False, verbose=verbose)
