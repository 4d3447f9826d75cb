"""Training runs for distributed_test.py, each in a fresh process (TensorFlow's devices are
fixed once it starts). Writes an .npz of every variable of the flow.

  python strategy_worker.py mirrored OUT.npz         # 1 replica vs 2 logical CPUs
  python strategy_worker.py worker OUT.npz TASK PORT0,PORT1   # MultiWorkerMirroredStrategy
  python strategy_worker.py backup OUT.npz TASK PORT0,PORT1 DIR SLOW  # ... checkpointed in DIR
"""

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top
import tensorflow_probability as tfp  # pylint: disable=g-import-not-at-top

import tfp_flows as tff  # pylint: disable=g-import-not-at-top
from tfp_flows.keras import distributed  # pylint: disable=g-import-not-at-top

tfb = tfp.bijectors
tfd = tfp.distributions

BATCH = 16  # Global batch: 8 examples per replica on 2 replicas.
EPOCHS = 2
LEARNING_RATE = 0.01


def glow():
  """A small Glow on continuous data: no dequantization noise, data-dependent ActNorms."""
  return tff.models.glow([4, 4, 2], levels=1, depth=2, hidden_channels=8, num_bins=None,
                         logit_alpha=None, seed=0)


def mixed_maf():
  """A MAF with TFP's own variable-holding bijectors on the data side."""
  maf = tff.models.maf(2, num_layers=2, hidden_units=[8], seed=0)
  return tfd.TransformedDistribution(maf, tfb.Chain([
      tfb.Shift(tf.Variable([0.1, -0.1], name="shift")),
      tfb.ScaleMatvecLU(tf.Variable([[1., 0.], [0.2, 1.]], name="lower_upper"),
                        permutation=tf.Variable([1, 0], trainable=False, name="perm"))]))


def class_conditional_glow():
  """`glow` given a label of 3 classes, with Glow's learned prior (given the label too)."""
  return tff.models.glow([4, 4, 2], levels=2, depth=1, hidden_channels=8, num_bins=None,
                         logit_alpha=None, learned_prior=True, num_classes=3, seed=0)


MODELS = {"glow": glow, "maf": mixed_maf, "class_glow": class_conditional_glow}


def data(name):
  """64 fixed examples: 4 global batches per epoch, per-channel offsets for ActNorm; labels
  for the class-conditional model (else `None`)."""
  rng = np.random.default_rng(0)
  if name == "glow":
    return (rng.normal(size=(64, 4, 4, 2)) * [0.5, 2.] + [1., -3.]).astype(np.float32), None
  if name == "class_glow":
    labels = np.arange(64) % 3
    x = rng.normal(size=(64, 4, 4, 2)) * [0.5, 2.] + [1., -3.] + labels[:, None, None, None]
    return x.astype(np.float32), labels.astype(np.int32)
  return (rng.normal(size=(64, 2)) * [1., 0.5] + [0.5, 0.]).astype(np.float32), None


