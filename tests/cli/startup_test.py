"""cli.startup: TensorFlow's start-up lines are left out of stderr, every other line is kept,
and a user's own TF_CPP_MIN_LOG_LEVEL turns the filter off."""

import os
import subprocess
import sys

from tfp_flows.cli import startup

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHATTER = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796151631.532421   20833 port.cc:153] oneDNN custom operations are on.",
    "E0000 00:00:1796151641.891441   20833 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
]
KEPT = ["UserWarning: something the user should see", "E: not a TensorFlow log line"]


def test_start_up_lines_are_left_out_and_other_lines_kept(capfd):
  with startup._stderr_without_startup_lines():  # pylint: disable=protected-access
    os.write(2, "\n".join(CHATTER[:2] + KEPT[:1] + CHATTER[2:] + KEPT[1:]).encode() + b"\n")
  assert capfd.readouterr().err.splitlines() == KEPT


def test_stderr_is_restored_when_the_block_raises(capfd):
  try:
    with startup._stderr_without_startup_lines():  # pylint: disable=protected-access
      raise ImportError("no module")
  except ImportError:
    pass
  os.write(2, CHATTER[1].encode() + b"\n")
  assert capfd.readouterr().err.splitlines() == CHATTER[1:2]


def run_cli(*args, env=None):
  env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
  return subprocess.run([sys.executable, "-X", "importtime", "-m", "tfp_flows", *args],
                        cwd=REPO, env={**env, "PYTHONPATH": REPO}, capture_output=True,
                        text=True, timeout=120, check=False)


def imported_modules(stderr):
  """The modules `python -X importtime` lists (the last column of its lines)."""
  return {line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines()
          if line.startswith("import time:")}


def test_help_version_and_flag_errors_answer_before_tensorflow_loads():
  for args, returncode in [(["--help"], 0), (["--version"], 0), (["--steps=x", "train"], 1)]:
    result = run_cli(*args)
    assert result.returncode == returncode, result.stderr[-2000:]
    modules = imported_modules(result.stderr)
    assert "tfp_flows.cli.main" in modules
    assert not {"tensorflow", "keras", "tensorflow_probability"} & modules, args


def test_the_filter_is_off_when_the_user_sets_the_log_level(monkeypatch):
  monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
  monkeypatch.setattr(startup, "_stderr_without_startup_lines",
                      lambda: (_ for _ in ()).throw(AssertionError("filtered")))
  with startup.quiet_start():
    pass
  assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"
