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

import tensorflow as tf

from tfp_flows.keras import flow_model


def fit_distributed(model, dataset, epochs=1, steps_per_epoch=None, verbose=1):
  """Trains `model` under the strategy it was built in; returns the per-epoch metrics.

  Args:
    model: a `FlowModel` built and compiled under `strategy.scope()`.
    dataset: a `tf.data.Dataset` of global batches with a static batch size divisible by
      the number of replicas (use `batch(B, drop_remainder=True)`).
    epochs: number of epochs.
    steps_per_epoch: steps per epoch, read from one iterator over all epochs (repeat the
      dataset); `None` runs each epoch until the dataset ends.
    verbose: 1 prints the metrics after each epoch, 0 is silent.

  Returns:
    `{"loss": [...], "bits_per_dim": [...]}`, one value per epoch as in Keras's
    `History.history`: the mean over that epoch's steps.
  """
  if getattr(model, "optimizer", None) is None:
    raise ValueError("Expected a compiled model: call model.compile(optimizer) under "
                     "strategy.scope() first.")
  strategy = model.distribute_strategy
  _check_batches(dataset, strategy.num_replicas_in_sync)
  with strategy.scope():
    if flow_model.has_uninitialized_act_norm(model.distribution):
      model.initialize(flow_model.features(next(iter(dataset))))
    if not model.optimizer.built:
      model.optimizer.build(model.trainable_variables)
  distributed = strategy.experimental_distribute_dataset(dataset)

  @tf.function
  def train_step(batch):
    logs = strategy.run(model.train_step, args=(batch,))
    return {name: strategy.reduce("MEAN", value, axis=None) for name, value in logs.items()}

  history = {}
  iterator = None if steps_per_epoch is None else iter(distributed)
  for epoch in range(epochs):
    model.reset_metrics()
    batches = distributed if steps_per_epoch is None else _take(iterator, steps_per_epoch)
    logs = None
    for batch in batches:
      logs = train_step(batch)
    if logs is None:
      raise ValueError(f"Expected at least one batch in epoch {epoch + 1}. Received: an "
                       "empty dataset (repeat it when steps_per_epoch is set).")
    for name, value in logs.items():
      history.setdefault(name, []).append(float(value))
    if verbose:
      print(f"Epoch {epoch + 1}/{epochs} - " +
            " - ".join(f"{name}: {values[-1]:.4f}" for name, values in history.items()))
  return history


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

