"""`python -m tfp_flows`: train, sample, evaluate, resume and errors, each in a subprocess.

Every call imports TensorFlow (~10 s), so the tests make few calls, with tiny flows and few
steps, and run independent calls side by side.
"""

import json
import math
import os
import re
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest

import tfp_flows as tff
from tfp_flows.cli import runs
from tfp_flows.cli import startup
from tests.cli import summaries_test

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_GLOW = ["--model=glow", "--data=digits", "--levels=1", "--depth=1", "--hidden=8",
             "--steps=200", "--steps_per_checkpoint=20", "--batch_size=32", "--nojit_compile",
             "--eval_draws=2"]
TINY_MAF = ["--model=maf", "--data=moons", "--num_layers=2", "--hidden=16", "--steps=300",
            "--steps_per_checkpoint=300", "--learning_rate=1e-2", "--nojit_compile"]
NLL = re.compile(r"test NLL (\S+) nats/example")


def start(*args):
  """Starts `python -m tfp_flows *args` from the repository root, as a user would: without
  TF_CPP_MIN_LOG_LEVEL (the CLI quiets TensorFlow's start-up itself)."""
  env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
  env["PYTHONPATH"] = REPO
  return subprocess.Popen([sys.executable, "-m", "tfp_flows", *args], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process, expect_success=True):
  """`(returncode, stdout, stderr)` of a started process, checked for success."""
  stdout, stderr = process.communicate(timeout=300)
  if expect_success:
    assert process.returncode == 0, f"{process.args}\n{stdout[-2000:]}\n{stderr[-3000:]}"
  return process.returncode, stdout, stderr


def cli(*args):
  return finish(start(*args))


def png_size(path):
  """`(width, height)` of a PNG, from its signature and IHDR chunk."""
  with open(path, "rb") as f:
    head = f.read(24)
  assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR", head
  return struct.unpack(">II", head[16:24])


def read_json(path):
  with open(path) as f:
    return json.load(f)


def test_glow_on_digits_resumes_after_a_kill_then_samples_and_evaluates(tmp_path):
  """SIGKILL after the first checkpoint; the same command resumes there and finishes."""
  workdir = str(tmp_path / "glow")
  train = ["train", f"--workdir={workdir}", *TINY_GLOW]
  process = start(*train)
  metadata = os.path.join(workdir, "backup", "training_metadata.json")
  deadline = time.time() + 120
  while not os.path.exists(metadata) and process.poll() is None and time.time() < deadline:
    time.sleep(0.02)
  assert process.poll() is None, "the first run ended before it could be killed"
  process.send_signal(signal.SIGKILL)
  process.communicate()
  assert not os.path.exists(os.path.join(workdir, "model.keras"))

  _, stdout, _ = cli(*train)
  resumed = re.search(r"Resuming from the checkpoint .* at epoch (\d+) of 10", stdout)
  assert resumed, stdout
  first_epoch = int(resumed.group(1))
  assert 1 <= first_epoch < 10
  epochs = [int(e) for e in re.findall(r"^Epoch (\d+)/10", stdout, re.MULTILINE)]
  assert epochs == list(range(first_epoch + 1, 11))
  assert sorted(os.listdir(workdir)) == ["log.csv", "loss.png", "metrics.json", "model.keras",
                                         "run.json", "samples.png", "tensorboard"]  # No backup.
  # TensorBoard: the killed run's and the resumed run's events continue one curve.
  events = summaries_test.read_events(os.path.join(workdir, "tensorboard"))
  assert sorted(set(step for step, _ in events["loss"])) == list(range(20, 201, 20))
  assert events["samples"][-1] == (200, [32, 32, 32, 32, 1])  # 16 8x8 samples, 4 x 4.
  with open(os.path.join(workdir, "log.csv")) as f:
    logged = [line.split(",")[0] for line in f.read().splitlines()[1:]]
  # One row per epoch: those before the kill, then the resumed ones (an epoch logged by
  # the killed run after its last checkpoint may appear twice).
  assert sorted(set(int(e) for e in logged)) == list(range(10)), logged
  assert png_size(os.path.join(workdir, "loss.png")) == (1000, 400)
  metrics = read_json(os.path.join(workdir, "metrics.json"))
  assert metrics["steps_done"] == 200  # The optimizer's step count was restored too.
  for key in ("test_nll", "test_nats_per_dim", "test_bits_per_dim"):
    assert math.isfinite(metrics[key]), metrics
  assert 0. < metrics["test_bits_per_dim"] < 5.  # Uniform over 17 levels: 4.09.
  assert math.isclose(metrics["test_bits_per_dim"], metrics["test_nll"] / (64 * math.log(2.)),
                      rel_tol=1e-5)
  assert math.isclose(float(NLL.search(stdout).group(1)), metrics["test_nll"], abs_tol=1e-5)
  assert png_size(os.path.join(workdir, "samples.png")) == (600, 600)

  png, npy = str(tmp_path / "more.png"), str(tmp_path / "more.npy")
  sampling = start("sample", f"--workdir={workdir}", "--num_samples=10", "--temperature=0.5",
                   f"--output={png}", f"--output_npy={npy}")
  evaluating = start("evaluate", f"--workdir={workdir}")  # The stored draws and seed.
  finish(sampling)
  _, stdout, _ = finish(evaluating)
  assert png_size(png) == (600, 600)
  samples = np.load(npy)
  assert samples.shape == (10, 8, 8, 1)
  np.testing.assert_array_equal(samples, np.clip(np.round(samples), 0, 16))
  # The same seeded dequantization noise: the saved model repeats the stored test NLL.
  assert math.isclose(float(NLL.search(stdout).group(1)), metrics["test_nll"], abs_tol=1e-4)


