"""Side-by-side timing of TF flows (this process) against PyTorch peers (a subprocess).

The machinery `vector_flows_speed.py` and `image_flows_speed.py` share. A benchmark script
is both sides: run normally it is the TF process, which starts the same script under the
PyTorch venv with `--torch_worker=<its arguments as JSON>` (`TorchPeers`). The worker builds
its peers, writes one JSON line of facts (parameter counts, versions, threads), then times
`{"model", "op", "n"}` requests from stdin, one JSON reply a line (`serve`). The TF process
interleaves every model's repeats, its own and the worker's (`time_group`), so all of them
share each repeat's machine state. `cpu_and_wall` measures both sides the same way.

This module imports neither TF nor torch at module level (the TF process must never import
torch, the worker never TF); `torch_operations` imports torch when the worker calls it.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

from benchmarks import readme

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TORCH_PYTHON = "/work/venvs/torch/bin/python"


def add_arguments(parser, repeats, quick_repeats):
  """The options every side-by-side benchmark has (quick run, repeats, the torch side)."""
  parser.add_argument("--quick", action="store_true", help="smoke run: short repeats")
  parser.add_argument("--repeats", type=int, default=None,
                      help=f"default {repeats} (--quick: {quick_repeats})")
  parser.add_argument("--no_torch", action="store_true", help="ours (TF side) only")
  parser.add_argument("--torch_python", default=TORCH_PYTHON)
  parser.add_argument("--torch_threads", type=int, default=os.cpu_count())
  parser.add_argument("--torch_worker", default=None, help=argparse.SUPPRESS)


def worker_arguments(encoded):
  """The TF process's parsed arguments, as `TorchPeers` passed them to the worker."""
  return argparse.Namespace(**json.loads(encoded))


def cpu_and_wall(fn, n):
  """Runs `fn` n times: (ms per call, process CPU seconds / wall seconds)."""
  cpu, wall = time.process_time(), time.perf_counter()
  for _ in range(n):
    out = fn()
  out.numpy()  # Waits for the work (matters on GPU; a no-op wait on CPU).
  wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
  return wall / n * 1e3, cpu / wall


# ------------------------------------------------------------------ PyTorch worker side.

def torch_operations(module, loss, log_prob, sample):
  """{op: call} for a peer: an Adam (lr 1e-4) step on `loss()`, and `log_prob()`,
  `sample()` under `torch.no_grad()`; also the number of trainable parameters."""
  import torch
  parameters = [p for p in module.parameters() if p.requires_grad]
  optimizer = torch.optim.Adam(parameters, lr=1e-4)

  def train_step():
    optimizer.zero_grad(set_to_none=True)
    value = loss()
    value.backward()
    optimizer.step()
    return value.detach()

  def no_grad(f):
    def call():
      with torch.no_grad():
        return f()
    return call

  ops = {"train step": train_step, "log_prob": no_grad(log_prob), "sample": no_grad(sample)}
  return ops, sum(p.numel() for p in parameters)


def worker_protocol():
  """The worker's reply stream; afterwards anything printed goes to stderr, not into it."""
  protocol = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)
  return protocol


def serve(protocol, ops, info):
  """Writes `info`, then answers `{"model", "op", "n"}` lines on stdin until `{"quit"}`:
  each reply is `{"ms", "cpu", "idle_cpu"}` (idle_cpu: CPU this process used since its
  last reply, i.e. while the TF side was being timed)."""
  protocol.write(json.dumps(info) + "\n")
  protocol.flush()
  idle_since = time.process_time()
  for line in sys.stdin:
    idle_cpu = time.process_time() - idle_since
    request = json.loads(line)
    if request.get("quit"):
      break
    f = ops[request["model"]][request["op"]]
    ms, util = cpu_and_wall(lambda: _TorchResult(f()), request["n"])
    protocol.write(json.dumps({"ms": ms, "cpu": util, "idle_cpu": idle_cpu}) + "\n")
    protocol.flush()
    idle_since = time.process_time()


def versions(packages):
  """{package: installed version} of the worker's libraries."""
  import importlib.metadata as metadata
  return {p: metadata.version(p) for p in packages}


class _TorchResult:
  """Gives a torch tensor the `.numpy()` that `cpu_and_wall` calls (eager: already done)."""

  def __init__(self, tensor):
    self.tensor = tensor

  def numpy(self):
    return self.tensor


# ------------------------------------------------------------------------ TF process side.

