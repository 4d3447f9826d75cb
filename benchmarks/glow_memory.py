"""Peak memory of a Glow training step: ours, ours with `recompute_gradients=True`, and
TFP's `tfb.Glow`, at 32x32x3, batch 64.

Each model runs in its own fresh process (`--worker`): build the flow (the layouts of
`benchmarks/image_flows_speed.py`: 3 levels x 8 steps, 128 hidden channels, the same
dequantization and logit; "ours, recompute" is `tff.models.glow(...,
recompute_gradients=True)`, every coupling network under `tf.recompute_grad`), initialise
ActNorm and the optimizer, record the resident set size (RSS), then trace and run the train
step (an Adam step on mean bits/dim, `tf.function`, optionally XLA) `--steps` times; the
reported "step peak" is the process's peak RSS (`ru_maxrss`) minus that RSS before the
first step: tracing, activations, gradients and the allocator's high-water mark, next to
the parameter count and the weights' own size. "ms/step" is the mean wall time of the
steps after the first (which traces and compiles), so recompute's price (one more forward
pass of each network) shows next to what it saves; the load average is printed with it.
CPU memory only: on a GPU, `tf.config.experimental.get_memory_info` gives the device's
peak instead (printed when a GPU is present). normflows is not installed here, so its Glow
is not measured.

  PYTHONPATH=. python benchmarks/glow_memory.py [--batch=64] [--steps=4] [--xla]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

MODELS = {"ours": "ours", "ours_recompute": "ours, recompute", "TFP": "TFP"}


def worker(args):
  import keras  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  import tfp_flows as tff  # pylint: disable=import-outside-toplevel
  from benchmarks.digits_bits_per_dim import tfp_glow  # pylint: disable=import-outside-toplevel
  from benchmarks.maf_vs_tfp import num_params  # pylint: disable=import-outside-toplevel

  shape = [args.size, args.size, 3]
  x = tf.constant(np.random.default_rng(0).integers(0, 256, [args.batch] + shape), tf.float32)
  if args.worker.startswith("ours"):
    dist = tff.models.glow(shape, levels=3, depth=8, hidden_channels=128, num_bins=256, seed=0,
                           recompute_gradients=args.worker == "ours_recompute")
    tff.bijectors.initialize_act_norms(dist, x)
  else:
    dist = tfp_glow(128, 8, 3, shape=shape, num_bins=256)
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

  with open("/proc/self/statm") as f:  # Pages: size, resident, ...
    start = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
  times = []
  for _ in range(args.steps):
    begin = time.perf_counter()
    loss = float(train_step(x))
    times.append(time.perf_counter() - begin)
  peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
  timed = times[1:] or times  # The first step traces (and compiles).
  record = {"model": MODELS[args.worker], "params": num_params(dist), "loss": loss,
            "ms_per_step": 1e3 * sum(timed) / len(timed), "load": os.getloadavg()[0],
            "peak_mb": peak / 1024, "growth_mb": (peak - start) / 1024,
            "weights_mb": sum(int(np.prod(v.shape)) for v in variables) * 4 / 2**20}
  if tf.config.list_physical_devices("GPU"):
    record["gpu_peak_mb"] = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
  print("RESULT " + json.dumps(record), flush=True)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--batch", type=int, default=64)
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--steps", type=int, default=4)
  parser.add_argument("--xla", action="store_true")
  parser.add_argument("--quick", action="store_true", help="16x16, batch 8")
  parser.add_argument("--worker", choices=list(MODELS), help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.quick:
    args.size, args.batch, args.steps = 16, 8, 1
  if args.worker:
    return worker(args)
  results = []
  for model in MODELS:
    command = [sys.executable, os.path.abspath(__file__), f"--worker={model}",
               f"--batch={args.batch}", f"--size={args.size}", f"--steps={args.steps}"]
    if args.xla:
      command.append("--xla")
    output = subprocess.run(command, capture_output=True, text=True, check=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}).stdout
    results.append(json.loads(output.split("RESULT ", 1)[1]))
  print(f"Glow {args.size}x{args.size}x3, 3 levels x 8 steps, 128 hidden, batch {args.batch}, "
        f"XLA {'on' if args.xla else 'off'}, {args.steps} steps")
  print(f"{'model':<17}{'params':>11}{'weights MB':>12}{'peak RSS MB':>13}{'step peak MB':>14}"
        f"{'ms/step':>9}{'load':>6}")
  for r in results:
    print(f"{r['model']:<17}{r['params']:>11,}{r['weights_mb']:>12.1f}{r['peak_mb']:>13.0f}"
          f"{r['growth_mb']:>14.0f}{r['ms_per_step']:>9.0f}{r['load']:>6.1f}"
          + (f"  GPU peak {r['gpu_peak_mb']:.0f} MB" if "gpu_peak_mb" in r else ""))
  ours, recomputed, tfp_glow = results
  for r in (ours, recomputed):
    print(f"{r['model']} / TFP: peak RSS {r['peak_mb'] / tfp_glow['peak_mb']:.2f}, step peak "
          f"{r['growth_mb'] / tfp_glow['growth_mb']:.2f}")
  print(f"recompute / ours: step peak {recomputed['growth_mb'] / ours['growth_mb']:.2f}, "
        f"ms/step {recomputed['ms_per_step'] / ours['ms_per_step']:.2f}")


if __name__ == "__main__":
  main()
