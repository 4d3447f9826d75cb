"""Start-up cost: `import tfp_flows` against `import tensorflow, tensorflow_probability, keras`
(what it imports anyway), and `python -m tfp_flows --help`, each in fresh processes.

Each repeat runs every command once, in turn (the order alternates), and the table shows
the median wall time; our share is the difference between the first two rows.

  PYTHONPATH=. python benchmarks/import_time.py [--repeats=7]
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "import tensorflow, tensorflow_probability, keras":
        [sys.executable, "-c", "import tensorflow, tensorflow_probability, keras"],
    "import tfp_flows": [sys.executable, "-c", "import tfp_flows"],
    "python -m tfp_flows --help": [sys.executable, "-m", "tfp_flows", "--help"],
    "python -c pass": [sys.executable, "-c", "pass"],
}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=7)
  args = parser.parse_args()
  env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
  times = {name: [] for name in COMMANDS}
  for repeat in range(args.repeats):
    names = list(COMMANDS) if repeat % 2 == 0 else list(COMMANDS)[::-1]
    for name in names:
      start = time.perf_counter()
      subprocess.run(COMMANDS[name], env=env, check=True, capture_output=True)
      times[name].append(time.perf_counter() - start)
  print(f"median of {args.repeats} fresh processes (s)")
  for name, values in times.items():
    print(f"{statistics.median(values):7.2f}  {name}")
  ours = (statistics.median(times["import tfp_flows"])
          - statistics.median(times["import tensorflow, tensorflow_probability, keras"]))
  print(f"{ours:7.2f}  tfp_flows' own share of its import")


if __name__ == "__main__":
  main()
