"""`python -m benchmarks.run` runs every benchmark script, and accelerator.sh only those."""

import pathlib
import re

from benchmarks import run

BENCHMARKS_DIR = pathlib.Path(run.REPO) / "benchmarks"


def scripts():
  """The benchmark scripts: every `benchmarks/*.py` with a `__main__` block but run.py."""
  return sorted(p.stem for p in BENCHMARKS_DIR.glob("*.py")
                if p.stem != "run" and 'if __name__ == "__main__":' in p.read_text())


def test_run_knows_every_benchmark_script_and_only_those():
  assert scripts() == sorted(run.BENCHMARKS)


def test_accelerator_script_runs_known_benchmarks():
  text = (BENCHMARKS_DIR / "accelerator.sh").read_text()
  names = re.search(r"--only=([\w,]+)", text).group(1).split(",")
  assert names and set(names) <= set(run.BENCHMARKS), names
  # Its GPU tables go to ACCELERATOR.md; README's are the CPU's.
  assert re.search(r"benchmarks\.run [^\n]*--readme=(\s|$)", text.replace("\\\n", " ")), text


def test_each_command_is_its_script_with_its_arguments():
  command = run.command_of("vector_flows_speed", quick=True, torch="/venv/bin/python")
  assert command[1:] == ["benchmarks/vector_flows_speed.py", "--quick",
                         "--torch_python=/venv/bin/python"]
  # A benchmark with no PyTorch peer is not given --torch_python.
  assert run.command_of("scaling", quick=False, torch="/venv/bin/python")[1:] == [
      "benchmarks/scaling.py"]