class TorchPeers:
  """The PyTorch subprocess running `script`: `runner(model, op)(n)` times n calls there."""

  def __init__(self, script, args):
    encoded = json.dumps({k: v for k, v in vars(args).items() if k != "torch_worker"})
    command = [args.torch_python, os.path.abspath(script), f"--torch_worker={encoded}"]
    # Only the repository on its path: the TF venv's packages stay out of the torch venv.
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": REPO}
    self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    text=True, env=env)
    self.info = self._read()
    self.last_reply, self.idle_wall, self.busy_wall = None, 0., 0.
    self.idle_cpu, self.tf_cpu_while_busy = 0., 0.

  def _read(self):
    line = self.process.stdout.readline()
    if not line:
      raise RuntimeError(f"The torch worker exited (rc {self.process.wait()}); see stderr")
    return json.loads(line)

  def runner(self, model, op):
    """A function of n that times n calls of `model`'s `op` in the worker."""
    def run(n):
      wall, cpu = time.perf_counter(), time.process_time()
      if self.last_reply is not None:
        self.idle_wall += wall - self.last_reply
      self.process.stdin.write(json.dumps({"model": model, "op": op, "n": n}) + "\n")
      self.process.stdin.flush()
      reply = self._read()
      if self.last_reply is not None:  # The first wait spans the TF side's setup.
        self.idle_cpu += reply["idle_cpu"]
      self.last_reply = time.perf_counter()
      self.busy_wall += self.last_reply - wall
      self.tf_cpu_while_busy += time.process_time() - cpu
      return reply["ms"], reply["cpu"]
    return run

  def fairness(self):
    """How much CPU each side used while the other one was being timed."""
    idle_cores = self.idle_cpu / max(self.idle_wall, 1e-9)
    busy_cores = self.tf_cpu_while_busy / max(self.busy_wall, 1e-9)
    return (f"CPU used by the side not being timed: torch worker {self.idle_cpu:.1f} s over "
            f"{self.idle_wall:.0f} s of TF's turns ({idle_cores:.3f} cores); TF process "
            f"{self.tf_cpu_while_busy:.1f} s over {self.busy_wall:.0f} s of torch's turns "
            f"({busy_cores:.3f} cores)")

  def close(self):
    self.process.stdin.write(json.dumps({"quit": True}) + "\n")
    self.process.stdin.close()
    self.process.wait(timeout=60)


def tf_runners(functions):
  """{op: runner(n)} from `{op: (tf.function, argument)}`; each runner keeps its function
  (`.function`) so `time_group` can report retracing."""
  runners = {}
  for op, (f, arg) in functions.items():
    runners[op] = (lambda f=f, arg=arg: (lambda n: cpu_and_wall(lambda: f(arg), n)))()
    runners[op].function = f
  return runners


def time_group(entries, repeats, target_s):
  """entries: [(label, runner)]; {label: (median ms, min ms, median cpu, N)}, interleaved.

  Warm-up (trace, compile, two calls), then each model's N is calibrated so a repeat takes
  ~target_s; every repeat times N calls of each model in turn, the order rotating and
  alternating between repeats. A model whose warm-up raises is left out, with a note."""
  kept = []
  for label, run in entries:
    try:
      run(2)
      kept.append((label, run))
    except Exception as error:  # pylint: disable=broad-except
      print(f"  note: {label} left out: {type(error).__name__}: "
            f"{(str(error).splitlines() or [''])[0][:200]}")
  entries = kept
  ns = {}
  for label, run in entries:
    ms = statistics.median(run(1)[0] for _ in range(3))
    ns[label] = max(1, round(target_s * 1e3 / ms))
  times = {label: [] for label, _ in entries}
  utils = {label: [] for label, _ in entries}
  for r in range(repeats):
    order = entries[r % len(entries):] + entries[:r % len(entries)]
    for label, run in (order if r % 2 == 0 else order[::-1]):
      ms, util = run(ns[label])
      times[label].append(ms)
      utils[label].append(util)
  for label, run in entries:
    f = getattr(run, "function", None)
    if f is not None and f.experimental_get_tracing_count() != 1:
      print(f"  note: {label} traced {f.experimental_get_tracing_count()} times")
  return {label: (statistics.median(times[label]), min(times[label]),
                  statistics.median(utils[label]), ns[label]) for label, _ in entries}


def time_ops(ops, entries_of, repeats, target_s):
  """{(label, op): (median ms, min ms, cpu, N)}: `time_group` of `entries_of(op)` per op."""
  results = {}
  for op in ops:
    t0 = time.perf_counter()
    for label, value in time_group(entries_of(op), repeats, target_s).items():
      results[label, op] = value
    print(f"  done: {op} ({time.perf_counter() - t0:.0f} s)", flush=True)
  return results


def parameter_counts(models, peers):
  """{name: trainable parameters} of the TF models, then of the peers (when running)."""
  import numpy as np
  params = {name: sum(int(np.prod(v.shape)) for v in d.trainable_variables)
            for name, d in models.items()}
  if peers:
    params.update(peers.info["params"])
  return params


def time_models(models, runners_of, peers, ops, repeats, target_s):
  """Times every op of the TF `models` (`runners_of(dist, jit)`: {op: runner}, XLA off and
  on; labels "name" and "name [xla]"; a model may lack an op) and of the peers, interleaved
  (`time_ops`); then closes the peers. Returns (results, the CPU-fairness line or None)."""
  runners = {jit: {name: runners_of(d, jit) for name, d in models.items()}
             for jit in (False, True)}
  peer_names = list(peers.info["params"]) if peers else []

  def entries_of(op):
    entries = [(name + (" [xla]" if jit else ""), runners[jit][name][op])
               for jit in (False, True) for name in models if op in runners[jit][name]]
    return entries + [(name, peers.runner(name, op)) for name in peer_names]

  results = time_ops(ops, entries_of, repeats, target_s)
  fairness = None
  if peers:
    fairness = peers.fairness()
    peers.close()
  assert "torch" not in sys.modules, "the TF process imported torch"
  return results, fairness


