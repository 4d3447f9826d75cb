"""Runs every benchmark, one after another, and writes their tables to one file.

  python -m benchmarks.run                      # all: several hours on 2 CPU cores
  python -m benchmarks.run --only=maf_vs_tfp,vector_flows_speed
  python -m benchmarks.run --quick              # every benchmark's smoke mode (~15 min)

from the repository root. Each benchmark is its own process (`python benchmarks/NAME.py
ARGS`, its output streamed here too); `benchmarks/results/RESULTS.md` (or `--out`) gets a
header with the date, the machine (CPU, cores, GPUs TensorFlow sees) and the library
versions (ours, TF, TFP, Keras; torch, zuko, nflows, sbi, normflows under
`--torch_python`), then each benchmark's command, wall time and full output (less
TensorFlow's C++ start-up lines). It is rewritten after every benchmark (a temporary file
renamed), so an interrupted run keeps what finished.
README.md's benchmark tables are written here too: each benchmark prints its tables as
marked blocks (`benchmarks/readme.py`), and after a benchmark finishes (not with --quick,
not when it fails) its blocks replace the ones between the same marks in README.md (or
`--readme`; `--readme=` leaves it alone), each with a line naming this run.
The PyTorch peers run under `--torch_python` (default `$TFP_FLOWS_TORCH_PYTHON`, else
`/work/venvs/torch/bin/python` when it exists: a venv with `torch==2.13.0 zuko nflows sbi
normflows`); without one they are skipped, and the file says so.
"""

import argparse
import datetime
import os
import platform
import re
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from benchmarks import readme  # pylint: disable=wrong-import-position
from tfp_flows import files  # pylint: disable=wrong-import-position

QUICK = ["--quick"]
# name: (arguments, arguments with --quick, takes --torch_python). Speed, then quality.
BENCHMARKS = {
    "import_time": ([], ["--repeats=1"], False),
    "maf_vs_tfp": ([], QUICK, False),
    "made_block_sparse": ([], QUICK, False),
    "image_flows_speed": ([], QUICK, True),
    "glow_memory": ([], QUICK, True),
    "scaling": ([], QUICK, False),
    "mixture_cdf_inverse": ([], QUICK, False),
    "vector_flows_speed": ([], QUICK, True),
    "ring_of_gaussians": (["--threads=1"], QUICK, True),
    "conditional_mixture": (["--threads=1"], QUICK, True),
    "digits_bits_per_dim": (["--seed=0"], QUICK, False),
    "conditional_digits": ([], QUICK, False),
    "sbi_two_moons": ([], QUICK, True),
    "stability": ([], ["--seeds=0", "--models=maf"], False),
}
DEFAULT_TORCH_PYTHON = "/work/venvs/torch/bin/python"
# TensorFlow's C++ start-up lines (printed before absl's logging starts, whatever
# TF_CPP_MIN_LOG_LEVEL says): streamed, but left out of the results file.
TF_CHATTER = re.compile(r"^(I0000|W0000|E0000|WARNING: All log messages before absl)")


def torch_python(given):
  if given:
    return given
  given = os.environ.get("TFP_FLOWS_TORCH_PYTHON")
  if given:
    return given
  return DEFAULT_TORCH_PYTHON if os.path.exists(DEFAULT_TORCH_PYTHON) else None


def versions(torch):
  """One line each: ours and TensorFlow's side, and the PyTorch peers' under `torch`."""
  ours = subprocess.run(
      [sys.executable, "-c", "import tensorflow as tf, tensorflow_probability as tfp, keras, "
       "tfp_flows; print(f'tfp_flows {tfp_flows.__version__}, TF {tf.__version__}, TFP "
       "{tfp.__version__}, Keras {keras.__version__}; GPUs TF sees: "
       "{len(tf.config.list_physical_devices(\"GPU\"))}')"],
      cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, capture_output=True,
      text=True, check=False).stdout.strip()
  lines = [ours or "TensorFlow side: did not import"]
  if torch:
    peers = subprocess.run(
        [torch, "-c", "import importlib.metadata as m\nfor p in ('torch', 'zuko', 'nflows', "
         "'sbi', 'normflows'):\n  try: print(p, m.version(p), end='; ')\n  except "
         "m.PackageNotFoundError: print(p, 'not installed', end='; ')"],
        capture_output=True, text=True, check=False).stdout.strip().rstrip(";")
    lines.append(f"PyTorch peers ({torch}): {peers}")
  else:
    lines.append("PyTorch peers: none (no --torch_python): their rows are skipped")
  return lines


