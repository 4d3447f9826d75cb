"""Times our Glow against TFP's own `tfb.Glow`, in one process, at the same sizes.

Ours: `tff.models.glow([32, 32, 3], levels=3, depth=8, hidden_channels=128)`.
TFP:  `tfb.Glow(output_shape=[32, 32, 3], num_glow_blocks=3, num_steps_per_block=8)` with
      `GlowDefaultNetwork(num_hidden=128)` couplings and its default exit couplings (a
      learned prior for the factored-out channels, which ours does not have), behind the
      same `UniformDequantization(256)` and `LogitPreprocessing(0.05)` as ours, so both
      compute the dequantized bound on integer images. Parameter counts are printed.

Operations on a batch of random 8-bit images (float32): an Adam step on mean bits/dim,
`log_prob`, `sample(batch)`; each a `tf.function`, with and without `jit_compile=True`,
interleaved repeats (`benchmarks/maf_vs_tfp.py` explains the timing). Reported as ms per
image and ours/TFP (< 1: ours is faster). For context, from the issue (measured on this
machine, not in this run): TFP 11.9 ms/image to train, normflows' PyTorch Glow 7.6.

Run from the repository root (CPU, about 6 minutes; --quick: smoke run at 16x16):
  PYTHONPATH=. python benchmarks/glow_vs_tfp.py
"""

import argparse

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

import tfp_flows as tff
from benchmarks.digits_bits_per_dim import tfp_glow
from benchmarks.maf_vs_tfp import num_params
from benchmarks.maf_vs_tfp import time_pair


def operations(dist, x, jit):
  """{name: (tf.function, argument)} for the three timed operations."""
  variables = dist.trainable_variables
  optimizer = keras.optimizers.Adam(1e-4)
  optimizer.build(variables)
  shape = x.shape[1:]

  def train_step(x):
    with tf.GradientTape() as tape:
      loss = tf.reduce_mean(tff.metrics.bits_per_dim(dist.log_prob(x), shape))
    optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
    return loss

  fn = lambda f: tf.function(f, jit_compile=jit)
  return {"train step": (fn(train_step), x),
          "log_prob": (fn(dist.log_prob), x),
          "sample": (fn(lambda s: dist.sample(x.shape[0], seed=s)), tf.constant([1, 2]))}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true", help="tiny smoke run")
  parser.add_argument("--batch", type=int, default=32)
  parser.add_argument("--size", type=int, default=32)
  parser.add_argument("--levels", type=int, default=3)
  parser.add_argument("--depth", type=int, default=8)
  parser.add_argument("--hidden", type=int, default=128)
  args = parser.parse_args()
  if args.quick:
    args.size, args.depth, args.batch = 16, 2, 8
  repeats, target_s = (2, 0.2) if args.quick else (5, 1.0)
  shape = [args.size, args.size, 3]

  tf.random.set_seed(0)
  x = tf.constant(np.random.default_rng(0).integers(0, 256, [args.batch] + shape), tf.float32)
  ours = tff.models.glow(shape, levels=args.levels, depth=args.depth,
                         hidden_channels=args.hidden, num_bins=256, seed=0)
  tff.bijectors.initialize_act_norms(ours, x)
  theirs = tfp_glow(args.hidden, args.depth, args.levels, shape=shape, num_bins=256)
  theirs.log_prob(x)  # TFP's ActNorms initialise themselves on their first call.
  for name, dist in (("ours", ours), ("TFP", theirs)):
    assert np.all(np.isfinite(dist.log_prob(x))), name
  sample = ours.sample(4).numpy()
  assert sample.min() >= 0 and sample.max() <= 255 and np.all(sample == np.round(sample))
  print(f"TF {tf.__version__}, TFP {tfp.__version__}, Keras {keras.__version__}")
  print(f"image {shape}, {args.levels} levels x {args.depth} steps, {args.hidden} hidden, "
        f"batch {args.batch}, float32, {repeats} repeats")
  print(f"parameters: ours {num_params(ours):,}, TFP {num_params(theirs):,} "
        f"(ours/TFP {num_params(ours) / num_params(theirs):.3f})")

  rows = []
  for jit in (False, True):
    try:
      ops = [operations(d, x, jit) for d in (ours, theirs)]
      for name in ops[0]:
        (ours_ms, tfp_ms), min_ratio, n = time_pair([ops[0][name], ops[1][name]], repeats,
                                                     target_s)
        rows.append((name, jit, ours_ms / args.batch, tfp_ms / args.batch, min_ratio, n))
        print(f"  done: {name}, xla={jit}", flush=True)
    except Exception as error:  # pylint: disable=broad-except
      print(f"  xla={jit} failed for one model: {type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]}")

  print(f"\n{'operation':<12}{'xla':<5}{'ours ms/img':>12}{'TFP ms/img':>12}{'ours/TFP':>10}"
        f"{'(of mins)':>11}{'N':>5}")
  for op, jit, ours_ms, tfp_ms, min_ratio, n in rows:
    print(f"{op:<12}{'on' if jit else 'off':<5}{ours_ms:>12.2f}{tfp_ms:>12.2f}"
          f"{ours_ms / tfp_ms:>10.2f}{min_ratio:>11.2f}{n:>5}")
  print("From the issue, not measured in this run: train ms/image TFP 11.9, normflows 7.6.")


if __name__ == "__main__":
  main()
