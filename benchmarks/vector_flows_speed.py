"""Speed of tfp_flows' neural spline flows against our affine MAF and PyTorch's zuko/nflows.

Ours (TF, this process), default D=16, L=5 layers, hidden (256, 256), batch 512, float32:
  affine MAF     `tff.models.maf(D, num_layers=L, hidden_units=H)`
  spline MAF     `tff.models.nsf(D, num_layers=L, hidden_units=H, num_bins=8, bound=5.)`
  spline coupling  the same with `coupling=True` ("half" masks, an MLP of widths H per layer)
Peers (PyTorch, eager, in a subprocess under /work/venvs/torch/bin/python; this process
never imports torch):
  zuko NSF       `zuko.flows.NSF(features=D, transforms=L, hidden_features=H, bins=8)`
  zuko NSF coupling  the same with `passes=2` (a masked MLP over all D inputs; the first
                 half's splines depend on biases only, so it transforms all D coordinates)
  nflows MAF     L `MaskedPiecewiseRationalQuadraticAutoregressiveTransform(D, H[0],
                 num_bins=8, tails="linear", tail_bound=5, num_blocks=len(H)-1,
                 use_residual_blocks=False)` (a MADE D -> H[0] -> ... -> D x 23, relu; its
                 one hidden width is H[0]) with `ReversePermutation` between layers
  nflows coupling  L `PiecewiseRationalQuadraticCouplingTransform` ("half" masks
                 alternating like ours, `nflows.nn.nets.MLP(hidden_sizes=H)`, same tails)
  Both standard normal bases (nflows `StandardNormal`, zuko `DiagNormal(0, 1)`).

Operations: an Adam (lr 1e-4) train step on -mean log_prob of a fixed batch, log_prob of
the batch, sample(batch). Ours run in a `tf.function`, with and without `jit_compile=True`
(Keras 3 `keras.optimizers.Adam`); the peers eagerly (`torch.optim.Adam`, log_prob and
sample under `torch.no_grad()`). Timing as in `maf_vs_tfp.py`: after a warm-up (trace,
compile, two calls) each model's N (calls per repeat, ~0.3 s a repeat) is calibrated; then
every repeat times N calls of every model of that operation in turn (ours with XLA off and
on, and the peers, which the TF process drives one repeat at a time over a pipe, so all of
them share each repeat's machine state); the order rotates and alternates between repeats.
The table shows the median ms per call; "cpu" is process CPU time / wall time during the
timed calls (2.0 = both cores busy).

Threads: TF with its defaults (intra-op and inter-op pools of os.cpu_count() threads);
torch with `torch.set_num_threads(--torch_threads)` (default: the CPU count, i.e. 2 here,
the same number TF's intra-op pool has), inter-op threads left at its default. The last
line says how much CPU each side used while the other was timed (should be ~0). torch's
OpenMP threads meet at a barrier in every parallel op, so when another process holds a core
torch with 2 threads slows down many-fold (a D=4, hidden 16 toy at load 3: 9 ms per train
step with 1 thread, 250-470 ms with 2) while TF degrades gracefully: run this on an
otherwise idle machine (see the load averages it prints), or also with --torch_threads=1.

Run from the repository root (CPU; ~4 minutes; --quick ~1.5 minutes):
  PYTHONPATH=. .venv/bin/python benchmarks/spline_speed.py
  PYTHONPATH=. .venv/bin/python benchmarks/spline_speed.py --quick --no_torch
Options: --dim, --layers, --hidden=256,256, --batch, --repeats, --no_torch,
--torch_python=PATH, --torch_threads=N.
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

import numpy as np

OPS = ("train step", "log_prob", "sample")
TORCH_PYTHON = "/work/venvs/torch/bin/python"
# The goals: (numerator, denominator, op of the numerator, op of the denominator).
GOALS = [("spline MAF train step / affine MAF train step", "ours spline MAF", "train step",
          "ours affine MAF", "train step", 1.4),
         ("spline MAF log_prob / affine MAF log_prob", "ours spline MAF", "log_prob",
          "ours affine MAF", "log_prob", 1.4),
         ("spline coupling sample / its log_prob", "ours spline coupling", "sample",
          "ours spline coupling", "log_prob", 1.5)]
PEERS = {"ours spline MAF": ("zuko NSF", "nflows MAF"),
         "ours spline coupling": ("zuko NSF coupling", "nflows coupling")}


def data(batch, dim):
  """The fixed training/log_prob batch, the same in both processes."""
  return np.random.default_rng(0).standard_normal((batch, dim)).astype(np.float32)


def cpu_and_wall(fn, n):
  """Runs `fn` n times: (ms per call, process CPU seconds / wall seconds)."""
  cpu, wall = time.process_time(), time.perf_counter()
  for _ in range(n):
    out = fn()
  out.numpy()  # Waits for the work (matters on GPU; a no-op wait on CPU).
  wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
  return wall / n * 1e3, cpu / wall


# ------------------------------------------------------------------ PyTorch worker side.

def torch_worker(args):
  """Builds the peers and answers {"model", "op", "n"} requests on stdin, one JSON a line."""
  protocol = os.fdopen(os.dup(1), "w")
  os.dup2(2, 1)  # Anything the libraries print goes to stderr, not into the protocol.
  import torch
  import zuko
  from nflows import distributions as ndist
  from nflows import flows as nflows_flows
  from nflows import transforms as ntr
  from nflows.nn import nets as nnets
  import importlib.metadata as metadata

  torch.set_num_threads(args.torch_threads)
  torch.manual_seed(0)
  dim, layers, hidden, batch = args.dim, args.layers, args.hidden, args.batch
  x = torch.from_numpy(data(batch, dim))

  def zuko_nsf(**kwargs):
    flow = zuko.flows.NSF(features=dim, transforms=layers, hidden_features=hidden, bins=8,
                          **kwargs)
    return flow, lambda v: flow().log_prob(v), lambda n: flow().sample((n,))

  class ContextFreeMLP(torch.nn.Module):
    """`nflows.nn.nets.MLP`, whose forward takes no context, as a coupling's network."""

    def __init__(self, n_in, n_out):
      super().__init__()
      self.mlp = nnets.MLP([n_in], [n_out], hidden_sizes=list(hidden))
      self.hidden_features = hidden[-1]  # nflows scales the raw widths/heights by its root.

    def forward(self, inputs, context=None):
      return self.mlp(inputs)

  def nflows_flow(coupling):
    chain = []
    for i in range(layers):
      if i:
        chain.append(ntr.ReversePermutation(features=dim))
      if coupling:
        mask = torch.zeros(dim)  # 1: transformed. Layer 0 transforms the second half.
        if i % 2 == 0:
          mask[dim // 2:] = 1
        else:
          mask[:dim // 2] = 1
        net = lambda n_in, n_out: ContextFreeMLP(n_in, n_out)
        chain.append(ntr.PiecewiseRationalQuadraticCouplingTransform(
            mask, net, num_bins=8, tails="linear", tail_bound=5.))
      else:
        chain.append(ntr.MaskedPiecewiseRationalQuadraticAutoregressiveTransform(
            features=dim, hidden_features=hidden[0], num_bins=8, tails="linear",
            tail_bound=5., num_blocks=len(hidden) - 1, use_residual_blocks=False))
    # nflows' transform maps data -> noise, so list the layers in the density direction.
    flow = nflows_flows.Flow(ntr.CompositeTransform(chain[::-1]), ndist.StandardNormal([dim]))
    return flow, flow.log_prob, flow.sample

  builders = {"zuko NSF": lambda: zuko_nsf(),
              "zuko NSF coupling": lambda: zuko_nsf(passes=2),
              "nflows MAF": lambda: nflows_flow(False),
              "nflows coupling": lambda: nflows_flow(True)}
  ops, params = {}, {}
  for name, build in builders.items():
    module, log_prob, sample = build()
    parameters = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=1e-4)
    params[name] = sum(p.numel() for p in parameters)

    def train_step(log_prob=log_prob, optimizer=optimizer):
      optimizer.zero_grad(set_to_none=True)
      loss = -log_prob(x).mean()
      loss.backward()
      optimizer.step()
      return loss.detach()

    def no_grad(f):
      def call():
        with torch.no_grad():
          return f()
      return call

    ops[name] = {"train step": train_step,
                 "log_prob": no_grad(lambda log_prob=log_prob: log_prob(x)),
                 "sample": no_grad(lambda sample=sample: sample(batch))}
    # Sanity: a finite log-density, a sample of the right shape.
    assert torch.isfinite(ops[name]["log_prob"]()).all(), name
    assert tuple(ops[name]["sample"]().shape) == (batch, dim), name

  versions = {p: metadata.version(p) for p in ("torch", "zuko", "nflows", "numpy")}
  protocol.write(json.dumps({"params": params, "versions": versions,
                             "threads": torch.get_num_threads(),
                             "interop_threads": torch.get_num_interop_threads(),
                             "python": sys.executable}) + "\n")
  protocol.flush()
  idle_since = time.process_time()
  for line in sys.stdin:
    idle_cpu = time.process_time() - idle_since  # CPU used while the TF side ran.
    request = json.loads(line)
    if request.get("quit"):
      break
    f = ops[request["model"]][request["op"]]
    ms, util = cpu_and_wall(lambda: _TorchResult(f()), request["n"])
    protocol.write(json.dumps({"ms": ms, "cpu": util, "idle_cpu": idle_cpu}) + "\n")
    protocol.flush()
    idle_since = time.process_time()


class _TorchResult:
  """Gives a torch tensor the `.numpy()` that `cpu_and_wall` calls (eager: already done)."""

  def __init__(self, tensor):
    self.tensor = tensor

  def numpy(self):
    return self.tensor


class TorchPeers:
  """The PyTorch subprocess: `runner(model, op)(n)` times n calls there."""

  def __init__(self, args):
    command = [args.torch_python, os.path.abspath(__file__), "--torch_worker",
               f"--dim={args.dim}", f"--layers={args.layers}",
               f"--hidden={','.join(map(str, args.hidden))}", f"--batch={args.batch}",
               f"--torch_threads={args.torch_threads}"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
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
    return (f"CPU used by the side not being timed: torch worker {self.idle_cpu:.1f} s over "
            f"{self.idle_wall:.0f} s of TF's turns ({self.idle_cpu / self.idle_wall:.3f} "
            f"cores); TF process {self.tf_cpu_while_busy:.1f} s over {self.busy_wall:.0f} s "
            f"of torch's turns ({self.tf_cpu_while_busy / self.busy_wall:.3f} cores)")

  def close(self):
    self.process.stdin.write(json.dumps({"quit": True}) + "\n")
    self.process.stdin.close()
    self.process.wait(timeout=60)


# ------------------------------------------------------------------------- TF side.

def tf_models(args):
  import tfp_flows as tff
  dim, layers, hidden = args.dim, args.layers, tuple(args.hidden)
  return {
      "ours affine MAF": tff.models.maf(dim, num_layers=layers, hidden_units=hidden),
      "ours spline MAF": tff.models.nsf(dim, num_layers=layers, hidden_units=hidden,
                                        num_bins=8, bound=5.),
      "ours spline coupling": tff.models.nsf(dim, num_layers=layers, hidden_units=hidden,
                                             num_bins=8, bound=5., coupling=True)}


def tf_operations(dist, batch, jit):
  """{op: runner(n)} for the three timed operations of `dist`: `maf_vs_tfp.py`'s, on the
  fixed batch the torch side uses too."""
  import tensorflow as tf
  from benchmarks import maf_vs_tfp  # Imports TF: only after the torch worker started.
  functions = maf_vs_tfp.operations(dist, batch, jit)
  x = tf.constant(data(batch, dist.event_shape[0]))
  functions = {op: (f, x if op != "sample" else arg) for op, (f, arg) in functions.items()}
  runners = {}
  for op, (f, arg) in functions.items():
    runners[op] = (lambda f=f, arg=arg: (lambda n: cpu_and_wall(lambda: f(arg), n)))()
    runners[op].function = f
  return runners


def time_group(entries, repeats, target_s):
  """entries: [(label, runner)]; {label: (median ms, min ms, median cpu, N)}, interleaved."""
  for _, run in entries:
    run(2)  # Warm up: trace, compile, run twice.
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


def machine():
  model = "?"
  try:
    with open("/proc/cpuinfo") as f:
      model = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
  except (OSError, StopIteration):
    pass
  affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
  return f"{os.cpu_count()} CPUs ({affinity} usable), {model}, {platform.platform()}"


def loadavg():
  try:
    with open("/proc/loadavg") as f:
      return " ".join(f.read().split()[:3])
  except OSError:
    return "?"


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="smoke run: 2 short repeats")
  parser.add_argument("--dim", type=int, default=16)
  parser.add_argument("--layers", type=int, default=5)
  parser.add_argument("--hidden", default="256,256", help="hidden widths, e.g. 256,256")
  parser.add_argument("--batch", type=int, default=512)
  parser.add_argument("--repeats", type=int, default=None, help="default 7 (--quick: 2)")
  parser.add_argument("--no_torch", action="store_true", help="ours only")
  parser.add_argument("--torch_python", default=TORCH_PYTHON)
  parser.add_argument("--torch_threads", type=int, default=os.cpu_count())
  parser.add_argument("--torch_worker", action="store_true", help=argparse.SUPPRESS)
  args = parser.parse_args()
  args.hidden = [int(h) for h in args.hidden.split(",")]
  if args.torch_worker:
    return torch_worker(args)

  command = ("PYTHONPATH=" + os.environ.get("PYTHONPATH", "") + " "
             + shlex.join([os.path.relpath(sys.executable) if sys.executable.startswith(
                 os.getcwd()) else sys.executable] + sys.argv))
  repeats = args.repeats or (2 if args.quick else 7)
  target_s = 0.05 if args.quick else 0.3
  started = datetime.datetime.now().astimezone()
  load_start = loadavg()

  peers = None if args.no_torch else TorchPeers(args)  # Before TF starts its thread pools.
  import keras
  import tensorflow as tf
  import tensorflow_probability as tfp
  tf.get_logger().setLevel("ERROR")  # Its retracing warnings count separate functions too.
  tf.random.set_seed(0)
  models = tf_models(args)
  params = {name: sum(int(np.prod(v.shape)) for v in d.trainable_variables)
            for name, d in models.items()}
  if peers:
    params.update(peers.info["params"])

  print(f"command: {command}")
  print(f"date: {started.isoformat(timespec='seconds')}; machine: {machine()}; "
        f"load average at start {load_start}")
  print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}, numpy "
        f"{np.__version__}; TF threads intra/inter {tf.config.threading.get_intra_op_parallelism_threads()}"
        f"/{tf.config.threading.get_inter_op_parallelism_threads()} (0 = default: one per CPU)")
  if peers:
    info = peers.info
    print(f"peers: {info['python']}: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items())
          + f"; torch threads {info['threads']}, inter-op {info['interop_threads']}")
  print(f"D={args.dim}, layers={args.layers}, hidden={args.hidden}, batch={args.batch}, "
        f"float32, bins 8, bound 5, {repeats} repeats of ~{target_s} s per model")
  print("parameters:")
  for name, count in params.items():
    note = ""
    for ours, theirs in PEERS.items():
      if name in theirs and name in params and count != params[ours]:
        note = f"  ({name} / {ours}: {count / params[ours]:.3f})"
    print(f"  {name:<22}{count:>10,}{note}")

  results = {}  # (label, op) -> (median ms, min ms, cpu, N); label includes " [xla]".
  runners = {jit: {name: tf_operations(d, args.batch, jit) for name, d in models.items()}
             for jit in (False, True)}
  for op in OPS:
    entries = []
    for jit in (False, True):
      entries += [(name + (" [xla]" if jit else ""), runners[jit][name][op]) for name in models]
    if peers:
      entries += [(name, peers.runner(name, op)) for name in peers.info["params"]]
    t0 = time.perf_counter()
    for label, value in time_group(entries, repeats, target_s).items():
      results[label, op] = value
    print(f"  done: {op} ({time.perf_counter() - t0:.0f} s)", flush=True)
  if peers:
    fairness = peers.fairness()
    peers.close()
  assert "torch" not in sys.modules, "the TF process imported torch"

  labels = list(dict.fromkeys(label for label, _ in results))
  print(f"\nms per call (median over repeats; cpu = CPU s / wall s; N calls per repeat)")
  print(f"{'model':<28}" + "".join(f"{op:>12}{'cpu':>5}{'N':>5}" for op in OPS))
  for label in labels:
    row = f"{label:<28}"
    for op in OPS:
      ms, _, util, n = results[label, op]
      row += f"{ms:>12.2f}{util:>5.1f}{n:>5}"
    print(row)

  def ratio(a, op_a, b, op_b, use_min=False):
    i = 1 if use_min else 0
    return results[a, op_a][i] / results[b, op_b][i]

  print("\ngoals (median ratio; in brackets the ratio of the fastest repeats)")
  for text, a, op_a, b, op_b, goal in GOALS:
    for xla in ("", " [xla]"):
      r, rm = ratio(a + xla, op_a, b + xla, op_b), ratio(a + xla, op_a, b + xla, op_b, True)
      print(f"  {text:<48}{'xla' if xla else 'tf.function':<13}{r:>6.2f} ({rm:.2f})  "
            f"goal <= {goal}: {'met' if r <= goal else 'NOT met'}")

  print("\nspline / affine, ours (same XLA setting)")
  for xla in ("", " [xla]"):
    print(f"  {'xla' if xla else 'tf.function':<13}" + "".join(
        f"{op}: {ratio('ours spline MAF' + xla, op, 'ours affine MAF' + xla, op):.2f}   "
        for op in OPS))
  print("\nsample / log_prob, ours")
  for name in ("ours spline MAF", "ours spline coupling", "ours affine MAF"):
    for xla in ("", " [xla]"):
      print(f"  {name + xla:<28}{ratio(name + xla, 'sample', name + xla, 'log_prob'):>7.2f}")
  if peers:
    print("\nours / peer, same kind (< 1: ours is faster)")
    print(f"{'':<44}" + "".join(f"{op:>12}" for op in OPS))
    for ours, theirs in PEERS.items():
      for peer in theirs:
        for xla in ("", " [xla]"):
          print(f"  {ours + xla:<26}/ {peer:<16}" + "".join(
              f"{ratio(ours + xla, op, peer, op):>12.2f}" for op in OPS))
    print("\npeer sample / log_prob")
    for theirs in PEERS.values():
      for peer in theirs:
        print(f"  {peer:<28}{ratio(peer, 'sample', peer, 'log_prob'):>7.2f}")
  if peers:
    print(f"\n{fairness}")
  print(f"\nload average at end {loadavg()}; "
        f"took {(datetime.datetime.now().astimezone() - started).total_seconds():.0f} s")


if __name__ == "__main__":
  main()