def train(name, strategy, loop, init=None, x=None, backup_dir=None, slow=False):
  """Builds and trains model `name` under `strategy`; returns a dict of arrays.

  `init`, when given, are the starting values of every variable (shared between runs).
  `loop` is "fit" (`FlowModel.fit`), "custom" (`fit_distributed`) or "custom_steps"
  (`fit_distributed` with `steps_per_epoch` on a repeated dataset). The result holds
  every variable at `init/i` (built), `start/i` (after the ActNorm initialisation) and
  `final/i`, the ActNorms as initialised, the per-epoch losses and the step count.
  `x` replaces the model's default data.
  """
  keras.utils.set_random_seed(0)
  with strategy.scope():
    dist = MODELS[name]()
    model = tff.keras.FlowModel(dist)
    model.compile(keras.optimizers.SGD(LEARNING_RATE))
  if init is not None:
    for variable, value in zip(dist.variables, init):
      variable.assign(value)
  result = {f"init/{i}": v.numpy() for i, v in enumerate(dist.variables)}
  act_norms = [m for m in dist.submodules if isinstance(m, tff.bijectors.ActNorm)]
  initialize = model.initialize

  def recording_initialize(x, context=None, force=False):  # Keeps the ActNorms' start.
    count = initialize(x, context, force)
    for i, m in enumerate(act_norms):
      result[f"act_norm/{i}/loc"] = m.loc.numpy()
      result[f"act_norm/{i}/log_scale"] = m.log_scale.numpy()
    result.update({f"start/{i}": v.numpy() for i, v in enumerate(dist.variables)})
    return count

  model.initialize = recording_initialize
  x, labels = data(name) if x is None else (x, None)
  slices = x if labels is None else (x, labels)
  if loop == "fit":
    history = model.fit(x, labels, batch_size=BATCH, epochs=EPOCHS, shuffle=False,
                        verbose=0).history
  elif loop == "custom":
    dataset = tf.data.Dataset.from_tensor_slices(slices).batch(BATCH, drop_remainder=True)
    if slow:  # 0.4 s a batch: time for the test to kill a worker in the middle of epoch 2.
      dataset = dataset.map(lambda b: tf.ensure_shape(
          tf.py_function(lambda t: time.sleep(0.4) or t, [b], b.dtype), b.shape))
    history = distributed.fit_distributed(model, dataset, epochs=EPOCHS, verbose=0,
                                          backup_dir=backup_dir)
  else:  # "custom_steps": one iterator over a repeated dataset.
    dataset = tf.data.Dataset.from_tensor_slices(slices).batch(BATCH, drop_remainder=True)
    history = distributed.fit_distributed(model, dataset.repeat(), epochs=EPOCHS,
                                          steps_per_epoch=len(x) // BATCH, verbose=0)
  for i, v in enumerate(dist.variables):
    result.setdefault(f"start/{i}", result[f"init/{i}"])  # No ActNorm: no initialize call.
    copies = [c.numpy() for c in strategy.experimental_local_results(v)]
    result[f"final/{i}"] = copies[0]
    result[f"replicas_equal/{i}"] = np.array(all(np.array_equal(c, copies[0]) for c in copies))
  result["loss"] = np.array(history["loss"])
  result["epochs_run"] = np.array(len(history["loss"]))
  result["iterations"] = np.array(model.optimizer.iterations.numpy())
  return result


def mirrored():
  cpu = tf.config.list_physical_devices("CPU")[0]
  tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
  two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  assert two.num_replicas_in_sync == 2
  out = {}
  for name in MODELS:
    one = train(name, tf.distribute.get_strategy(), "fit")
    init = [one[f"init/{i}"] for i in range(sum(k.startswith("init/") for k in one))]
    runs = {"one": one, "two_fit": train(name, two, "fit", init),
            "two_custom": train(name, two, "custom", init)}
    out.update({f"{name}/{run}/{k}": v for run, r in runs.items() for k, v in r.items()})
  # 17 examples in global batches of 16: the last batch leaves the second replica empty.
  uneven = data("maf")[0][:BATCH + 1]
  one = train("maf", tf.distribute.get_strategy(), "fit", x=uneven)
  init = [one[f"init/{i}"] for i in range(sum(k.startswith("init/") for k in one))]
  runs = {"one": one, "two_fit": train("maf", two, "fit", init, x=uneven)}
  out.update({f"uneven/{run}/{k}": v for run, r in runs.items() for k, v in r.items()})
  return out


def two_workers(task, ports):
  os.environ["TF_CONFIG"] = json.dumps({
      "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports.split(",")]},
      "task": {"type": "worker", "index": int(task)}})
  strategy = tf.distribute.MultiWorkerMirroredStrategy()
  assert strategy.num_replicas_in_sync == 2
  return strategy


def worker(task, ports):
  return train("glow", two_workers(task, ports), "custom")


def backup(task, ports, backup_dir, slow):
  """The worker run, checkpointed after each epoch in `backup_dir` (resumed from it)."""
  strategy = two_workers(task, ports)
  return train("glow", strategy, "custom", backup_dir=backup_dir, slow=slow == "1")


if __name__ == "__main__":
  np.savez(sys.argv[2], **{"mirrored": mirrored, "worker": worker,
                           "backup": backup}[sys.argv[1]](*sys.argv[3:]))