def test_maf_on_moons(tmp_path):
  workdir = str(tmp_path / "maf")
  _, stdout, stderr = cli("train", f"--workdir={workdir}", *TINY_MAF)
  # No TensorFlow start-up lines, no log lines of the run (its warnings included).
  assert not [line for line in stderr.splitlines() if startup.STARTUP_LINE.match(line)], stderr
  metrics = read_json(os.path.join(workdir, "metrics.json"))
  assert metrics["steps_done"] == 300
  # Of the raw points: a Gaussian fit scores 1.0 nats/dim, the true density about 0.5.
  assert 0.3 < metrics["test_nats_per_dim"] < 0.9, metrics
  assert re.search(rf"{metrics['test_nats_per_dim']:.6f} nats/dim", stdout)
  assert png_size(os.path.join(workdir, "samples.png")) == (1000, 450)


def test_nsf_on_moons_and_flowpp_on_digits_train_and_evaluate(tmp_path):
  runs = {"nsf": ["--model=nsf", "--data=moons", "--num_layers=2", "--hidden=16"],
          "flowpp": ["--model=flowpp", "--data=digits", "--levels=1", "--depth=1",
                     "--hidden=8", "--num_components=3", "--eval_draws=1"]}
  common = ["--steps=100", "--steps_per_checkpoint=100", "--batch_size=32", "--nojit_compile"]
  started = {name: start("train", f"--workdir={tmp_path / name}", *args, *common)
             for name, args in runs.items()}
  for name, process in started.items():
    _, stdout, _ = finish(process)
    metrics = read_json(os.path.join(tmp_path, name, "metrics.json"))
    assert metrics["steps_done"] == 100 and math.isfinite(metrics["test_nll"]), metrics
    assert math.isclose(float(NLL.search(stdout).group(1)), metrics["test_nll"], abs_tol=1e-5)
  # The variational dequantization's seeded noise: the saved model repeats the stored NLL.
  _, stdout, _ = cli("evaluate", f"--workdir={tmp_path / 'flowpp'}")
  stored = read_json(os.path.join(tmp_path, "flowpp", "metrics.json"))["test_nll"]
  assert math.isclose(float(NLL.search(stdout).group(1)), stored, abs_tol=1e-4)


def test_a_class_conditional_glow_on_digits_samples_by_class_and_classifies(tmp_path):
  workdir = str(tmp_path / "conditional")
  tiny = [a for a in TINY_GLOW if not a.startswith(("--steps", "--steps_per_checkpoint"))]
  _, stdout, _ = cli("train", f"--workdir={workdir}", "--conditional", *tiny, "--steps=100",
                     "--steps_per_checkpoint=100")
  metrics = read_json(os.path.join(workdir, "metrics.json"))
  assert read_json(os.path.join(workdir, "run.json"))["num_classes"] == 10
  assert metrics["steps_done"] == 100 and math.isfinite(metrics["test_nll"]), metrics
  assert 0.1 < metrics["test_accuracy"] <= 1.  # Above chance after 100 steps.
  line = re.search(r"test NLL given the label (\S+) nats/example.*accuracy (\S+)", stdout)
  assert line, stdout
  assert math.isclose(float(line.group(1)), metrics["test_nll"], abs_tol=1e-5)
  samples_png = os.path.join(workdir, "samples.png")
  assert png_size(samples_png) == (600, 600)
  npy = str(tmp_path / "by_class.npy")
  sampling = start("sample", f"--workdir={workdir}", "--num_samples=3", f"--output_npy={npy}",
                   f"--output={tmp_path / 'by_class.png'}")
  _, stdout, _ = cli("evaluate", f"--workdir={workdir}")
  finish(sampling)
  line = re.search(r"test NLL given the label (\S+) nats/example.*accuracy (\S+)", stdout)
  assert math.isclose(float(line.group(1)), metrics["test_nll"], abs_tol=1e-4)
  assert math.isclose(float(line.group(2)), metrics["test_accuracy"], abs_tol=1e-4)
  assert np.load(npy).shape == (30, 8, 8, 1)  # 3 of each of the 10 classes.


