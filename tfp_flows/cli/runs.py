"""The files of a run's workdir, and `run.json`: the settings `train` was given.

    workdir/run.json       model, data and training settings (read by sample, evaluate)
    workdir/backup/        BackupAndRestore's checkpoint while training (removed at the end)
    workdir/model.keras    the trained FlowModel
    workdir/metrics.json   test NLL and bits/dim, training time
    workdir/samples.png    samples (an image grid, or a 2-D density and scatter)
    workdir/log.csv        loss and bits/dim after every checkpoint interval (kept on resume)
    workdir/loss.png       those, plotted against the step
    workdir/tensorboard/   the same scalars and sample grids for TensorBoard (`summaries`)
"""

import json
import os

from tfp_flows import files

RUN = "run.json"
BACKUP = "backup"
MODEL = "model.keras"
METRICS = "metrics.json"
SAMPLES = "samples.png"
LOG = "log.csv"
LOSS_PLOT = "loss.png"
TENSORBOARD = "tensorboard"


def path(workdir, name):
  return os.path.join(workdir, name)


def write_json(file_path, record):
  """Writes `record` atomically (a killed run never leaves half a file)."""
  files.write_text(file_path, json.dumps(record, indent=2) + "\n")


def read_json(file_path):
  with open(file_path) as f:
    return json.load(f)


def check_not_finished(workdir, overwrite):
  """Raises ValueError when `workdir` holds a finished run (a model and no checkpoint)
  unless `overwrite`: train would otherwise silently replace it."""
  finished = (os.path.isfile(path(workdir, MODEL)) and os.path.isfile(path(workdir, METRICS))
              and not os.path.isdir(path(workdir, BACKUP)))
  if finished and not overwrite:
    raise ValueError(f"Expected a new or interrupted run in --workdir. Received: "
                     f"--workdir={workdir}, which holds a finished run ({MODEL}, {METRICS}); "
                     "pass --overwrite to train it again, or choose another --workdir")


def new_samples_path(workdir):
  """`workdir/samples-N.png` for the smallest N >= 1 not taken."""
  n = 1
  while os.path.exists(path(workdir, f"samples-{n}.png")):
    n += 1
  return path(workdir, f"samples-{n}.png")


def checkpoint_interval(steps, given):
  """`given`, or the largest divisor of `steps` up to 250 (`steps` itself when that
  divisor is under 10: a prime number of steps is checkpointed only at the end)."""
  if given is not None:
    return given
  divisor = max(d for d in range(1, min(steps, 250) + 1) if steps % d == 0)
  return steps if divisor < 10 else divisor


def read_run(workdir):
  """The run record of `workdir`; FileNotFoundError when it holds no trained model."""
  for name in (RUN, MODEL):
    if not os.path.isfile(path(workdir, name)):
      raise FileNotFoundError(f"Expected a workdir holding {RUN} and {MODEL} from "
                              f"'python -m tfp_flows train'. Received: --workdir={workdir} "
                              f"without {name}")
  return read_json(path(workdir, RUN))


def check_resumable(workdir, run):
  """Raises ValueError when `workdir` holds a checkpoint of a run with other settings."""
  if not os.path.isdir(path(workdir, BACKUP)) or not os.path.isfile(path(workdir, RUN)):
    return
  before = read_json(path(workdir, RUN))
  changed = sorted(key for key in run if before.get(key) != run[key])
  if changed:
    key = changed[0]
    raise ValueError(
        f"Expected the settings of the interrupted run in {workdir} to resume it (or remove "
        f"{path(workdir, BACKUP)} to start again). Received: {key}={run[key]!r}, "
        f"was {before.get(key)!r}")
