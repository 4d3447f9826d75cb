"""`fit_distributed`: a `FlowModel` training loop for any `tf.distribute.Strategy`.

`FlowModel.fit` works under `MirroredStrategy` (one machine, several devices). Under
`MultiWorkerMirroredStrategy` Keras 3.15's `fit` fails on its first step: it reduces every
scalar metric with `strategy.reduce("MEAN", v, axis=0)`, and TensorFlow raises "Invalid
reduction dimension 0 for input with 0 dimensions" (tensorflow/tensorflow#72388). This
loop runs the model's own `train_step` (same loss, same optimizer update) with
`strategy.run` and reduces the metrics with `axis=None`:

    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # or Mirrored, TPU, ...
    with strategy.scope():
      model = tff.keras.FlowModel(tff.models.glow([32, 32, 3]))
      model.compile(keras.optimizers.Adam(1e-3))
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(64, drop_remainder=True)
    history = tff.keras.fit_distributed(model, dataset, epochs=10)  # {"loss": [...], ...}

The dataset yields global batches `[B, *event_shape]` (or `(x, ...)` tuples): each of the
`R = strategy.num_replicas_in_sync` replicas gets `B / R` examples, and the update is the
one of a single replica on the whole batch. Every worker runs the same program on the same
dataset; `experimental_distribute_dataset` gives each worker its share of a global batch.

It is TPU-safe (`TPUStrategy` is a strategy like the others; not run on a TPU here):
shapes are static (`B` must be known, so batch with `drop_remainder=True`; `B` divisible
by `R`), one `tf.function` per step holds the whole replicated step, the step changes no
Python state and calls back no host code, and the host reads the metrics once per epoch.
ActNorms that are not yet initialised start from the first global batch, eagerly in the
cross-replica context, as in `FlowModel.fit`: under several workers, the dataset must then
yield the same first batch on every worker (no unseeded shuffle before it).
"""

import os

import tensorflow as tf

from tfp_flows.keras import flow_model
from tfp_flows.keras import guards
from tfp_flows.keras import inputs


def fit_distributed(model, dataset, epochs=1, steps_per_epoch=None, verbose=1,
                    backup_dir=None, delete_backup=True):
  """Trains `model` under the strategy it was built in; returns the per-epoch metrics.

  Args:
    model: a `FlowModel` built and compiled under `strategy.scope()`.
    dataset: a `tf.data.Dataset` of global batches with a static batch size divisible by
      the number of replicas (use `batch(B, drop_remainder=True)`), in the same order at
      every run (seeded shuffles only), so that a resumed run sees the batches the
      uninterrupted one would have.
    epochs: number of epochs.
    steps_per_epoch: steps per epoch, read from one iterator over all epochs (repeat the
      dataset); `None` runs each epoch until the dataset ends.
    verbose: 1 prints the metrics after each epoch, 0 is silent.
    backup_dir: a directory for `keras.callbacks.BackupAndRestore`-like fault tolerance:
      after each epoch the weights, the optimizer (its step count and moments) and the
      epoch are saved there with `tf.train.CheckpointManager` (on several workers, the
      chief writes `backup_dir`, the others a temporary directory inside it that they
      remove); a run that starts with a checkpoint there resumes after its epoch, so a
      killed worker (restart all of them with the same command) loses at most the epoch it
      was in. `None`: no checkpoints.
    delete_backup: remove the checkpoint once all epochs are done (as BackupAndRestore).

  Returns:
    `{"loss": [...], "bits_per_dim": [...], ...}`, one value per epoch run by this call
    as in Keras's `History.history`: the mean over that epoch's steps.

  Raises:
    FloatingPointError: at the end of an epoch with a step whose update was skipped
      because its loss or gradients were not finite (the weights stay the last finite
      ones, and no checkpoint is written for that epoch).

  Example:
    >>> strategy = tf.distribute.get_strategy()  # e.g. a TPUStrategy, a multi-worker one
    >>> with strategy.scope():
    ...   model = tff.keras.FlowModel(tff.models.maf(2, num_layers=1, hidden_units=[4]))
    ...   model.compile(keras.optimizers.Adam(1e-3))
    >>> x = np.random.normal(size=[32, 2]).astype(np.float32)
    >>> dataset = tf.data.Dataset.from_tensor_slices(x).batch(16, drop_remainder=True)
    >>> history = tff.keras.fit_distributed(model, dataset, epochs=2, verbose=0)
    >>> len(history["loss"]), all(np.isfinite(history["loss"]))
    (2, True)
  """
  if getattr(model, "optimizer", None) is None:
    raise ValueError("Expected a compiled model: call model.compile(optimizer) under "
                     "strategy.scope() first.")
  strategy = model.distribute_strategy
  _check_batches(dataset, strategy.num_replicas_in_sync)
  with strategy.scope():
    if not model.optimizer.built:
      model.optimizer.build(model.trainable_variables)
    backup = None if backup_dir is None else _Backup(model, strategy, backup_dir)
    done = 0 if backup is None else backup.restore()
    if flow_model.has_uninitialized_act_norm(model.distribution):
      model.initialize(*inputs.split(next(iter(dataset))))
  if steps_per_epoch is not None and done:  # The batches the finished epochs used.
    dataset = dataset.skip(done * steps_per_epoch)
  distributed = strategy.experimental_distribute_dataset(dataset)

  @tf.function
  def train_step(batch):
    logs = strategy.run(model.train_step, args=(batch,))
    return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

  history = {}
  iterator = None if steps_per_epoch is None else iter(distributed)
  for epoch in range(done, epochs):
    model.reset_metrics()
    batches = distributed if steps_per_epoch is None else _take(iterator, steps_per_epoch)
    logs = None
    for batch in batches:
      logs = train_step(batch)
    if logs is None:
      raise ValueError(f"Expected at least one batch in epoch {epoch + 1}. Received: an "
                       "empty dataset (repeat it when steps_per_epoch is set).")
    if float(logs[guards.SKIPPED]) > 0:
      raise FloatingPointError(
          f"Expected a finite loss and finite gradients. Received: a non-finite one in epoch "
          f"{epoch + 1}; its update was skipped, the weights are the last finite ones and no "
          "checkpoint was written for this epoch.")
    for name, value in logs.items():
      history.setdefault(name, []).append(float(value))
    if backup is not None and (epoch + 1 < epochs or not delete_backup):
      # (No save after the last epoch when it is deleted at once: on several workers the
      # chief's delete could race a late worker's write.)
      backup.save(epoch + 1)
    if verbose:
      print(f"Epoch {epoch + 1}/{epochs} - " +
            " - ".join(f"{name}: {values[-1]:.4f}" for name, values in history.items()))
  if backup is not None and delete_backup:
    backup.delete()
  return history


