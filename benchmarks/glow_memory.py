"""Peak memory of a Glow training step: ours, ours with `recompute_gradients=True`, TFP's
`tfb.Glow` and normflows' PyTorch Glow, at 32x32x3, batch 64.

Each model runs in its own fresh process (`--worker`), twice: at batch B and at B/2. A
worker builds the flow (the layouts of `benchmarks/image_flows_speed.py`: 3 levels x 8
steps, 128 hidden channels, the same dequantization and logit; "ours, recompute" is
`tff.models.glow(..., recompute_gradients=True)`, every coupling network under
`tf.recompute_grad`), initialises ActNorm and the optimizer, records the resident set size
(RSS), then runs the train step (an Adam (lr 1e-4) step on mean bits/dim of a fixed batch
of random 8-bit images, `image_flows_speed.images`; `tf.function`, optionally XLA)
`--steps` times, measured the same way in every worker (`run_steps`). The columns, next to
the parameter count and the weights' own size:

- "peak RSS MB": the process's peak RSS at batch B, its runtime and libraries included.
- "step peak MB": that peak minus the RSS before the first step. The TF models' first step
  also traces the `tf.function` (and compiles it under XLA) and makes the TF runtime's
  first-use allocations, hundreds of MB that eager PyTorch never pays, so this column is
  fair among the TF models only.
- "batch B MB": `2 * (step peak at B - step peak at B/2)`, the part of the step's peak that
  grows with the batch (activations and their gradients), at batch B. Tracing, compiling,
  the runtime's first use, the weights' gradients and the Adam state do not depend on the
  batch and cancel: the column to compare eager and traced frameworks on.

"ms/step" is the mean wall time of the steps after the first (which traces and compiles)
at batch B, so recompute's price (one more forward pass of each network) shows next to
what it saves; the load average is printed with it.

normflows' Glow (`image_flows_speed.normflows_glow`, NCHW) runs eagerly under the PyTorch
venv's python (`--torch_python`, only the repository on its PYTHONPATH; that process never
imports TF, the TF ones never torch) with `os.cpu_count()` torch threads, measured the same
way (`--xla` does not apply to it): the same mean bits/dim, with the dequantization noise
and the D log 256 term applied outside the flow as in the speed benchmark; its
`torch.optim.Adam` state (both moments) is allocated before the RSS is recorded, as Keras'
`optimizer.build` does. CPU memory only: on a GPU, `tf.config.experimental.get_memory_info`
gives the device's peak instead (printed when a GPU is present; the torch worker is CPU
only).

  PYTHONPATH=. .venv/bin/python benchmarks/glow_memory.py [--batch=64] [--steps=3] [--xla]
      [--quick] [--no_torch] [--torch_python=/work/venvs/torch/bin/python]
"""

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time

from benchmarks import readme
from benchmarks import side_by_side

MODELS = {"ours": "ours", "ours_recompute": "ours, recompute", "TFP": "TFP",
          "normflows": "normflows"}
LEVELS, DEPTH, HIDDEN = 3, 8, 128


def rss_kb():
  """The process's resident set size now, in KiB (`ru_maxrss`'s unit on Linux)."""
  with open("/proc/self/statm") as f:  # Pages: size, resident, ...
    return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024


def timed_step(train_step, times):
  """Runs `train_step()` once, appending its wall time to `times`; its loss."""
  begin = time.perf_counter()
  loss = float(train_step())
  times.append(time.perf_counter() - begin)
  return loss


def run_steps(train_step, steps):
  """Runs `train_step()` (returning the loss) `steps` times: the last loss, ms/step of the
  steps after the first, the load average, peak RSS and "growth_mb", the peak RSS over the
  RSS before the first step."""
  start = rss_kb()
  times = []
  for _ in range(steps):
    loss = timed_step(train_step, times)
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  timed = times[1:] or times  # The first step traces (and compiles) the TF models' step.
  return {"loss": loss, "ms_per_step": 1e3 * sum(timed) / len(timed),
          "load": os.getloadavg()[0], "peak_mb": peak / 1024, "growth_mb": (peak - start) / 1024}