def machine():
  model = platform.processor() or platform.machine()
  try:
    with open("/proc/cpuinfo") as f:
      model = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
  except (OSError, StopIteration):
    pass
  return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def command_of(name, quick, torch):
  arguments, quick_arguments, takes_torch = BENCHMARKS[name]
  command = [sys.executable, os.path.join("benchmarks", f"{name}.py"), *arguments]
  if quick:
    command += quick_arguments
  if takes_torch and torch:
    command.append(f"--torch_python={torch}")
  return command


def update_readme(path, output, source):
  """Puts the blocks in a benchmark's `output` into the README at `path` (a temporary file
  renamed; left alone when there are none). Returns the blocks' names that have no place."""
  new_blocks = readme.blocks(output)
  if not new_blocks:
    return []
  with open(path) as f:
    text, homeless = readme.update(f.read(), new_blocks, source)
  files.write_text(path, text)
  return homeless


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--only", default=",".join(BENCHMARKS),
                      help=f"comma-separated, among {', '.join(BENCHMARKS)}")
  parser.add_argument("--quick", action="store_true", help="smoke runs (numbers meaningless)")
  parser.add_argument("--torch_python", default=None)
  parser.add_argument("--out", default=os.path.join(REPO, "benchmarks", "results",
                                                    "RESULTS.md"))
  parser.add_argument("--readme", default=os.path.join(REPO, "README.md"),
                      help="the README whose tables to rewrite; empty: none (--quick: none)")
  args = parser.parse_args()
  names = [name for name in args.only.split(",") if name]
  unknown = sorted(set(names) - set(BENCHMARKS))
  if unknown:
    parser.error(f"Expected --only among {', '.join(BENCHMARKS)}. Received: {unknown[0]}")
  torch = torch_python(args.torch_python)
  date = f"{datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}"
  version_lines = versions(torch)
  header = [f"# Benchmarks{' (--quick: smoke runs, not results)' if args.quick else ''}", "",
            f"- date: {date}",
            f"- machine: {machine()}", *[f"- {line}" for line in version_lines],
            f"- command: python -m benchmarks.run {' '.join(sys.argv[1:])}".rstrip(), ""]
  sections = []
  readme_path = None if args.quick else args.readme or None
  if readme_path:
    with open(readme_path) as f:
      readme.check_marks(f.read())  # A broken README fails now, not after hours of runs.
  source = lambda name: (f"*From `python -m benchmarks.run` of {date} (`{name}`; its whole "
                         f"output in `{os.path.relpath(args.out, REPO)}`): {machine()}; "
                         + "; ".join(version_lines) + ".*")
  os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
  env = {**os.environ, "PYTHONPATH": REPO, "TF_CPP_MIN_LOG_LEVEL": "2"}
  for name in names:
    command = command_of(name, args.quick, torch)
    shown = " ".join(["python", *command[1:]])
    print(f"\n=== {name}: {shown}", flush=True)
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    output = []
    for line in process.stdout:
      print(line, end="", flush=True)
      if not TF_CHATTER.match(line):
        output.append(line)
    status = process.wait()
    minutes = (time.perf_counter() - start) / 60
    result = "" if status == 0 else f", FAILED with status {status}"
    sections.append(f"## {name}\n\n`PYTHONPATH=. {shown}` ({minutes:.1f} min{result})\n\n"
                    "```\n" + "".join(output).rstrip() + "\n```\n")
    files.write_text(args.out, "\n".join(header + sections))
    if readme_path and status == 0:
      homeless = update_readme(readme_path, "".join(output), source(name))
      for block in homeless:
        print(f"note: {readme_path} has no place for the table {block!r}")
  print(f"\nwrote {args.out}" + (f" and the tables in {readme_path}" if readme_path else ""))


if __name__ == "__main__":
  main()