def test_conditional_needs_an_image_model_and_labelled_data(tmp_path):
  returncode, _, stderr = finish(start("train", "--conditional", "--model=maf", "--data=moons",
                                       f"--workdir={tmp_path}"), expect_success=False)
  assert returncode == 1
  assert stderr.strip().splitlines()[-1] == (
      "python -m tfp_flows train: error: Expected an image model ('realnvp', 'glow', 'flowpp') "
      "for --conditional (a class-conditional flow). Received: --model=maf")


def test_a_finished_run_is_kept_unless_overwrite_and_sample_writes_a_new_file(tmp_path):
  workdir = str(tmp_path / "maf")
  quick = ["--model=maf", "--data=moons", "--num_layers=1", "--hidden=8", "--steps=30",
           "--nojit_compile", "--quiet"]
  _, stdout, _ = cli("train", f"--workdir={workdir}", *quick)
  # --steps=30 with no --steps_per_checkpoint: one checkpoint interval of 30 (< 250).
  assert read_json(os.path.join(workdir, "run.json"))["steps_per_checkpoint"] == 30
  model_file = os.path.join(workdir, "model.keras")
  before = os.path.getmtime(model_file)
  returncode, _, stderr = finish(start("train", f"--workdir={workdir}", *quick),
                                 expect_success=False)
  assert returncode == 1 and "Traceback" not in stderr
  assert "holds a finished run (model.keras, metrics.json); pass --overwrite" in stderr
  assert os.path.getmtime(model_file) == before  # Untouched.
  for _ in range(2):
    cli("sample", f"--workdir={workdir}", "--num_samples=50")
  assert sorted(f for f in os.listdir(workdir) if f.startswith("samples")) == [
      "samples-1.png", "samples-2.png", "samples.png"]  # The training run's is kept.
  cli("train", f"--workdir={workdir}", *quick, "--overwrite")
  assert os.path.getmtime(model_file) > before
  with open(os.path.join(workdir, "log.csv")) as f:
    assert len(f.read().splitlines()) == 2  # The header and the new run's one epoch.


@pytest.mark.parametrize("steps,given,interval", [
    (3000, None, 250), (100, None, 100), (600, None, 200), (1000, None, 250),
    (1009, None, 1009), (2 * 1009, None, 2 * 1009), (3000, 30, 30)])
def test_the_checkpoint_interval_divides_the_steps(steps, given, interval):
  assert runs.checkpoint_interval(steps, given) == interval


def test_the_training_log_is_rewritten_whole_and_a_failed_write_keeps_it(tmp_path,
                                                                          monkeypatch):
  from tfp_flows.cli import plots, training  # pylint: disable=import-outside-toplevel
  path = str(tmp_path / "log.csv")
  log = training._CsvLog(path)  # pylint: disable=protected-access
  log.on_epoch_end(0, {"loss": 3., "bits_per_dim": 2., "nonfinite_steps": 0.})
  training._CsvLog(path).on_epoch_end(1, {"loss": 2.5, "bits_per_dim": 1.5})  # A resume.
  with open(path) as f:
    before = f.read()
  assert before == "epoch,loss,bits_per_dim\n0,3.0,2.0\n1,2.5,1.5\n"

  def disk_full(*args, **kwargs):
    raise OSError(28, "No space left on device")

  monkeypatch.setattr(os, "replace", disk_full)
  with pytest.raises(OSError):
    log.on_epoch_end(2, {"loss": 2., "bits_per_dim": 1.})
  monkeypatch.undo()
  with open(path) as f:
    assert f.read() == before
  assert sorted(os.listdir(tmp_path)) == ["log.csv"]  # No temporary file left behind.
  plots.loss_curve(path, 10, str(tmp_path / "loss.png"), "test")
  assert png_size(str(tmp_path / "loss.png")) == (1000, 400)


def test_version_prints_the_package_version():
  _, stdout, _ = cli("--version")
  assert stdout.strip().splitlines()[-1] == f"tfp_flows {tff.__version__}"


def test_an_unknown_model_is_a_one_line_error(tmp_path):
  returncode, _, stderr = finish(start("train", "--model=nope", f"--workdir={tmp_path}"),
                                 expect_success=False)
  assert returncode == 1
  assert "Traceback" not in stderr
  assert stderr.strip().splitlines()[-1] == (
      "python -m tfp_flows train: error: Expected --model in ('maf', 'iaf', 'mixture_cdf', "
      "'nsf', 'realnvp', 'glow', 'flowpp'). Received: --model='nope'")
