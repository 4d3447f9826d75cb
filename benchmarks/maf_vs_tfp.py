"""Times tfp_flows' MAF/IAF against TFP's own MAF/IAF, in one process, at the same sizes.

Ours:  `tff.models.maf(D, num_layers=L, hidden_units=H)` (and `tff.models.iaf`).
TFP:   a `tfb.Chain` of L `tfb.MaskedAutoregressiveFlow(tfb.AutoregressiveNetwork(params=2,
       hidden_units=H, activation="relu"))` with `tfb.Permute(reversed)` between layers and
       a `tfd.Sample(tfd.Normal(0, 1), [D])` base; its IAF wraps each layer in `tfb.Invert`.

Each operation (an Adam train step on -mean log_prob of a fixed batch, `log_prob` of the
batch, `sample(batch)`) runs in a `tf.function`, with and without `jit_compile=True`. After
a warm-up (tracing, compilation), every repeat times N calls of each model in turn (the order
alternates between repeats; N is chosen so that a repeat takes ~0.3 s); the table shows the
median ms per call and ours/TFP (< 1: ours is faster). Ours and TFP are interleaved, but the
XLA-off and XLA-on rows run a minute apart: compare those with care on a shared machine.
Each model trains with its own Keras 3 `keras.optimizers.Adam`, which also applies the
masking constraint that TFP's network keeps on its kernels (as a tf_keras optimizer would).

Run from the repository root (CPU, ~2 minutes; --quick: ~40 s):
  PYTHONPATH=. python benchmarks/maf_vs_tfp.py          # D=16, 5 layers, [256, 256], batch 512
  PYTHONPATH=. python benchmarks/maf_vs_tfp.py --quick  # smoke run
Options: --batch, --dim, --layers, --hidden=256,256.
"""

import argparse
import statistics
import time

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff

tfb, tfd = tfp.bijectors, tfp.distributions


def tfp_flow(dim, layers, hidden, iaf=False):
  """TFP's MAF (or IAF) built like `tff.models.maf`: reversed order between layers."""
  chain = []  # In forward (base -> data) order.
  for i in range(layers):
    if i:
      chain.append(tfb.Permute(np.arange(dim)[::-1]))
    net = tfb.AutoregressiveNetwork(params=2, hidden_units=list(hidden), activation="relu",
                                    event_shape=[dim])
    net(tf.zeros([1, dim]))  # Build, so the variables exist before any tf.function.
    maf = tfb.MaskedAutoregressiveFlow(shift_and_log_scale_fn=net)
    chain.append(tfb.Invert(maf) if iaf else maf)
  return tfd.TransformedDistribution(tfd.Sample(tfd.Normal(0., 1.), [dim]),
                                     tfb.Chain(chain[::-1]))


def num_params(dist):
  return sum(int(np.prod(v.shape)) for v in dist.trainable_variables)


def operations(dist, batch, jit):
  """{name: (tf.function, argument)} for the three timed operations."""
  variables = dist.trainable_variables
  optimizer = keras.optimizers.Adam(1e-4)
  optimizer.build(variables)

  def train_step(x):
    with tf.GradientTape() as tape:
      loss = -tf.reduce_mean(dist.log_prob(x))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  x = tf.random.stateless_normal([batch, dist.event_shape[0]], seed=[0, 1])
  seed = tf.constant([1, 2])
  fn = lambda f: tf.function(f, jit_compile=jit)
  return {"train step": (fn(train_step), x),
          "log_prob": (fn(dist.log_prob), x),
          "sample": (fn(lambda s: dist.sample(batch, seed=s)), seed)}


def run_once(f, arg, n):
  start = time.perf_counter()
  for _ in range(n):
    out = f(arg)
  out.numpy()  # Waits for the work (matters on GPU).
  return (time.perf_counter() - start) / n * 1e3


def time_pair(pair, repeats, target_s):
  """Median ms per call of each (f, arg) in `pair`, interleaved; N calibrated on the first."""
  for f, arg in pair:  # Warm up: trace, compile, run twice.
    run_once(f, arg, 2)
  n = max(1, round(target_s * 1e3 / run_once(*pair[0], 1)))
  times = [[], []]
  for r in range(repeats):
    for j in ((0, 1) if r % 2 == 0 else (1, 0)):
      times[j].append(run_once(*pair[j], n))
  for f, _ in pair:
    if f.experimental_get_tracing_count() != 1:
      print(f"  note: {f.__name__} traced {f.experimental_get_tracing_count()} times")
  return [statistics.median(t) for t in times], min(times[0]) / min(times[1]), n


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="tiny smoke run")
  parser.add_argument("--batch", type=int, default=512)
  parser.add_argument("--dim", type=int, default=16)
  parser.add_argument("--layers", type=int, default=5)
  parser.add_argument("--hidden", default="256,256", help="MADE hidden widths")
  args = parser.parse_args()
  hidden = tuple(int(h) for h in args.hidden.split(","))
  repeats, target_s = (2, 0.05) if args.quick else (7, 0.3)

  tf.random.set_seed(0)
  models = {"maf": (tff.models.maf(args.dim, num_layers=args.layers, hidden_units=hidden),
                    tfp_flow(args.dim, args.layers, hidden)),
            "iaf": (tff.models.iaf(args.dim, num_layers=args.layers, hidden_units=hidden),
                    tfp_flow(args.dim, args.layers, hidden, iaf=True))}
  print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}, "
        f"devices: {[d.device_type for d in tf.config.list_logical_devices()]}")
  print(f"D={args.dim}, layers={args.layers}, hidden={list(hidden)}, batch={args.batch}, "
        f"float32, {repeats} repeats")
  for kind, (ours, theirs) in models.items():
    print(f"{kind} parameters: ours {num_params(ours):,}, TFP {num_params(theirs):,}")

  rows = []
  for jit in (False, True):
    ops = {kind: [operations(d, args.batch, jit) for d in pair] for kind, pair in models.items()}
    todo = [("maf", name) for name in ops["maf"][0]] + [("iaf", "sample")]
    for kind, name in todo:
      (ours_ms, tfp_ms), min_ratio, n = time_pair(
          [ops[kind][0][name], ops[kind][1][name]], repeats, target_s)
      rows.append((f"{kind} {name}", jit, ours_ms, tfp_ms, min_ratio, n))
      print(f"  done: {kind} {name}, xla={jit}", flush=True)

  print(f"\n{'operation':<16}{'xla':<5}{'ours ms':>10}{'TFP ms':>10}{'ours/TFP':>10}"
        f"{'(of mins)':>11}{'N':>5}")
  for op, jit, ours_ms, tfp_ms, min_ratio, n in rows:
    print(f"{op:<16}{'on' if jit else 'off':<5}{ours_ms:>10.2f}{tfp_ms:>10.2f}"
          f"{ours_ms / tfp_ms:>10.2f}{min_ratio:>11.2f}{n:>5}")
  print("ms: median over repeats of the mean of N calls; (of mins): ours/TFP of the fastest "
        "repeats, steadier on a busy machine.")
  ms = {(op, jit): (o, t) for op, jit, o, t, _, _ in rows}
  for jit in (False, True):
    (maf_o, maf_t), (iaf_o, iaf_t) = ms["maf sample", jit], ms["iaf sample", jit]
    print(f"sample IAF/MAF, xla {'on' if jit else 'off'}: ours {iaf_o / maf_o:.3f}, "
          f"TFP {iaf_t / maf_t:.3f}")


if __name__ == "__main__":
  main()
