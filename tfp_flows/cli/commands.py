"""The commands of `python -m tfp_flows`: train, sample and evaluate, given the parsed flags."""

import os
import shutil
import sys
import time

import keras
import numpy as np

import tfp_flows as tff
from tfp_flows.cli import datasets
from tfp_flows.cli import evaluation
from tfp_flows.cli import features
from tfp_flows.cli import model_zoo
from tfp_flows.cli import plots
from tfp_flows.cli import runs
from tfp_flows.cli import summaries
from tfp_flows.cli import training


def train(flags):
  """Trains (or resumes) a run in `flags.workdir`; writes the model, samples and metrics."""
  steps_per_checkpoint = runs.checkpoint_interval(flags.steps, flags.steps_per_checkpoint)
  _check_training_flags(flags, steps_per_checkpoint)
  runs.check_not_finished(flags.workdir, flags.overwrite)
  data = datasets.load(flags.data)
  run = _run_record(flags, data, steps_per_checkpoint)
  view = _view(run)
  keras.utils.set_random_seed(flags.seed)
  standardize = run.get("standardize")
  flow = model_zoo.build(flags.model, run["size"], view.flow_event_shape, data.num_bins,
                         flags.seed, run["num_classes"],
                         standardize and (standardize["shift"], standardize["scale"]))
  model = tff.keras.FlowModel(flow, num_bins=view.flow_num_bins)
  jit_compile = (flags.model not in model_zoo.NO_JIT_COMPILE if flags.jit_compile is None
                 else flags.jit_compile)
  training.compile_model(model, flags.steps, flags.learning_rate, jit_compile)
  os.makedirs(flags.workdir, exist_ok=True)
  runs.check_resumable(flags.workdir, run)
  runs.write_json(runs.path(flags.workdir, runs.RUN), run)

  backup_dir = runs.path(flags.workdir, runs.BACKUP)
  done = training.checkpointed_epoch(backup_dir)
  if not done:  # A new run (or --overwrite): fresh logs.
    if os.path.exists(runs.path(flags.workdir, runs.LOG)):
      os.remove(runs.path(flags.workdir, runs.LOG))
    shutil.rmtree(runs.path(flags.workdir, runs.TENSORBOARD), ignore_errors=True)
  _print_start(model, run, view, done, backup_dir)
  # A resumed run shuffles with another seed, not repeating the batches it began with.
  batches = training.dataset(data, view, flags.batch_size, flags.seed + done,
                             conditional=bool(run["num_classes"]))
  start = time.perf_counter()
  tensorboard_log = summaries.TensorBoardLog(runs.path(flags.workdir, runs.TENSORBOARD),
                                             _sample_grid(view, run, flags.seed))
  history = training.fit(model, batches, flags.steps, steps_per_checkpoint, backup_dir,
                         _verbosity(flags.quiet), runs.path(flags.workdir, runs.LOG),
                         tensorboard_log)
  fit_seconds = time.perf_counter() - start

  _finish(flags, model, view, run, data, history, fit_seconds)


def sample(flags):
  """Writes a PNG (and optionally a .npy) of samples of the model in `flags.workdir`."""
  run = runs.read_run(flags.workdir)
  model = tff.keras.load_model(runs.path(flags.workdir, runs.MODEL))
  output = flags.output or runs.new_samples_path(flags.workdir)
  samples = _write_samples(model, _view(run), run, output, flags.num_samples,
                           flags.temperature, flags.seed)
  print(f"wrote {len(samples)} samples to {output}")
  if flags.output_npy:
    with tff.files.atomic_path(flags.output_npy) as partial, open(partial, "wb") as f:
      np.save(f, samples)
    print(f"wrote {flags.output_npy}")


def evaluate(flags):
  """Prints the test NLL and bits/dim of the model in `flags.workdir`."""
  run = runs.read_run(flags.workdir)
  data = datasets.load(flags.data if flags["data"].present else run["data"])
  if data.event_shape != run["event_shape"] or (data.num_bins or 0) > (run["num_bins"] or 0):
    raise ValueError(f"Expected data like the training data, {run['data_description']}. "
                     f"Received: --data={data.describe()}")
  view = _view(run)
  model = tff.keras.load_model(runs.path(flags.workdir, runs.MODEL))
  draws, seed = _evaluation_noise(flags)
  metrics = _test_metrics(model, view, run, data, draws, seed)
  print(f"{data.name} test set ({len(data.test)} examples): "
        f"{evaluation.describe(metrics, view)}")