class _Backup:
  """The checkpoint of a distributed run: the model (weights and optimizer) and the epoch."""

  def __init__(self, model, strategy, directory):
    self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
    self._checkpoint = tf.train.Checkpoint(model=model, epoch=self._epoch)
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    task_id = getattr(resolver, "task_id", None) or 0
    # TF's multi-worker convention: the chief (or worker 0 when there is no chief) writes
    # the checkpoint; every other worker must save too (it takes part in the same
    # collectives) but into a directory of its own, removed after each save.
    self._is_chief = task_type in (None, "chief") or (
        task_type == "worker" and task_id == 0 and "chief" not in
        (resolver.cluster_spec().as_dict() if resolver is not None else {}))
    self._directory = directory
    self._write_directory = (directory if self._is_chief else
                             os.path.join(directory, f"workertemp_{task_type}_{task_id}"))
    self._manager = (tf.train.CheckpointManager(self._checkpoint, directory, max_to_keep=1)
                     if self._is_chief else None)

  def restore(self):
    """Restores the latest checkpoint in the directory, if any; returns its epoch."""
    latest = tf.train.latest_checkpoint(self._directory)
    if latest is None:
      return 0
    self._checkpoint.restore(latest).assert_existing_objects_matched()
    return int(self._epoch.numpy())

  def save(self, epoch):
    self._epoch.assign(epoch)
    if self._is_chief:
      self._manager.save()
      return
    tf.io.gfile.makedirs(self._write_directory)
    self._checkpoint.write(os.path.join(self._write_directory, "ckpt"))
    tf.io.gfile.rmtree(self._write_directory)

  def delete(self):
    if self._is_chief and tf.io.gfile.exists(self._directory):
      tf.io.gfile.rmtree(self._directory)


def _check_batches(dataset, num_replicas):
  if not isinstance(dataset, tf.data.Dataset):
    raise TypeError(f"Expected a tf.data.Dataset. Received: {type(dataset).__name__}")
  size = tf.nest.flatten(dataset.element_spec)[0].shape[0]
  if size is None or size % num_replicas:
    raise ValueError(
        f"Expected a static global batch size divisible by the {num_replicas} replicas: "
        f"batch with drop_remainder=True. Received: batch size {size}.")


def _take(iterator, steps):
  for _ in range(steps):
    batch = next(iterator, None)
    if batch is None:
      return
    yield batch