def machine():
  """CPUs (and how many this process may use), CPU model, platform."""
  model = "?"
  try:
    with open("/proc/cpuinfo") as f:
      model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
  except (OSError, StopIteration):
    pass
  affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
  return f"{os.cpu_count()} CPUs ({affinity} usable), {model}, {platform.platform()}"


def loadavg():
  """The 1, 5 and 15 minute load averages, or "?"."""
  try:
    with open("/proc/loadavg") as f:
      return " ".join(f.read().split()[:3])
  except OSError:
    return "?"


def command_line():
  """This run's command line, as one could paste it from the repository root."""
  executable = (os.path.relpath(sys.executable) if sys.executable.startswith(os.getcwd())
                else sys.executable)
  return ("PYTHONPATH=" + os.environ.get("PYTHONPATH", "") + " "
          + shlex.join([executable] + sys.argv))


def print_header(command, started, load_start, peers):
  """The command, date, machine, load, TF side's and (when running) the peers' versions."""
  import keras
  import numpy as np
  import tensorflow as tf
  import tensorflow_probability as tfp
  threading = tf.config.threading
  print(f"command: {command}")
  print(f"date: {started.isoformat(timespec='seconds')}; machine: {machine()}; "
        f"load average at start {load_start}")
  print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}, numpy "
        f"{np.__version__}; TF threads intra/inter {threading.get_intra_op_parallelism_threads()}"
        f"/{threading.get_inter_op_parallelism_threads()} (0 = default: one per CPU)")
  if peers:
    info = peers.info
    print(f"peers: {info['python']}: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
          + f"; torch threads {info['threads']}, inter-op {info['interop_threads']}")


def print_parameters(params, peers_of):
  """Parameter counts, each peer's with its ratio to ours of the same kind."""
  print("parameters:")
  for name, count in params.items():
    note = ""
    for ours, theirs in peers_of.items():
      if name in theirs and ours in params:
        note = f"  ({name} / {ours}: {count / params[ours]:.3f})"
    print(f"  {name:<22}{count:>12,}{note}")


def print_times(results, ops, per, unit):
  """The table of `results` (see `time_ops`), ms divided by `per` (e.g. images a batch)."""
  labels = list(dict.fromkeys(label for label, _ in results))
  print(f"\n{unit} (median over repeats; cpu = CPU s / wall s; N calls per repeat)")
  print(f"{'model':<28}" + "".join(f"{op:>12}{'cpu':>5}{'N':>5}" for op in ops))
  for label in labels:
    row = f"{label:<28}"
    for op in ops:
      if (label, op) in results:
        ms, _, util, n = results[label, op]
        row += f"{ms / per:>12.2f}{util:>5.1f}{n:>5}"
      else:
        row += f"{'-':>12}{'':>5}{'':>5}"
    print(row)


def times_cell(results, name, op, per=1):
  """README's "a / b": `name`'s median ms (divided by `per`) without and with XLA ("a" alone
  for a model timed one way, a PyTorch peer); "-" when it was not timed."""
  labels = [name + xla for xla in ("", " [xla]") if (name + xla, op) in results]
  return " / ".join(readme.significant(results[label, op][0] / per) for label in labels) or "-"


def ratio(results, a, op_a, b, op_b, use_min=False):
  """results[a, op_a] / results[b, op_b], of the medians (or of the fastest repeats);
  nan where either is missing (a model left out)."""
  if (a, op_a) not in results or (b, op_b) not in results:
    return float("nan")
  i = 1 if use_min else 0
  return results[a, op_a][i] / results[b, op_b][i]


def print_ours_over_peers(results, ops, peers_of, xla_labels=("", " [xla]")):
  """ours / peer of the same kind per op, for each of ours' XLA settings (< 1: ours is
  faster). A peer in the TF process is compared at the same XLA setting."""
  print("\nours / peer, same kind (< 1: ours is faster)")
  print(f"{'':<50}" + "".join(f"{op:>12}" for op in ops))
  for ours, theirs in peers_of.items():
    for peer in theirs:
      for xla in xla_labels:
        other = peer + xla if (peer + xla, ops[0]) in results else peer
        print(f"  {ours + xla:<28}/ {other:<18}" + "".join(
            f"{ratio(results, ours + xla, op, other, op):>12.2f}" for op in ops))


def fastest(results, labels, op):
  """The label among `labels` (those timed) with the lowest median ms for `op`."""
  timed = [label for label in labels if (label, op) in results]
  return min(timed, key=lambda label: results[label, op][0]) if timed else None


def print_footer(peers_fairness, started):
  """The CPU each side used in the other's turns, the load average and the run's time."""
  if peers_fairness:
    print(f"\n{peers_fairness}")
  print(f"\nload average at end {loadavg()}; "
        f"took {(datetime.datetime.now().astimezone() - started).total_seconds():.0f} s")