def _test_metrics(model, view, run, data, draws, seed):
  """Test NLL and bits/dim (given the labels, with the likelihood classifier's accuracy,
  for a conditional run)."""
  if not run.get("num_classes"):
    return evaluation.summary(evaluation.test_nll(model, view, data.test, draws, seed), view)
  if data.test_labels is None:
    raise ValueError(f"Expected labelled test data for the conditional run in the workdir. "
                     f"Received: --data={data.describe()}, which has no labels")
  nll = evaluation.test_nll(model, view, data.test, draws, seed, data.test_labels)
  return {**evaluation.summary(nll, view),
          "test_accuracy": evaluation.accuracy(model, data.test, data.test_labels, seed)}


def _evaluation_noise(flags):
  """`--eval_draws` and `--eval_seed`; those of the training run's metrics when not given."""
  metrics_path = runs.path(flags.workdir, runs.METRICS)
  stored = runs.read_json(metrics_path) if os.path.isfile(metrics_path) else {}
  return tuple(flags[name].value if flags[name].present else stored.get(name, flags[name].value)
               for name in ("eval_draws", "eval_seed"))


def _finish(flags, model, view, run, data, history, fit_seconds):
  """Evaluates, then writes the model, samples and metrics and removes the checkpoint."""
  metrics = {**_test_metrics(model, view, run, data, flags.eval_draws, flags.eval_seed),
             "steps_done": int(model.optimizer.iterations),
             "final_train_loss": (history.history.get("loss") or [None])[-1],
             "fit_seconds": fit_seconds, "num_test": len(data.test),
             "eval_draws": flags.eval_draws if data.is_image else 1, "eval_seed": flags.eval_seed}
  model.save(runs.path(flags.workdir, runs.MODEL))
  _write_samples(model, view, run, runs.path(flags.workdir, runs.SAMPLES), None, None,
                 flags.seed)
  plots.loss_curve(runs.path(flags.workdir, runs.LOG), run["steps_per_checkpoint"],
                   runs.path(flags.workdir, runs.LOSS_PLOT), f"{run['model']} on {data.name}")
  runs.write_json(runs.path(flags.workdir, runs.METRICS), metrics)
  shutil.rmtree(runs.path(flags.workdir, runs.BACKUP), ignore_errors=True)
  print(f"{data.name} test set ({len(data.test)} examples): "
        f"{evaluation.describe(metrics, view)}")
  print(f"{metrics['steps_done']} steps, fit {fit_seconds:.0f} s; wrote {runs.MODEL}, "
        f"{runs.SAMPLES}, {runs.METRICS}, {runs.LOSS_PLOT} in {flags.workdir}")


def _check_training_flags(flags, steps_per_checkpoint):
  if flags.model not in model_zoo.MODELS:
    raise ValueError(f"Expected --model in {model_zoo.MODELS}. Received: --model={flags.model!r}")
  if flags.steps % steps_per_checkpoint:
    raise ValueError(f"Expected --steps to be a multiple of --steps_per_checkpoint. Received: "
                     f"--steps={flags.steps}, --steps_per_checkpoint={steps_per_checkpoint}")
  if not flags.learning_rate > 0:
    raise ValueError(f"Expected --learning_rate > 0. "
                     f"Received: --learning_rate={flags.learning_rate}")


