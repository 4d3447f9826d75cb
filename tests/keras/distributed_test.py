"""FlowModel under tf.distribute: `fit` on two replicas (MirroredStrategy over two logical
CPUs), `fit_distributed` under MirroredStrategy and under MultiWorkerMirroredStrategy (two
local processes) all train the weights that `fit` trains on one replica.

Each distributed run is a fresh process (strategy_worker.py): logical devices are fixed
when TensorFlow starts. The runs share initial weights, data, global batches of 16, and
plain SGD (lr 0.01, 2 epochs of 4 steps), so they differ only in how each global batch is
split over replicas. Replicas sum per-replica means of 8 examples instead of one mean of
16, which reorders float32 sums: the weights then differ by rounding (at most 1.2e-7 for
the Glow, 4e-9 for the MAF, weights of size ~1 to 3), and rtol 1e-5 / atol 1e-6 allows
about 10x that. A real difference is far larger: without the loss's 1/replicas scale the
weights after these 8 steps differ by 0.03 (Glow) and 0.05 (MAF).
"""

import os
import signal
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfp_flows as tff
from tests.keras import strategy_worker
from tfp_flows.keras import distributed

RTOL, ATOL = 1e-5, 1e-6
TIMEOUT = 120  # Seconds per process: a hung collective fails the test instead of blocking.
# The one mirrored process trains eleven small models one after another; on a loaded 2-core
# CI machine eight of them took over 120 s once. It has no cross-process collective to hang on.
MIRRORED_TIMEOUT = 550
HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "strategy_worker.py")


