"""Block-sparse MADE on/off: tfp_flows' MAF with `MADE(block_sparse=...)`, in one process.

Variants of the same `tff.models.maf(D, num_layers=L, hidden_units=H)` (the same weights):
  dense      `block_sparse=False`: dense masked matmuls, D full passes to sample.
  block G    `block_sparse=True, num_blocks=G`: each matmul skips its masks' zero blocks
             (G degree blocks; G=1: one dense slab), and sampling's passes compute only
             what each needs (`MADE.prefix_networks`).
Operations, timing and Adam as in `maf_vs_tfp.py` (its `operations`): after a warm-up,
every repeat times N calls of every variant in turn (the order rotates between repeats);
the table shows the median ms per call and each variant over dense (< 1: faster), with
the ratio of the fastest repeats beside it, steadier on a busy machine.

Run from the repository root (CPU, ~3 minutes; --quick ~1 minute):
  PYTHONPATH=. .venv/bin/python benchmarks/made_block_sparse.py
Options: --dim, --layers, --hidden=256,256, --batch, --blocks=1,2,4, --repeats, --no_xla.
"""

import argparse
import statistics

import numpy as np
import tensorflow as tf

import tfp_flows as tff
from benchmarks import readme
from benchmarks.maf_vs_tfp import num_params
from benchmarks.maf_vs_tfp import operations
from benchmarks.maf_vs_tfp import run_once


def made_of(layer):
  return getattr(layer, "made", None)


def maf(args, hidden, block_sparse, num_blocks=1):
  tf.random.set_seed(0)
  dist = tff.models.maf(args.dim, num_layers=args.layers, hidden_units=hidden, seed=0)
  mades = [made_of(b) for b in dist.bijector.bijectors if made_of(b) is not None]
  for made in mades:  # The builder takes no MADE options: set them on its MADEs.
    made.block_sparse, made.num_blocks = block_sparse, num_blocks
  return dist, len(mades)


def time_all(fns, repeats, target_s):
  """Median and min ms per call of each (f, arg), interleaved; N calibrated on the first."""
  for f, arg in fns:
    run_once(f, arg, 2)
  n = max(1, round(target_s * 1e3 / run_once(*fns[0], 1)))
  times = [[] for _ in fns]
  for r in range(repeats):
    for j in np.roll(np.arange(len(fns)), r):
      times[j].append(run_once(*fns[j], n))
  return [(statistics.median(t), min(t)) for t in times], n


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--quick", action="store_true")
  parser.add_argument("--batch", type=int, default=512)
  parser.add_argument("--dim", type=int, default=16)
  parser.add_argument("--layers", type=int, default=5)
  parser.add_argument("--hidden", default="256,256")
  parser.add_argument("--blocks", default="1,2,4", help="num_blocks of the block variants")
  parser.add_argument("--repeats", type=int, default=7)
  parser.add_argument("--no_xla", action="store_true", help="only tf.function without XLA")
  args = parser.parse_args()
  hidden = tuple(int(h) for h in args.hidden.split(","))
  repeats, target_s = (2, 0.05) if args.quick else (args.repeats, 0.3)
  variants = {"dense": maf(args, hidden, False)[0]}
  for g in (int(b) for b in args.blocks.split(",")):
    variants[f"block {g}"] = maf(args, hidden, True, g)[0]
  x = tf.random.stateless_normal([4, args.dim], seed=[3, 4])
  reference = variants["dense"].log_prob(x)
  for name, dist in variants.items():  # Same weights, same function.
    np.testing.assert_allclose(dist.log_prob(x), reference, rtol=1e-4, atol=1e-4, err_msg=name)
  print(f"D={args.dim}, layers={args.layers}, hidden={list(hidden)}, batch={args.batch}, "
        f"float32, {repeats} repeats, parameters {num_params(variants['dense']):,} (each)")
  print(f"\n{'operation':<12}{'xla':<5}" + "".join(f"{v:>12}" for v in variants)
        + "".join(f"{v + '/dense':>18}" for v in list(variants)[1:]) + f"{'N':>5}")
  rows = []
  for jit in (False,) if args.no_xla else (False, True):
    ops = [operations(dist, args.batch, jit) for dist in variants.values()]
    for op in ops[0]:
      (stats, n) = time_all([o[op] for o in ops], repeats, target_s)
      dense_median, dense_min = stats[0]
      rows.append([op, "XLA" if jit else "tf.function", readme.significant(dense_median),
                   *(readme.number(median / dense_median) for median, _ in stats[1:])])
      print(f"{op:<12}{'on' if jit else 'off':<5}"
            + "".join(f"{median:>12.2f}" for median, _ in stats)
            + "".join(f"{median / dense_median:>10.2f} ({low / dense_min:.2f})"
                      for median, low in stats[1:]) + f"{n:>5}", flush=True)
  print("ms: median over repeats of the mean of N calls; (x): ratio of the fastest repeats.")
  readme.emit("made_block_sparse/ratios", readme.markdown(
      ["operation", "", "dense ms", *(f"{v} / dense" for v in list(variants)[1:])], rows)
      + f"\n\nD={args.dim}, {args.layers} layers, MADE {list(hidden)}, batch {args.batch}, "
      f"float32; medians of {repeats} interleaved repeats; < 1: faster than dense.")


if __name__ == "__main__":
  main()