def _run_record(flags, data, steps_per_checkpoint):
  """The settings of the run, for run.json: what sample, evaluate and a resume need."""
  model_zoo.check(flags.model, data, flags.conditional)
  size = model_zoo.settings(flags.model, **{k: flags[k].value for k in model_zoo.SIZE_SETTINGS})
  run = {"model": flags.model, "size": size, "data": data.name,
         "num_classes": data.num_classes if flags.conditional else None,
         "data_description": data.describe(), "event_shape": data.event_shape,
         "num_bins": data.num_bins, "seed": flags.seed, "steps": flags.steps,
         "batch_size": flags.batch_size, "learning_rate": flags.learning_rate,
         "steps_per_checkpoint": steps_per_checkpoint}
  if not data.is_image:
    # The flow standardises the points itself (the builders' `standardize`), so Keras's
    # logs are of the points, like the final metrics.
    run["standardize"] = features.standardization(data.train)
    run["plot_limits"] = plots.limits_of(data.train)
  return run


def _print_start(model, run, view, done, backup_dir):
  """Prints the model, its size and the training settings, and where it resumes."""
  print(f"{run['model']} {run['size']} on {run['data_description']}: "
        f"{model.count_params():,} parameters, {run['steps']} steps of batch "
        f"{run['batch_size']}", flush=True)
  if done:
    epochs = run["steps"] // run["steps_per_checkpoint"]
    print(f"Resuming from the checkpoint in {backup_dir} at epoch {done} of {epochs} "
          f"({done * run['steps_per_checkpoint']} of {run['steps']} steps done)", flush=True)


def _view(run):
  """How the run's flow sees its data (`features.View`). A run recorded before the builders
  took `standardize` has a "standardization" that the view applies; newer flows hold it."""
  standardization = run.get("standardization") or {}
  return features.View(tuple(run["event_shape"]), run["num_bins"],
                       run["model"] in model_zoo.IMAGE_MODELS,
                       standardization.get("shift"), standardization.get("scale"))


def _verbosity(quiet):
  """Keras `verbose`: a progress bar on a terminal, a line per epoch in a log, or nothing."""
  if quiet:
    return 0
  return 1 if sys.stdout.isatty() else 2


def _sample_grid(view, run, seed):
  """For image runs, `model -> [1, height, width, C]`: TensorBoard's grid of samples at
  temperature 0.7 from the latent draws of `seed` (one row per class when conditional)."""
  if run["num_bins"] is None:
    return None
  num_classes = run.get("num_classes")

  def sample_grid(model):
    if num_classes:
      images = _samples_by_class(model, view, num_classes, 2, 0.7, seed)
      return summaries.image_grid(images, run["num_bins"], columns=2)
    images = view.decode(model.sample(summaries.SAMPLES_PER_GRID, temperature=0.7, seed=seed))
    return summaries.image_grid(images, run["num_bins"])

  return sample_grid


def _samples_by_class(model, view, num_classes, per_class, temperature, seed):
  """`[K * per_class, ...]` data-space samples of a class-conditional model, class by class."""
  drawn = model.sample(per_class, context=np.arange(num_classes), temperature=temperature,
                       seed=seed)  # [per_class, K, H, W, C]
  return view.decode(np.swapaxes(np.asarray(drawn), 0, 1).reshape(
      (num_classes * per_class,) + tuple(drawn.shape[2:])))


def _write_samples(model, view, run, path, num_samples, temperature, seed):
  """Writes the PNG of `num_samples` samples at `temperature`; returns them (data space).

  Defaults: 64 samples at temperature 0.7 for images, 1,000 at 1.0 for points. A
  conditional run draws `num_samples` (default 8) of each class, one row per class (the
  returned array is class by class: `[K * num_samples, ...]`).
  """
  images = run["num_bins"] is not None
  num_classes = run.get("num_classes")
  temperature = (0.7 if images else 1.0) if temperature is None else temperature
  title = f"{run['model']} on {os.path.basename(run['data'])}, temperature {temperature}"
  if num_classes:
    per_class = num_samples or 8
    samples = _samples_by_class(model, view, num_classes, per_class, temperature, seed)
    plots.image_grid(samples, run["num_bins"], path, title + ", one row per class",
                     columns=per_class)
    return samples
  num_samples = num_samples or (64 if images else 1000)
  samples = view.decode(model.sample(num_samples, temperature=temperature, seed=seed))
  if images:
    plots.image_grid(samples, run["num_bins"], path, title)
  else:
    plots.points(lambda x: view.log_prob(model, x), samples, run["plot_limits"], path, title)
  return samples
