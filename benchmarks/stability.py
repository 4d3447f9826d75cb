"""Stability: the CLI's default digits Glow and the two-moons MAF over 10 seeds each.

A slow benchmark (not part of the test suite): every run must finish with a finite test
NLL and no stop on a non-finite step; the spread over seeds is printed.

  glow  `python -m tfp_flows train --workdir=W --seed=S` with every other flag at its
        default (glow, 2 levels x 4 steps, 64 hidden, digits, 3000 steps of 64): test
        bits/dim from W/metrics.json.
  maf   `python examples/two_moons.py --model=maf --seed=S` (5 layers, MADE 64x64, 5000
        steps): test nats/dim.

Run from the repository root (each seed is its own process; on 2 CPU cores about 2 minutes
per Glow seed and 1 per MAF seed):
  PYTHONPATH=. python benchmarks/stability.py                  # 10 seeds of each
  PYTHONPATH=. python benchmarks/stability.py --seeds=0,1 --models=maf

It prints one line per run and then, per model, the mean, std, min and max over seeds and
the number of runs that failed.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAF_LINE = re.compile(r"^maf: train NLL \S+, test NLL (\S+) nats/dim", re.MULTILINE)


def run(command):
  env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="2")
  start = time.perf_counter()
  done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
  return done, time.perf_counter() - start


def glow(seed):
  with tempfile.TemporaryDirectory() as workdir:
    done, seconds = run([sys.executable, "-m", "tfp_flows", "train", f"--workdir={workdir}",
                         f"--seed={seed}", "--quiet"])
    if done.returncode:
      return None, seconds, done.stderr.strip().splitlines()[-1:]
    with open(os.path.join(workdir, "metrics.json")) as f:
      return json.load(f)["test_bits_per_dim"], seconds, []


def maf(seed):
  done, seconds = run([sys.executable, "examples/two_moons.py", "--model=maf", f"--seed={seed}"])
  found = MAF_LINE.search(done.stdout)
  if done.returncode or not found:
    return None, seconds, (done.stderr.strip().splitlines() or ["no result"])[-1:]
  return float(found.group(1)), seconds, []


MODELS = {"glow": (glow, "test bits/dim"), "maf": (maf, "test nats/dim")}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--seeds", default=",".join(map(str, range(10))))
  parser.add_argument("--models", default="glow,maf")
  args = parser.parse_args()
  seeds = [int(s) for s in args.seeds.split(",")]
  results = {}
  for name in args.models.split(","):
    function, unit = MODELS[name]
    for seed in seeds:
      value, seconds, error = function(seed)
      results.setdefault(name, []).append(value)
      print(f"{name} seed {seed}: {unit} {value} ({seconds:.0f} s){' ' + str(error) if error else ''}",
            flush=True)
  print()
  for name, values in results.items():
    finite = [v for v in values if v is not None and v == v and abs(v) != float("inf")]
    failed = len(values) - len(finite)
    spread = (f"mean {statistics.mean(finite):.4f}, std {statistics.pstdev(finite):.4f}, "
              f"min {min(finite):.4f}, max {max(finite):.4f}" if finite else "no finite run")
    print(f"{name} ({MODELS[name][1]}, {len(values)} seeds): {spread}; failed or diverged: "
          f"{failed}")


if __name__ == "__main__":
  main()