def tf_worker(args):
  """Measures one of the TF models (ours, ours with recompute, TFP's)."""
  import keras  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  import tfp_flows as tff  # pylint: disable=import-outside-toplevel
  from benchmarks.digits_bits_per_dim import tfp_glow  # pylint: disable=import-outside-toplevel
  from benchmarks.image_flows_speed import images  # pylint: disable=import-outside-toplevel
  from benchmarks.maf_vs_tfp import num_params  # pylint: disable=import-outside-toplevel

  shape = [args.size, args.size, 3]
  x = tf.constant(images(args.batch, args.size))
  if args.worker.startswith("ours"):
    dist = tff.models.glow(shape, levels=LEVELS, depth=DEPTH, hidden_channels=HIDDEN,
                           num_bins=256, seed=0,
                           recompute_gradients=args.worker == "ours_recompute")
    tff.bijectors.initialize_act_norms(dist, x)
  else:
    dist = tfp_glow(HIDDEN, DEPTH, LEVELS, shape=shape, num_bins=256)
    dist.log_prob(x)  # TFP's ActNorms initialise on their first call.
  variables = dist.trainable_variables
  optimizer = keras.optimizers.Adam(1e-4)
  optimizer.build(variables)

  @tf.function(jit_compile=args.xla)
  def train_step(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x), shape))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  record = {"model": MODELS[args.worker], "params": num_params(dist),
            "weights_mb": sum(int(np.prod(v.shape)) for v in variables) * 4 / 2**20,
            **run_steps(lambda: train_step(x), args.steps)}
  if tf.config.list_physical_devices("GPU"):
    record["gpu_peak_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
  print("RESULT " + json.dumps(record), flush=True)


def build_adam_state(optimizer):
  """Allocates `torch.optim.Adam`'s per-parameter state now, as its first step would (the
  CPU, non-fused layout: a step count and both moments), like Keras' `optimizer.build`."""
  import torch  # pylint: disable=import-outside-toplevel
  for group in optimizer.param_groups:
    for p in group["params"]:
      optimizer.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                            "exp_avg_sq": torch.zeros_like(p)}


def torch_worker(args):
  """Measures normflows' Glow (PyTorch, eager) like `tf_worker` measures the TF models."""
  import torch  # pylint: disable=import-outside-toplevel

  from benchmarks import image_flows_speed  # pylint: disable=import-outside-toplevel

  torch.set_num_threads(os.cpu_count())
  torch.manual_seed(0)
  x = torch.from_numpy(image_flows_speed.images(args.batch, args.size))
  x = x.permute(0, 3, 1, 2).contiguous()  # NCHW.
  dims = x[0].numel()
  layout = argparse.Namespace(levels=LEVELS, size=args.size, depth=DEPTH, hidden=HIDDEN)
  model = image_flows_speed.normflows_glow(layout)

  def log_prob():
    return image_flows_speed.dequantized_log_prob(model, x)

  with torch.no_grad():
    log_prob()  # Its ActNorms initialise themselves on their first batch.
  parameters = [p for p in model.parameters() if p.requires_grad]
  optimizer = torch.optim.Adam(parameters, lr=1e-4)
  build_adam_state(optimizer)

  def train_step():
    """One Adam step; its gradients freed at its end, as the TF models' are."""
    loss = -log_prob().mean() / (dims * math.log(2))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()

  params = sum(p.numel() for p in parameters)
  record = {"model": MODELS[args.worker], "params": params, "weights_mb": params * 4 / 2**20,
            **run_steps(train_step, args.steps), "threads": torch.get_num_threads()}
  print("RESULT " + json.dumps(record), flush=True)


def run_worker(args, model, batch):
  """Runs `model`'s worker at `batch` in a fresh process; its RESULT record."""
  flags = [f"--worker={model}", f"--batch={batch}", f"--size={args.size}",
           f"--steps={args.steps}"]
  if model == "normflows":
    # Only the repository on its path: the TF venv's packages stay out of the torch venv.
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
           "PYTHONPATH": side_by_side.REPO}
    command = [args.torch_python, os.path.abspath(__file__)] + flags
  else:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    command = [sys.executable, os.path.abspath(__file__)] + flags + (["--xla"] if args.xla else [])
  output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
  return json.loads(output.split("RESULT ", 1)[1])


def models_to_run(args):
  """The workers of this run: normflows' left out (with a printed line) by --no_torch or
  when the torch venv's python is missing."""
  models = [m for m in MODELS if m != "normflows"]
  if args.no_torch:
    print("normflows skipped (--no_torch)")
  elif not os.path.exists(args.torch_python):
    print(f"normflows skipped: {args.torch_python} does not exist")
  else:
    models.append("normflows")
  return models