def start(*args):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
             PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.dirname(HERE)),
                                         os.environ.get("PYTHONPATH", "")]))
  return subprocess.Popen([sys.executable, WORKER, *map(str, args)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(processes, timeout=TIMEOUT):
  """Waits for every process; fails with their output if one fails or hangs."""
  outputs = []
  try:
    for process in processes:
      outputs.append(process.communicate(timeout=timeout)[0])
  except subprocess.TimeoutExpired:
    for process in processes:
      process.kill()
    pytest.fail(f"A strategy worker ran over {timeout}s. Output so far: {outputs}")
  for process, output in zip(processes, outputs):
    assert process.returncode == 0, output[-5000:]


def load(path):
  with np.load(path) as f:
    return dict(f)


def variables(run, stage):
  return [run[f"{stage}/{i}"] for i in range(sum(k.startswith(f"{stage}/") for k in run))]


def assert_same_weights(actual, expected):
  assert len(actual) == len(expected)
  for a, e in zip(actual, expected):
    if np.issubdtype(e.dtype, np.floating):
      np.testing.assert_allclose(a, e, rtol=RTOL, atol=ATOL)
    else:  # ActNorm flags, 1x1 conv permutations and signs: exactly.
      np.testing.assert_array_equal(a, e)


def max_difference(actual, expected):
  return max(np.abs(a.astype(np.float64) - e).max(initial=0.)
             for a, e in zip(actual, expected))


def run(results, model, name):
  prefix = f"{model}/{name}/"
  return {k[len(prefix):]: v for k, v in results.items() if k.startswith(prefix)}


@pytest.fixture(scope="module")
def mirrored(tmp_path_factory):
  path = tmp_path_factory.mktemp("mirrored") / "mirrored.npz"
  finish([start("mirrored", path)], MIRRORED_TIMEOUT)
  return load(path)


def check_matches_one_replica(results, model, name):
  one, two = run(results, model, "one"), run(results, model, name)
  for i in range(len(variables(two, "final"))):
    assert two[f"replicas_equal/{i}"], f"variable {i}: the two replicas' copies differ"
  np.testing.assert_array_equal(two["iterations"], 8)
  assert_same_weights(variables(two, "init"), variables(one, "init"))
  assert max_difference(variables(one, "final"), variables(one, "start")) > 1e-2  # It trained.
  assert_same_weights(variables(two, "final"), variables(one, "final"))
  np.testing.assert_allclose(two["loss"], one["loss"], rtol=RTOL)
  assert one["loss"][1] < one["loss"][0]


@pytest.mark.parametrize("model", ["glow", "maf", "class_glow"])
def test_fit_on_two_replicas_matches_one_replica(mirrored, model):
  check_matches_one_replica(mirrored, model, "two_fit")


@pytest.mark.parametrize("name", ["two_fit", "two_custom"])
def test_act_norm_init_on_two_replicas_matches_one_replica(mirrored, name):
  one, two = run(mirrored, "glow", "one"), run(mirrored, "glow", name)
  keys = sorted(k for k in one if k.startswith("act_norm/"))
  assert len(keys) == 4  # loc and log_scale of the 2 ActNorms.
  for key in keys:  # The same eager computation on the same global batch: exactly equal.
    np.testing.assert_array_equal(two[key], one[key])
  assert np.abs(one["act_norm/0/loc"]).min() > 0.1  # Data-dependent, not the zero start.


@pytest.mark.parametrize("model", ["glow", "maf", "class_glow"])
def test_fit_distributed_on_two_replicas_matches_fit_on_one(mirrored, model):
  check_matches_one_replica(mirrored, model, "two_custom")


def test_fit_with_a_short_last_batch_on_two_replicas_matches_one_replica(mirrored):
  one, two = run(mirrored, "uneven", "one"), run(mirrored, "uneven", "two_fit")
  np.testing.assert_array_equal(two["iterations"], 4)  # 2 epochs of batches 16 and 1.
  assert np.all(np.isfinite(two["loss"]))
  np.testing.assert_allclose(two["loss"], one["loss"], rtol=RTOL)
  assert_same_weights(variables(two, "final"), variables(one, "final"))


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ",".join(map(str, ports))


def test_fit_distributed_on_two_workers_matches_fit_on_one_replica(mirrored, tmp_path):
  ports = free_ports(2)
  paths = [tmp_path / f"worker{task}.npz" for task in range(2)]
  finish([start("worker", path, task, ports) for task, path in enumerate(paths)])
  first, second = map(load, paths)
  assert first.keys() == second.keys()
  for key in first:  # The same all-reduced update on both workers: bitwise equal.
    np.testing.assert_array_equal(first[key], second[key], err_msg=key)
  one = run(mirrored, "glow", "one")
  np.testing.assert_array_equal(first["iterations"], 8)
  assert_same_weights(variables(first, "init"), variables(one, "init"))
  for key in (k for k in one if k.startswith("act_norm/")):
    np.testing.assert_array_equal(first[key], one[key])
  assert_same_weights(variables(first, "final"), variables(one, "final"))
  np.testing.assert_allclose(first["loss"], one["loss"], rtol=RTOL)


def test_two_workers_killed_mid_epoch_resume_from_their_checkpoint_to_the_same_weights(
    tmp_path):
  """SIGKILL worker 1 in epoch 2 (after epoch 1's checkpoint); worker 0 is then stuck in a
  collective and is killed too. Both restarted with the same command resume after epoch 1
  and end with the weights of an uninterrupted checkpointed run."""
  ports = free_ports(2)
  straight = [tmp_path / f"straight{task}.npz" for task in range(2)]
  finish([start("backup", path, task, ports, tmp_path / "straight_backup", 0)
          for task, path in enumerate(straight)])
  assert not (tmp_path / "straight_backup").exists()  # Removed when the run is done.

  backup_dir = tmp_path / "backup"
  ports = free_ports(2)
  resumed = [tmp_path / f"resumed{task}.npz" for task in range(2)]
  killed = [start("backup", path, task, ports, backup_dir, 1) for task, path in enumerate(resumed)]
  deadline = time.time() + TIMEOUT
  while not (backup_dir / "checkpoint").exists() and time.time() < deadline:
    time.sleep(0.02)
  assert (backup_dir / "checkpoint").exists(), "no checkpoint after epoch 1"
  killed[1].send_signal(signal.SIGKILL)
  time.sleep(2.)
  killed[0].kill()
  for process in killed:
    process.communicate(timeout=TIMEOUT)
  assert killed[1].returncode == -signal.SIGKILL
  assert not any(path.exists() for path in resumed)  # Neither finished.

  ports = free_ports(2)
  finish([start("backup", path, task, ports, backup_dir, 0) for task, path in enumerate(resumed)])
  for task in range(2):
    after, reference = load(resumed[task]), load(straight[task])
    assert int(after["epochs_run"]) == 1 and int(reference["epochs_run"]) == 2
    assert int(after["iterations"]) == int(reference["iterations"]) == 8
    assert_same_weights(variables(after, "final"), variables(reference, "final"))


def test_fit_distributed_with_steps_per_epoch_matches_fit_without_a_strategy():
  default = tf.distribute.get_strategy()
  one = strategy_worker.train("glow", default, "fit")
  steps = strategy_worker.train("glow", default, "custom_steps")
  np.testing.assert_array_equal(steps["iterations"], 8)
  assert_same_weights(variables(steps, "init"), variables(one, "init"))
  assert_same_weights(variables(steps, "start"), variables(one, "start"))
  assert_same_weights(variables(steps, "final"), variables(one, "final"))
  np.testing.assert_allclose(steps["loss"], one["loss"], rtol=RTOL)


def test_fit_distributed_asks_for_static_batches_and_a_compiled_model():
  model = tff.keras.FlowModel(tff.models.maf(2, num_layers=1, hidden_units=[4], seed=0))
  x = np.zeros([10, 2], np.float32)
  with pytest.raises(ValueError, match="compiled"):
    distributed.fit_distributed(model, tf.data.Dataset.from_tensor_slices(x).batch(4))
  model.compile(keras.optimizers.SGD(0.01))
  with pytest.raises(ValueError, match="drop_remainder=True. Received: batch size None"):
    distributed.fit_distributed(model, tf.data.Dataset.from_tensor_slices(x).batch(4))
  with pytest.raises(TypeError, match="tf.data.Dataset"):
    distributed.fit_distributed(model, x)