def measured(args, model):
  """`model`'s record at batch B, with "batch_mb" from its step peak at B/2 too."""
  record = run_worker(args, model, args.batch)
  half = run_worker(args, model, args.batch // 2)
  record["batch_mb"] = 2 * (record["growth_mb"] - half["growth_mb"])
  return record


def ratio(a, b, key):
  """`a[key] / b[key]` formatted, or "n/a" when `b[key]` is not positive (the batch column is
  a difference of two peaks: at small sizes it can be 0 or below)."""
  return f"{a[key] / b[key]:.2f}" if b[key] > 0 else "n/a"


def print_results(args, results):
  """The table, then the ratios to TFP and normflows, and recompute's to ours."""
  print(f"Glow {args.size}x{args.size}x3, {LEVELS} levels x {DEPTH} steps, {HIDDEN} hidden, "
        f"batch B = {args.batch} (and {args.batch // 2}), XLA {'on' if args.xla else 'off'}, "
        f"{args.steps} steps")
  print(f"{'model':<17}{'params':>11}{'weights MB':>12}{'peak RSS MB':>13}{'step peak MB':>14}"
        f"{'batch B MB':>12}{'ms/step':>9}{'load':>6}")
  for r in results.values():
    print(f"{r['model']:<17}{r['params']:>11,}{r['weights_mb']:>12.1f}{r['peak_mb']:>13.0f}"
          f"{r['growth_mb']:>14.0f}{r['batch_mb']:>12.0f}{r['ms_per_step']:>9.0f}"
          f"{r['load']:>6.1f}"
          + (f"  GPU peak {r['gpu_peak_mb']:.0f} MB" if "gpu_peak_mb" in r else ""))
  ours, recomputed = results["ours"], results["ours_recompute"]
  for peer in ("TFP", "normflows"):
    for r in (ours, recomputed):
      if peer in results:
        theirs = results[peer]
        print(f"{r['model']} / {peer}: batch B {ratio(r, theirs, 'batch_mb')}, step peak "
              f"{ratio(r, theirs, 'growth_mb')}")
  print(f"recompute / ours: batch B {ratio(recomputed, ours, 'batch_mb')}, step peak "
        f"{ratio(recomputed, ours, 'growth_mb')}, ms/step "
        f"{ratio(recomputed, ours, 'ms_per_step')}")
  if "normflows" in results:
    print(f"normflows: PyTorch eager{' (XLA is for the TF models only)' if args.xla else ''}, "
          f"{results['normflows']['threads']} threads, no TF runtime in its process and no "
          "tracing: compare it on batch B, not peak RSS or step peak.")


def emit_table(args, results):
  """README's table (`benchmarks/readme.py`): step peak (ms per step) and batch B MB, each
  model a column, and the ratios under it."""
  ours, recomputed = results["ours"], results["ours_recompute"]
  header = ["MB (ms per step)", *(r["model"] for r in results.values())]
  rows = [["step peak", *(f"{r['growth_mb']:.0f} ({r['ms_per_step']:.0f})"
                          for r in results.values())],
          [f"batch {args.batch}", *(f"{r['batch_mb']:.0f}" for r in results.values())]]
  ratios = [f"recompute / ours: batch {args.batch} {ratio(recomputed, ours, 'batch_mb')}, "
            f"step peak {ratio(recomputed, ours, 'growth_mb')}, time per step "
            f"{ratio(recomputed, ours, 'ms_per_step')}"]
  ratios += [f"{r['model']} / {peer}: batch {args.batch} {ratio(r, results[peer], 'batch_mb')}"
             for peer in ("TFP", "normflows") if peer in results for r in (ours, recomputed)]
  readme.emit("glow_memory/memory", readme.markdown(header, rows) + "\n\n" + "; ".join(ratios)
              + f". Glow {args.size}x{args.size}x3, {LEVELS} levels x {DEPTH} steps, {HIDDEN} "
              f"hidden, XLA {'on' if args.xla else 'off'}; load average "
              + ", ".join(f"{r['load']:.1f}" for r in results.values()) + ".")


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--steps", type=int, default=3)
  parser.add_argument("--xla", action="store_true")
  parser.add_argument("--quick", action="store_true", help="16x16, batch 8 (and 4), 2 steps")
  parser.add_argument("--no_torch", action="store_true", help="skip normflows' Glow")
  parser.add_argument("--torch_python", default=side_by_side.TORCH_PYTHON)
  parser.add_argument("--worker", choices=list(MODELS), help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.quick:
    args.size, args.batch, args.steps = 16, 8, 2
  if args.batch < 2 or args.steps < 1:
    parser.error("Expected --batch >= 2 (it also runs at batch / 2) and --steps >= 1. "
                 f"Received: --batch={args.batch}, --steps={args.steps}")
  if args.worker == "normflows":
    return torch_worker(args)
  if args.worker:
    return tf_worker(args)
  results = {model: measured(args, model) for model in models_to_run(args)}
  print_results(args, results)
  emit_table(args, results)


if __name__ == "__main__":
  main()
